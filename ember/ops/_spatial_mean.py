"""The mean over the trailing (spatial) axes as one BLAS matrix-vector product.

Global average pooling (``adaptive_avg_pool2d(x, 1)``, ``x.mean((2, 3))``) reduces each
``(N, C)`` plane. NumPy's ``add.reduce`` over two axes walks the data in small strided loops;
the same sum as ``(N*C, H*W) @ ones`` (C order) or ``ones @ (N, H*W, C)`` (channels-last
memory, as convolution results are: see ember.ops.conv) is one GEMV over a view, 2-7x faster
here (docs/performance.md, item 16).
"""

from __future__ import annotations

from math import prod

import numpy as np

from ._util import ones_vector

__all__ = ["trailing_mean"]

_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Below this many elements NumPy's own reduction wins (the GEMV's set-up costs ~2 us).
_MIN_SIZE = 4096
# BLAS sums a row in a few running totals: rounding grows with the row (at 2**20 elements, 7x
# NumPy's pairwise error); up to 2**16 it stays at NumPy's and PyTorch's level.
_MAX_ROW = 1 << 16


def trailing_mean(x: np.ndarray, k: int) -> np.ndarray | None:
    """The mean of ``x`` over its last ``k`` axes, shaped ``x.shape[:-k]``; None when no copy-free
    matrix view exists (other layouts, other dtypes, small arrays): the caller reduces itself."""
    if x.size < _MIN_SIZE or x.ndim <= k or x.dtype not in _BLAS_DTYPES:
        return None
    s = prod(x.shape[-k:])
    if s > _MAX_ROW:
        return None
    ones = ones_vector(s, x.dtype)
    try:
        total = np.reshape(x, (-1, s), copy=False) @ ones
    except ValueError:
        if x.ndim != k + 2:  # (N, C, *S) with every spatial axis reduced
            return None
        total = _channels_last_sum(x, s, ones)
        if total is None:
            return None
    total /= x.dtype.type(s)
    return total.reshape(x.shape[:-k])


def _channels_last_sum(x: np.ndarray, s: int, ones: np.ndarray) -> np.ndarray | None:
    """Sums of an ``(N, C, *S)`` array stored as ``(N, *S, C)``, or None for other layouts."""
    try:
        rows = np.reshape(np.moveaxis(x, 1, -1), (x.shape[0], s, x.shape[1]), copy=False)
    except ValueError:
        return None
    return ones @ rows
