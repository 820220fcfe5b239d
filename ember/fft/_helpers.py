"""Sample frequencies and spectrum shifts of ``ember.fft``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._creation import _leaf
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap_dim
from ..ops.shape import roll

__all__ = ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _freq(values: np.ndarray, dtype: D.dtype | None, requires_grad: bool) -> Tensor:
    dt = dtype or D.get_default_dtype()
    return _leaf(values.astype(dt.np), requires_grad)


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Any = None,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of an ``n``-point FFT with sample spacing ``d``."""
    return _freq(np.fft.fftfreq(n, d), dtype, requires_grad)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Any = None,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The non-negative sample frequencies of an ``n``-point real FFT."""
    return _freq(np.fft.rfftfreq(n, d), dtype, requires_grad)


def _shift(input: Tensor, dim: Any, sign: int) -> Tensor:
    if dim is None:
        dims = tuple(range(input.ndim))
    elif isinstance(dim, int):
        dims = (_wrap_dim(dim, input.ndim),)
    else:
        dims = tuple(_wrap_dim(int(d), input.ndim) for d in dim)
    if not dims:
        return input.clone()
    return roll(input, tuple(sign * (input.shape[d] // 2) for d in dims), dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero frequency to the centre of ``dim`` (all dims by default)."""
    return _shift(input, dim, 1)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _shift(input, dim, -1)


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
