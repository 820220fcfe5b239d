"""Whole objects in checkpoints: what ``torch.save`` pickles beyond weights, both ways.

Saving: when an object holds more than tensors and plain containers (a whole ``nn.Module``, an
optimizer, a NumPy array, any picklable object), it is written with Python's own pickler, in the
protocol-2 form ``torch.save`` uses. ember objects are written under PyTorch's names
(``ember.nn.Linear`` as ``torch.nn.Linear``, tensors as ``torch._utils._rebuild_tensor_v2`` over
storages in the archive), so real PyTorch loads the file with ``weights_only=False`` and gets its
own classes back.

Loading with ``weights_only=False``: Python's unpickler, with every ``torch.*`` name the pickle
refers to mapped to ember's own class or function of the same name (``torch.nn.modules.linear.
Linear`` becomes ``ember.nn.Linear``); a ``torch`` name ember lacks raises ``UnpicklingError``
naming it. Other names are imported as Python's pickle does - which runs code from the file:
use it only for files you trust (``weights_only=True``, the default, never does).
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any

import numpy as np

from ._allowlist import ALLOWED, DTYPE_ALIASES, DTYPES, Marker, Storage, bf16_view, strided_view
from ._convert import StorageCollector
from ._pickler import Global, PersistentId, Reduce

__all__ = ["dumps_full", "FullUnpickler", "torch_to_ember", "ember_to_torch_name"]

# Public ember namespaces, most specific first: a class or function found in one of them is
# written under the matching torch namespace.
_NAMESPACES = (
    "ember.nn.functional",
    "ember.nn.utils",
    "ember.nn",
    "ember.optim.lr_scheduler",
    "ember.optim",
    "ember.utils.data",
    "ember.amp",
    "ember",
)


# ---- saving ----------------------------------------------------------------------------------
def ember_to_torch_name(obj: Any) -> tuple[str, str] | None:
    """``(module, name)`` PyTorch knows ``obj`` (an ember class or function) by, or None."""
    mod, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not mod.startswith("ember") or not isinstance(name, str):
        return None
    if "." in name:  # nested classes and methods are not public names
        return None
    import sys

    for ns in _NAMESPACES:
        module = sys.modules.get(ns)
        if module is not None and getattr(module, name, None) is obj:
            return "torch" + ns[len("ember") :], name
    home = _TORCH_HOMES.get(name)
    return (home, name) if home is not None and mod.startswith("ember.nn.") else None


# Classes PyTorch keeps out of its public namespaces, by the module PyTorch defines them in.
_TORCH_HOMES = {"NonDynamicallyQuantizableLinear": "torch.nn.modules.linear"}


class _TorchPickler(pickle._Pickler):  # the Python pickler: its save() can be extended
    """Python's pickler with ember's tensors as torch storages and ember names as torch's."""

    def __init__(self, file: Any, collector: StorageCollector) -> None:
        super().__init__(file, protocol=2)
        self._collector = collector
        self._stubs: dict[tuple[str, str], _TorchGlobal] = {}

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is PersistentId:
            return tuple(self._stub(p) if type(p) is Global else p for p in obj.pid)
        return None

    def _stub(self, g: Global) -> _TorchGlobal:
        # One object per name, so the memo writes each GLOBAL once.
        key = (g.module, g.name)
        stub = self._stubs.get(key)
        if stub is None:
            stub = self._stubs[key] = _TorchGlobal(g.module, g.name)
        return stub

    def reducer_override(self, obj: Any) -> Any:
        from .._backend import device
        from .._tensor import Size, Tensor

        if isinstance(obj, (Tensor, Size, device)):
            r = self._collector(obj)
            return self._stub(r.func), tuple(self._convert(a) for a in r.args)
        return NotImplemented

    def _convert(self, a: Any) -> Any:
        if type(a) is Reduce:
            return _Call(self._stub(a.func), tuple(self._convert(x) for x in a.args))
        if type(a) is Global:
            return self._stub(a)
        if type(a) is tuple:
            return tuple(self._convert(x) for x in a)
        return a

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if type(obj) is _TorchGlobal:
            return self._write_global(obj)
        if type(obj) is _Call:
            return self.save_reduce(obj.func, obj.args, obj=obj)
        if type(obj) is _dtype_type():  # torch pickles a dtype as the global torch.<name>
            return self._write_global(self._stub(Global("torch", obj.name)), key=obj)
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
            name = ember_to_torch_name(obj)
            if name is not None:
                return self._write_global(self._stub(Global(*name)), key=obj)
        return super().save(obj, save_persistent_id)

    def _write_global(self, g: _TorchGlobal, key: Any = None) -> None:
        memo_key = key if key is not None else g
        hit = self.memo.get(id(memo_key))
        if hit is not None:
            self.write(self.get(hit[0]))
            return
        self.write(pickle.GLOBAL + f"{g.module}\n{g.name}\n".encode())
        self.memoize(memo_key)


