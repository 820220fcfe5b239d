"""Shared memory under tensors: ``Tensor.share_memory_()``, ``Tensor.is_shared()``.

A shared tensor's array lives in a ``_Segment``: an mmap of a file in ``/dev/shm`` (a POSIX
shared-memory object; the temporary directory where there is none). The mapping is
``MAP_SHARED``, so a child made by ``fork`` writes into the very pages the parent reads, and a
child made by ``spawn`` (or a process receiving the tensor through an ``ember.multiprocessing``
queue) opens the same file by name: ``reduce_tensor`` pickles the name, not the bytes.

The process that made a segment unlinks its file when the segment is collected or at exit
(never a child that inherited it), as PyTorch's file-system sharing strategy does.
"""

from __future__ import annotations

import mmap
import os
import secrets
import tempfile
import weakref
from typing import Any

import numpy as np

__all__ = ["share_array", "is_shared_array", "segment_of", "attach", "reduce_tensor"]

_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
# segments this process opened by name, so a tensor received twice maps its pages once
_ATTACHED: weakref.WeakValueDictionary[str, _Segment] = weakref.WeakValueDictionary()


class _Segment(mmap.mmap):
    """A shared mapping that knows its file name (how another process finds it)."""

    name: str


def _unlink_if_owner(path: str, pid: int) -> None:
    if os.getpid() == pid:  # a forked child must not remove its parent's memory
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _new_segment(nbytes: int) -> _Segment:
    name = f"ember_{os.getpid()}_{secrets.token_hex(8)}"
    path = os.path.join(_DIR, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, max(nbytes, 1))
        seg = _Segment(fd, max(nbytes, 1))
    finally:
        os.close(fd)
    seg.name = name
    weakref.finalize(seg, _unlink_if_owner, path, os.getpid())
    return seg


def attach(name: str) -> _Segment:
    """Map the segment ``name`` made by another process (once per process)."""
    seg = _ATTACHED.get(name)
    if seg is None:
        fd = os.open(os.path.join(_DIR, name), os.O_RDWR)
        try:
            seg = _Segment(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        seg.name = name
        _ATTACHED[name] = seg
    return seg


def segment_of(a: np.ndarray) -> _Segment | None:
    """The shared segment ``a``'s memory lives in, or None."""
    while isinstance(a, np.ndarray):
        a = a.base
    obj = (
        a if isinstance(a, _Segment) else getattr(a, "obj", None)
    )  # np.frombuffer keeps a memoryview of the mmap
    return obj if isinstance(obj, _Segment) else None


def is_shared_array(a: np.ndarray) -> bool:
    """True when ``a`` lives in shared memory."""
    return segment_of(a) is not None


def share_array(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` whose memory is a new shared segment."""
    seg = _new_segment(a.nbytes)
    out = np.frombuffer(seg, dtype=a.dtype, count=a.size).reshape(a.shape)
    out[...] = a
    return out


def _view_into(name: str, offset: int, shape: tuple, strides: tuple, dtype: str) -> np.ndarray:
    return np.ndarray(shape, np.dtype(dtype), buffer=attach(name), offset=offset, strides=strides)


def _rebuild_shared(
    cls: type, name: str, offset: int, shape: tuple, strides: tuple, dtype: str, rg: bool
) -> Any:
    from ._tensor import Tensor, _wrap

    data = _view_into(name, offset, shape, strides, dtype)
    if cls is Tensor:
        t = _wrap(data)
        t._rg = rg
        return t
    return cls(_wrap(data), rg)  # Parameter(data, requires_grad)


def reduce_tensor(t: Any) -> tuple:
    """How ``multiprocessing`` pickles a tensor: shared ones by segment name, others by value."""
    a = t._data
    seg = segment_of(a)
    if seg is None or t._grad_fn is not None:
        return t.__reduce_ex__(2)
    base = np.frombuffer(seg, dtype=np.uint8)
    offset = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    args = (type(t), seg.name, offset, a.shape, a.strides, a.dtype.str, bool(t._rg))
    return (_rebuild_shared, args)


_REGISTERED = False


def register_reducers() -> None:
    """Teach ``multiprocessing``'s pickler to send shared tensors by name (done once)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from multiprocessing.reduction import ForkingPickler

    from ._tensor import Tensor
    from .nn.parameter import Parameter

    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, reduce_tensor)
    _REGISTERED = True


def share_memory_(self: Any) -> Any:
    """Move this tensor's data into shared memory (no-op when it is there already)."""
    if not is_shared_array(self._data):
        self._data = share_array(self._data)
    register_reducers()
    return self


def is_shared(self: Any) -> bool:
    """True when this tensor's data lives in shared memory."""
    return is_shared_array(self._data)
