"""``Tensor.untyped_storage()``/``storage()`` and the small tensor queries that go with them
(``nbytes``, ``itemsize``, ``new``, ``is_nonzero``, ``is_inference``).

ember's tensors hold NumPy arrays; a view's memory belongs to the array it was cut from. A
storage object here stands for that owning array: its ``data_ptr()`` is the owner's first byte,
so two tensors share a storage exactly when their ``untyped_storage().data_ptr()`` agree, as in
PyTorch. Storages are read-only snapshots of that memory's description (no resizing or pinning;
``is_shared()`` reports whether ``share_memory_()`` moved it into shared memory).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import _dtype as D
from ._tensor import Size, Tensor, _wrap

__all__ = ["UntypedStorage", "TypedStorage", "untyped_storage", "storage", "new", "is_nonzero"]


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself when it is not a view)."""
    while True:
        base = a.base
        if isinstance(base, np.ndarray):
            a = base
        elif isinstance(getattr(base, "base", None), np.ndarray):
            a = base.base  # as_strided's views hang off a small holder object
        else:
            return a


class UntypedStorage:
    """The bytes under a tensor (``tensor.untyped_storage()``)."""

    def __init__(self, owner: np.ndarray) -> None:
        self._owner = owner

    def _bytes(self) -> np.ndarray:
        o = self._owner
        return (
            o.reshape(-1).view(np.uint8)
            if o.flags.c_contiguous
            else np.frombuffer(o.tobytes(), np.uint8)
        )

    def data_ptr(self) -> int:
        return self._owner.__array_interface__["data"][0]

    def nbytes(self) -> int:
        return self._owner.nbytes

    def size(self) -> int:
        return self._owner.nbytes

    def __len__(self) -> int:
        return self._owner.nbytes

    def element_size(self) -> int:
        return 1

    def __getitem__(self, i: Any) -> Any:
        b = self._bytes()[i]
        return int(b) if np.ndim(b) == 0 else b.tolist()

    def tolist(self) -> list:
        return self._bytes().tolist()

    @property
    def device(self) -> Any:
        from ._backend import device

        return device("cpu")

    def is_shared(self) -> bool:
        from ._shared_memory import is_shared_array

        return is_shared_array(self._owner)

    def is_pinned(self, device: Any = "cuda") -> bool:
        return False

    def cpu(self) -> UntypedStorage:
        return self

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[ember.storage.UntypedStorage(device=cpu) of size {len(self)}]"


class TypedStorage:
    """The elements under a tensor, with its dtype (``tensor.storage()``, deprecated in PyTorch)."""

    def __init__(self, owner: np.ndarray, dtype: D.dtype) -> None:
        self._owner = owner
        self.dtype = dtype

    def _flat(self) -> np.ndarray:
        return self._owner.reshape(-1)

    def data_ptr(self) -> int:
        return self._owner.__array_interface__["data"][0]

    def size(self) -> int:
        return self._owner.size

    def __len__(self) -> int:
        return self._owner.size

    def element_size(self) -> int:
        return self.dtype.itemsize

    def nbytes(self) -> int:
        return self._owner.size * self.dtype.itemsize

    def __getitem__(self, i: Any) -> Any:
        v = self._flat()[i]
        return v.item() if np.ndim(v) == 0 else v.tolist()

    def tolist(self) -> list:
        return self._flat().tolist()

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._owner)

    _untyped_storage = property(untyped)

    @property
    def device(self) -> Any:
        from ._backend import device

        return device("cpu")

    def is_shared(self) -> bool:
        from ._shared_memory import is_shared_array

        return is_shared_array(self._owner)

    def cpu(self) -> TypedStorage:
        return self

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        kind = f"ember.storage.TypedStorage(dtype={self.dtype}, device=cpu)"
        return f"{body}\n[{kind} of size {len(self)}]"


def untyped_storage(self: Tensor) -> UntypedStorage:
    """The bytes this tensor's memory belongs to."""
    return UntypedStorage(_owner(self._data))


def storage(self: Tensor) -> TypedStorage:
    """The elements this tensor's memory belongs to (deprecated in PyTorch, which warns)."""
    warnings.warn(
        "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
        "the only storage class. This should only matter to you if you are using storages "
        "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
        "tensor.storage()",
        UserWarning,
        stacklevel=2,
    )
    return TypedStorage(_owner(self._data), self.dtype)


def new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """The legacy constructor: ``x.new()`` (empty), ``x.new(2, 3)`` (uninitialised, x's dtype),
    ``x.new([1, 2])`` (from data, x's dtype), ``x.new(t)`` (``t`` itself, same dtype only)."""
    from ._creation import empty, tensor

    dt = kwargs.pop("dtype", None) or self.dtype
    kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"new() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if not args:
        return empty(0, dtype=dt)
    if len(args) == 1 and isinstance(args[0], Tensor):
        t = args[0]
        if t.dtype is not dt:
            raise TypeError(f"expected {dt} (got {t.dtype}) for the tensor passed to new()")
        return _wrap(t._data)
    if len(args) == 1 and isinstance(args[0], Size):
        return empty(*args[0], dtype=dt)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return empty(*args, dtype=dt)
    if len(args) == 1:
        return tensor(args[0], dtype=dt)
    raise TypeError("new() received an invalid combination of arguments")


def is_nonzero(self: Tensor) -> bool:
    """Whether the single element of this tensor is non-zero."""
    n = self._data.size
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self._data.reshape(-1)[0] != 0)


def is_inference(self: Tensor) -> bool:
    """Always False: ember has no separate inference tensors (see docs/differences.md)."""
    return False


def nbytes(self: Tensor) -> int:
    """Bytes of this tensor's elements (numel x element size)."""
    return self._data.size * self.dtype.itemsize


def itemsize(self: Tensor) -> int:
    """Bytes of one element."""
    return self.dtype.itemsize
