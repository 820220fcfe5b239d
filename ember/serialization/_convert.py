"""The thin layer between checkpoint formats (NumPy arrays) and ember objects (Tensors).

On load, :class:`TensorFactory` wraps the arrays the unpickler builds into ember Tensors and
Parameters. On save, :class:`StorageCollector` turns each Tensor into torch's
``_rebuild_tensor_v2`` call, finding the storage a tensor views so that tied tensors and views
share one storage key, exactly as ``torch.save`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._pickler import Global, PersistentId, Reduce

__all__ = ["TensorFactory", "StorageCollector", "parameter_class", "STORAGE_CLASS"]

STORAGE_CLASS = {
    "float64": "DoubleStorage",
    "float32": "FloatStorage",
    "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
    "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
_REBUILD_V2 = Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAM = Global("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = Global("collections", "OrderedDict")
_SIZE = Global("torch", "Size")
_DEVICE = Global("torch", "device")


def parameter_class() -> type | None:
    """``ember.nn.Parameter`` if the nn package is importable (it is written separately)."""
    try:
        from ..nn.parameter import Parameter
    except ImportError:  # pragma: no cover - only while nn is being written
        return None
    return Parameter


class TensorFactory:
    """Wraps loaded arrays as ember Tensors and Parameters (sharing memory, no copies)."""

    def tensor(self, array: np.ndarray, requires_grad: bool, dtype_name: str = "") -> Any:
        from .._tensor import _wrap

        t = _wrap(array)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def parameter(self, tensor: Any, requires_grad: bool) -> Any:
        cls = parameter_class()
        if cls is None:  # pragma: no cover
            tensor.requires_grad_(requires_grad)
            return tensor
        return cls(tensor, requires_grad)

    def is_tensor(self, obj: Any) -> bool:
        from .._tensor import Tensor

        return isinstance(obj, Tensor)


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """torch's strides (in elements) of a contiguous tensor of ``shape``."""
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(out))


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class StorageCollector:
    """The pickler's reducer for ember objects; collects storages in first-met order.

    ``storages`` holds ``(key, dtype_name, numel, array)``: ``array`` is a contiguous 1-D array
    whose raw bytes are the storage.
    """

    def __init__(self, *, legacy: bool = False) -> None:
        self._legacy = legacy
        self.storages: list[tuple[str, str, int, np.ndarray]] = []
        self._by_root: dict[tuple[int, str], tuple[str, int]] = {}
        self._tensors: dict[int, Any] = {}
        self._keep: list[Any] = []

    def __call__(self, obj: Any) -> Any:
        from .. import _dtype
        from .._backend import device
        from .._tensor import Size, Tensor

        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if type(obj) is _dtype.dtype:
            return Global("torch", obj.name)
        if type(obj) is Size:
            return Reduce(_SIZE, (tuple(obj),))
        if type(obj) is device:
            return Reduce(_DEVICE, (str(obj),))
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, np.ndarray):
            raise TypeError(
                "ember.save: cannot save a numpy.ndarray; wrap it with ember.from_numpy() or "
                "ember.tensor() first"
            )
        raise TypeError(
            f"ember.save: cannot save an object of type {type(obj).__module__}."
            f"{type(obj).__qualname__}; checkpoints hold tensors, dicts, lists, tuples, str, "
            "int, float, bool and None"
        )

    def _tensor(self, t: Any) -> Reduce:
        done = self._tensors.get(id(t))
        if done is not None:
            return done
        param_cls = parameter_class()
        is_param = param_cls is not None and isinstance(t, param_cls)
        red = self._rebuild(t._data, False if is_param else bool(t.requires_grad))
        if is_param:
            red = Reduce(_REBUILD_PARAM, (red, bool(t.requires_grad), Reduce(_ORDERED_DICT, ())))
        self._tensors[id(t)] = red
        self._keep.append(t)
        return red

    def _rebuild(self, a: np.ndarray, requires_grad: bool) -> Reduce:
        from .. import _dtype

        a = np.asarray(a)
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        name = _dtype.from_numpy_dtype(a.dtype).name
        key, numel, offset, stride = self._shared_storage(a, name)
        if key is None:
            # Not a view we can express (or empty): the tensor gets a storage of its own.
            own = np.ascontiguousarray(a).reshape(-1)
            key, numel, offset = str(len(self.storages)), own.size, 0
            self.storages.append((key, name, numel, own))
            self._keep.append(own)
            stride = contiguous_strides(a.shape)
        pid = ("storage", Global("torch", STORAGE_CLASS[name]), key, "cpu", numel)
        if self._legacy:
            pid += (None,)
        hooks = Reduce(_ORDERED_DICT, ())
        return Reduce(
            _REBUILD_V2,
            (PersistentId(pid), offset, tuple(a.shape), stride, requires_grad, hooks),
        )

    def _shared_storage(self, a: np.ndarray, name: str):
        item = a.dtype.itemsize
        root = _root(a)
        if a.size == 0 or not (root.flags.c_contiguous or root.flags.f_contiguous):
            return None, 0, 0, ()
        byte_offset = _address(a) - _address(root)
        if (
            byte_offset < 0
            or byte_offset % item
            or root.nbytes % item
            or any(s < 0 or s % item for s in a.strides)
        ):
            return None, 0, 0, ()
        stride = tuple(int(s) // item for s in a.strides)
        found = self._by_root.get((id(root), name))
        if found is None:
            flat = root.reshape(-1, order="A").view(np.uint8)
            found = (str(len(self.storages)), root.nbytes // item)
            self._by_root[(id(root), name)] = found
            self.storages.append((found[0], name, found[1], flat))
            self._keep.append(root)
        return found[0], found[1], byte_offset // item, stride
