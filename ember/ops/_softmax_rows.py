"""Softmax and log-softmax along the last axis of big contiguous arrays, block by block.

On this machine's memory a whole-array NumPy pass over a 25 MB array costs ~1.9 ms to read it
and ~5 ms to write a destination that is not cached (measured on (64, 128, 768) float32, one
thread; in-cache passes cost ~1.1-1.6 ms). The whole-array softmax made eight such trips
forward (max, subtract into a new array, exp, sum, divide) and twelve backward. Here the rows
are processed in blocks of about ``BLOCK`` elements, so each direction reads its inputs once
and writes its output once and every other pass hits the cache; row sums are BLAS products
with ones (~0.05 ns an element against ~0.2 for ``np.add.reduce``). The blocks are
independent and run in per-core runs of consecutive blocks on ``parallel_for``.

Backward formulas (per row): softmax ``gx = y * (g - sum(g * y))``, log-softmax
``gx = g - exp(out) * sum(g)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._scratch import scratch
from . import _blockwise
from ._blockwise import each_block, row_dots, row_sums

__all__ = [
    "usable",
    "softmax_forward",
    "softmax_backward",
    "log_softmax_forward",
    "log_softmax_backward",
]

# Elements per block (ops/_blockwise.py says why this size; tests make it small).
BLOCK = _blockwise.BLOCK
# Arrays from this many elements take the blocked path (smaller ones fit in cache whole and
# keep the whole-array code).
MIN_SIZE = 1 << 16
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def usable(x: np.ndarray, axis: int) -> bool:
    """Whether ``x`` (softmax along ``axis``) takes the blocked path: a big C-contiguous
    float32/float64 array reduced along its last axis."""
    return (
        type(x) is np.ndarray
        and x.size >= MIN_SIZE
        and axis == x.ndim - 1
        and x.dtype in _DTYPES
        and x.flags.c_contiguous
        and x.shape[-1] > 0
    )


def _each_block(fn: Callable, rows: int, width: int) -> None:
    """``fn(lo, hi)`` over blocks of rows, in per-core runs of consecutive blocks."""
    each_block(lambda i, lo, hi: fn(lo, hi), rows, width, BLOCK, site=fn.__code__)


# Without a shift. Any shift of a row gives the same softmax mathematically; the shift by the
# row maximum keeps exp from overflowing and the largest terms from underflowing. It costs a
# row-wise maximum and a subtraction (1.9 and 2.9 ms of a 9.5 ms forward on (64, 128, 768)
# float32, one thread), so a block is first exponentiated as it is and the shift taken only for
# blocks where a row sum s shows it matters: s < 1 (the row maximum is below log(1 / width),
# terms could underflow where the shifted ones do not; also an all -inf row), s beyond the
# limit (large terms; inf, overflow) or NaN. With 1 <= s, a term that underflows (x < -87) is
# below exp(-87 + log(width)) ~ 1e-35 of the row after the shift too. Log-softmax computes
# ``x - log(s)``: its rounding is that of log(s), so the limit keeps log(s) <= 16 (an absolute
# error of a few float32 ulps of the outputs, as the shifted form).
_SOFTMAX_MAX_SUM = 1e30
_LOG_SOFTMAX_MAX_SUM = float(np.exp(16.0))


def _in_range(s: np.ndarray, limit: float) -> bool:
    """Whether every row sum is in [1, limit] (False on NaN)."""
    return bool(s.min() >= 1.0) and bool(s.max() <= limit)


def _minus_row_max(xb: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``xb - max(xb, row)`` into ``out``."""
    return np.subtract(xb, np.maximum.reduce(xb, axis=1, keepdims=True), out=out)


def _rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def softmax_forward(x: np.ndarray) -> np.ndarray:
    """``exp(x - max) / sum(exp(x - max))`` along the last axis (``usable(x, -1)``)."""
    x2 = _rows(x)
    y2 = scratch.get(x2.shape, x.dtype)

    def softmax_block(a: int, b: int) -> None:
        xb, yb = x2[a:b], y2[a:b]
        s = row_sums(np.exp(xb, out=yb))
        if not _in_range(s, _SOFTMAX_MAX_SUM):  # far from 0, inf or NaN: by the row maxima
            s = row_sums(np.exp(_minus_row_max(xb, yb), out=yb))
        yb *= 1.0 / s  # (a reciprocal per row: 7.6 -> 6.9 ms against dividing every element)

    _each_block(softmax_block, *x2.shape)
    return y2.reshape(x.shape)


def softmax_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Softmax's input gradient ``y * (g - sum(g * y))`` for arrays shaped as ``y``."""
    g2, y2 = _rows(np.ascontiguousarray(g)), _rows(y)
    gx2 = scratch.get(y2.shape, y.dtype)

    def softmax_grad_block(a: int, b: int) -> None:
        out = np.subtract(g2[a:b], row_dots(g2[a:b], y2[a:b]), out=gx2[a:b])
        out *= y2[a:b]

    _each_block(softmax_grad_block, *y2.shape)
    return gx2.reshape(y.shape)


def log_softmax_forward(x: np.ndarray) -> np.ndarray:
    """``x - max - log(sum(exp(x - max)))`` along the last axis (``usable(x, -1)``)."""
    x2 = _rows(x)
    out2 = scratch.get(x2.shape, x.dtype)

    def log_softmax_block(a: int, b: int) -> None:
        xb, ob = x2[a:b], out2[a:b]
        # exp(x) in the output's block, overwritten below (a temporary per block cost 12.0-12.7
        # ms against 8.5-9.5 for the forward on (64, 128, 768) float32, one thread)
        s = row_sums(np.exp(xb, out=ob))
        if _in_range(s, _LOG_SOFTMAX_MAX_SUM):
            np.subtract(xb, np.log(s), out=ob)
            return
        _minus_row_max(xb, ob)  # far from 0, inf or NaN: by the row maxima
        ob -= np.log(row_sums(np.exp(ob)))

    _each_block(log_softmax_block, *x2.shape)
    return out2.reshape(x.shape)


def log_softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Log-softmax's input gradient ``g - exp(out) * sum(g)`` for arrays shaped as ``out``."""
    g2, o2 = _rows(np.ascontiguousarray(g)), _rows(out)
    gx2 = scratch.get(o2.shape, out.dtype)

    def log_softmax_grad_block(a: int, b: int) -> None:
        gxb = np.exp(o2[a:b], out=gx2[a:b])
        gxb *= row_sums(g2[a:b])
        np.subtract(g2[a:b], gxb, out=gxb)

    _each_block(log_softmax_grad_block, *o2.shape)
    return gx2.reshape(out.shape)
