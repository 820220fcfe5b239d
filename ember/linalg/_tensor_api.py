"""The matrix functions of the ``torch.*`` namespace and Tensor methods (``torch.det``,
``x.inverse()``, the older ``torch.svd``/``torch.qr``...), built on ``ember.linalg``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..ops import elementwise as E
from . import _basic, _decomp
from ._checks import RETURN_TYPES, _rt

__all__ = [
    "det",
    "inverse",
    "logdet",
    "slogdet",
    "pinverse",
    "matrix_exp",
    "matrix_power",
    "cholesky",
    "qr",
    "svd",
]

_QR = _rt("qr", ["Q", "R"])
_SVD = _rt("svd", ["U", "S", "V"])


def det(input: Tensor) -> Tensor:
    """The determinant (``torch.det``)."""
    return _basic.det(input)


def inverse(input: Tensor, *, out: Any = None) -> Tensor:
    """The matrix inverse (``torch.inverse``)."""
    return _basic.inv(input)


def slogdet(input: Tensor) -> Any:
    """``(sign, logabsdet)`` (``torch.slogdet``)."""
    sign, logabs = _basic.slogdet(input)
    return RETURN_TYPES["slogdet"](sign, logabs)


def logdet(input: Tensor) -> Tensor:
    """log(det(A)): NaN for a negative determinant, -inf for a zero one."""
    sign, logabs = _basic.slogdet(input)
    nan = _wrap(np.asarray(np.nan, dtype=logabs._data.dtype))
    return E.where(sign < 0, nan, logabs)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The pseudo-inverse with relative tolerance ``rcond`` (``torch.pinverse``)."""
    return _basic.pinv(input, rtol=rcond)


def matrix_exp(input: Tensor) -> Tensor:
    return _basic.matrix_exp(input)


def matrix_power(input: Tensor, n: int) -> Tensor:
    return _basic.matrix_power(input, n)


def cholesky(input: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """The Cholesky factor (``torch.cholesky``, deprecated in favour of linalg.cholesky)."""
    return _decomp.cholesky(input, upper=upper)


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    """``(Q, R)``: reduced when ``some``, complete otherwise (``torch.qr``)."""
    q, r = _decomp.qr(input, "reduced" if some else "complete")
    return _QR(q, r)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """``(U, S, V)`` with ``A = U diag(S) V^H`` (``torch.svd``: V, not Vh). Without
    ``compute_uv``, U and V are zero (m, m) and (n, n) matrices as in PyTorch."""
    if not compute_uv:
        s = _decomp.svdvals(input)
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        dt = input._data.dtype
        return _SVD(_wrap(np.zeros(batch + (m, m), dt)), s, _wrap(np.zeros(batch + (n, n), dt)))
    u, s, vh = _decomp.svd(input, full_matrices=not some)
    return _SVD(u, s, vh.mH)


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