class _TorchGlobal:
    """A name written as ``GLOBAL module name`` (torch's, which need not exist here). Callable
    only so that pickle accepts it as a reduce function; it is never called."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pragma: no cover - never called
        raise TypeError(f"{self.module}.{self.name} is a name written into a pickle")


class _Call:
    """A nested ``func(*args)`` inside a tensor's rebuild arguments (the backward-hooks dict)."""

    __slots__ = ("func", "args")

    def __init__(self, func: _TorchGlobal, args: tuple) -> None:
        self.func, self.args = func, args


def _dtype_type() -> type:
    from .. import _dtype

    return _dtype.dtype


def dumps_full(obj: Any) -> tuple[bytes, list]:
    """The ``data.pkl`` bytes of any picklable ``obj`` and its storages."""
    collector = StorageCollector()
    buf = io.BytesIO()
    _TorchPickler(buf, collector).dump(obj)
    return buf.getvalue(), collector.storages


# ---- loading ---------------------------------------------------------------------------------
class _StorageType:
    """What ``torch.FloatStorage`` & co. resolve to: the storage's dtype."""

    def __init__(self, dtype_name: str) -> None:
        self.dtype_name = dtype_name


# torch's C-implemented functions pickle under their extension modules' names.
_C_MODULES = {
    "torch._C._nn": "torch.nn.functional",
    "torch._C._VariableFunctions": "torch",
    "torch._C._special": "torch.special",
    "torch._C._linalg": "torch.linalg",
    "torch._C._fft": "torch.fft",
}


def _find_in_ember(module: str, name: str) -> Any:
    """``module.name`` (a torch name) in ember: the same path under ``ember``, else the nearest
    public ember namespace that has ``name``."""
    module = _C_MODULES.get(module, module)
    parts = ("ember" + module[len("torch") :]).split(".")
    for i in range(len(parts), 0, -1):
        path = ".".join(parts[:i])
        try:
            mod = importlib.import_module(path)
        except ImportError:
            continue
        obj = getattr(mod, name, None)
        if obj is not None:
            return obj
    return _defined_in_ember_files(parts[0:3], name)


def _defined_in_ember_files(prefix: list, name: str) -> Any:
    """A class ember defines under another file than torch does (torch's
    ``nn.modules.linear.NonDynamicallyQuantizableLinear`` is in ember's attention file): the
    loaded modules of the same ember package are searched for a definition of ``name``."""
    import sys

    package = ".".join(prefix)
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not mod_name.startswith(package + "."):
            continue
        obj = getattr(mod, name, None)
        if obj is not None and getattr(obj, "__module__", None) == mod_name:
            return obj
    return None


def torch_to_ember(module: str, name: str) -> Any:
    """ember's object for the torch global ``module.name`` (pickle.UnpicklingError if none)."""
    if module == "torch":
        dt = DTYPE_ALIASES.get(name, name)
        if dt in DTYPES:
            from .. import _dtype

            return getattr(_dtype, dt)
    rebuild = _REBUILDS.get((module, name))
    if rebuild is not None:
        return rebuild
    marker = ALLOWED.get((module, name))
    if type(marker) is Marker and marker.dtype_name is not None:
        return _StorageType(marker.dtype_name)
    obj = _find_in_ember(module, name)
    if obj is None:
        raise pickle.UnpicklingError(
            f"the checkpoint refers to {module}.{name}, which ember does not have"
        )
    return obj


