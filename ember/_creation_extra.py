"""Creation functions and type queries PyTorch keeps at ``torch.*``: ``range`` (deprecated,
end included), ``frombuffer`` and ``from_file`` (memory shared with the buffer or file),
``empty_strided``, ``typename``, ``is_storage``."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from . import _dtype as D
from ._out import accepts_out
from ._tensor import Tensor, _wrap

__all__ = ["range", "frombuffer", "from_file", "empty_strided", "typename", "is_storage"]


@accepts_out(creation=True)
def range(  # noqa: A001 - PyTorch's name
    start: float,
    end: float,
    step: float = 1,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` up to and including ``end`` (deprecated: use ``arange``);
    the default dtype unless told."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its behavior "
        "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
        "values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    dt = dtype or D.get_default_dtype()
    n = int(math.floor((end - start) / step)) + 1
    data = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    return _wrap(data).requires_grad_(requires_grad)


def frombuffer(
    buffer: Any,
    *,
    dtype: D.dtype,
    count: int = -1,
    offset: int = 0,
    requires_grad: bool = False,
) -> Tensor:
    """A 1-D tensor over an object with the buffer protocol, sharing its memory."""
    data = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    if not len(data):
        raise ValueError("both buffer length (0) and count (-1) must not be 0")
    return _wrap(data).requires_grad_(requires_grad)


def from_file(
    filename: str,
    shared: bool | None = None,
    size: int = 0,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``size`` elements read from a binary file; with ``shared=True`` the tensor maps the file
    (writes go to it)."""
    dt = dtype or D.get_default_dtype()
    if shared:
        data = np.memmap(filename, dtype=dt.np, mode="r+", shape=(size,))
        return _wrap(np.ndarray((size,), dt.np, buffer=data))
    nbytes = size * np.dtype(dt.np).itemsize
    with open(filename, "rb") as fh:
        raw = fh.read(nbytes)
    if len(raw) < nbytes:
        raise RuntimeError(
            f"Trying to resize storage that is not resizable: the file holds {len(raw)} bytes, "
            f"{nbytes} needed"
        )
    return _wrap(np.frombuffer(raw, dtype=dt.np).copy())


def empty_strided(
    size: Any,
    stride: Any,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialized (here zeroed) tensor of ``size`` laid out with ``stride`` (in
    elements)."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(
            f"mismatch in length of strides and shape: {len(stride)} strides for {len(size)} dims"
        )
    dt = dtype or D.get_default_dtype()
    item = np.dtype(dt.np).itemsize
    span = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    buf = np.zeros(span, dt.np)
    data = np.lib.stride_tricks.as_strided(buf, size, tuple(s * item for s in stride))
    return _wrap(data).requires_grad_(requires_grad)


def typename(obj: Any) -> str:
    """``'torch.FloatTensor'`` for a tensor, else the qualified name of the object's type."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage object (``untyped_storage()``, ``storage()``)."""
    from ._storage import TypedStorage, UntypedStorage

    return isinstance(obj, (TypedStorage, UntypedStorage))