class FullUnpickler:
    """Python's unpickler over one ``data.pkl``, torch names mapped to ember (module docstring).

    The interface of ember's restricted ``Unpickler``: ``load()`` returns the object and
    ``end`` is the byte after its STOP.
    """

    def __init__(self, data: Any, load_storage: Any, factory: Any, *, pos: int = 0,
                 legacy: bool = False) -> None:  # fmt: skip
        self._data, self._load_storage = data, load_storage
        self._pos, self._legacy = pos, legacy
        self._storages: dict[str, Storage] = {}
        self.deferred: list = []  # the restricted unpickler's interface (nothing deferred here)
        self.end = 0

    def load(self) -> Any:
        buf = io.BytesIO(bytes(self._data[self._pos :]))
        outer = self

        class _Unpickler(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                if module == "torch" or module.startswith("torch."):
                    return torch_to_ember(module, name)
                return super().find_class(module, name)

            def persistent_load(self, pid: Any) -> Any:
                return outer._storage(pid)

        obj = _Unpickler(buf, encoding="utf-8").load()
        self.end = self._pos + buf.tell()
        return obj

    def _storage(self, pid: Any) -> Any:
        if self._legacy and isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module":
            return pid[1]  # ('module', class, source file, source): the legacy format's class
        n = 6 if self._legacy else 5  # the legacy format adds a view (key, offset, size)
        if not (isinstance(pid, tuple) and len(pid) == n and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r:.80}")
        _, stype, key, location, numel = pid[:5]
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError(f"persistent id names an unknown storage {stype!r:.60}")
        st = self._storages.get(key)
        if st is None:
            arr = self._load_storage(key, stype.dtype_name, numel, location)
            st = self._storages[key] = Storage(key, stype.dtype_name, numel, arr)
        if self._legacy and pid[5] is not None:
            vkey, offset, size = pid[5]
            view = self._storages.get("view:" + vkey)
            if view is None:
                part = st.array[offset : offset + size]
                view = self._storages["view:" + vkey] = Storage(vkey, st.dtype_name, size, part)
            return view
        return st


def _typed(st: Storage, dtype: Any) -> np.ndarray:
    """The storage's elements as ``dtype`` (an untyped byte storage is reinterpreted)."""
    if dtype is None or dtype.name == st.dtype_name:
        return st.array
    arr = st._typed.get(dtype.name)
    if arr is None:
        arr = st.array.view(DTYPES[dtype.name])
        if dtype.name == "bfloat16":
            arr = bf16_view(arr)
        st._typed[dtype.name] = arr
    return arr


def _make_tensor(array: np.ndarray, requires_grad: bool, metadata: Any = None) -> Any:
    from .._tensor import _wrap

    if metadata and (metadata.get("conj") or metadata.get("neg")):
        array = array.copy()
        if metadata.get("conj"):
            np.conjugate(array, out=array)
        if metadata.get("neg"):
            np.negative(array, out=array)
    t = _wrap(array)
    return t.requires_grad_(True) if requires_grad else t


def _rebuild_tensor(storage: Storage, offset: int, size: tuple, stride: tuple) -> Any:
    return _make_tensor(strided_view(storage.array, offset, tuple(size), tuple(stride)), False)


def _rebuild_tensor_v2(storage: Storage, offset: int, size: tuple, stride: tuple,
                       requires_grad: bool = False, backward_hooks: Any = None,
                       metadata: Any = None) -> Any:  # fmt: skip
    view = strided_view(storage.array, offset, tuple(size), tuple(stride))
    return _make_tensor(view, requires_grad, metadata)


def _rebuild_tensor_v3(storage: Storage, offset: int, size: tuple, stride: tuple,
                       requires_grad: bool, backward_hooks: Any, dtype: Any,
                       metadata: Any = None) -> Any:  # fmt: skip
    view = strided_view(_typed(storage, dtype), offset, tuple(size), tuple(stride))
    return _make_tensor(view, requires_grad, metadata)


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any = None) -> Any:
    from ..nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data: Any, requires_grad: bool, backward_hooks: Any,
                                  state: Any) -> Any:  # fmt: skip
    p = _rebuild_parameter(data, requires_grad)
    if state:
        p.__dict__.update(state)
    return p


def _rebuild_from_type_v2(func: Any, new_type: Any, args: tuple, state: Any) -> Any:
    from .._tensor import Tensor
    from ..nn.parameter import Parameter

    ret = func(*args)
    if new_type is Parameter and not isinstance(ret, Parameter):
        ret = Parameter(ret, ret.requires_grad)
    elif isinstance(new_type, type) and new_type is not Tensor and not isinstance(ret, new_type):
        raise pickle.UnpicklingError(f"cannot rebuild a tensor of type {new_type.__name__}")
    if state:
        setstate = getattr(ret, "__setstate__", None)
        if setstate is not None and type(state) is not dict:
            setstate(state)
        else:
            ret.__dict__.update(state)
    return ret


_REBUILDS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
}
