"""Layer norm and group norm on arrays, block by block: the first-order forward and backward of
``ember.ops.norm.LayerNorm`` and ``GroupNorm`` (their create_graph formulas stay in norm.py).

Both normalise groups of contiguous values. The input is seen as ``(samples, width)`` rows
(layer norm: one row per normalised slice; group norm: one row per sample, ``width = C * L``),
each row holding ``groups`` equal parts that are standardised separately, then scaled and
shifted by a ``(width,)`` weight and bias row (group norm's per-channel values repeated over
their L positions). A whole-array NumPy pass per step made these memory bound (measured
(64, 128, 256) float32: a dozen passes over 8 MB each way), so the rows are processed in
blocks of about ``BLOCK`` elements: every pass after the first read of a block hits the cache
(measured on that input, one thread: forward 4.8 -> 3.5 ms, backward 6.7 -> 4.3 ms). The weight
and bias gradients are summed per block and the partial sums added in block order at the end.

Reductions are BLAS dots (a row sum is ``rows @ ones``, a row's sum of products ``vecdot``),
which read a cached block at ~0.05 ns an element against ~0.13-0.19 for ``np.add.reduce`` and
einsum (measured on 85 x 768 float32 blocks, one thread); the element-wise passes cost ~0.22-0.31
ns an element each, so the pass count is what is left.

The blocks are independent: big inputs run them in per-core runs of consecutive blocks on
``parallel_for`` (which measures per call site whether two threads pay on this machine). The
block grid does not depend on the split, so results are bit for bit the same either way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._scratch import scratch
from . import _blockwise
from ._blockwise import BLAS_DTYPES as _BLAS_DTYPES
from ._blockwise import MAX_BLAS_RUN as _MAX_BLAS_RUN
from ._blockwise import row_dots, row_sums
from ._parallel import parallel_for
from ._util import ones_vector

__all__ = ["rows_forward", "rows_backward"]

# Elements per block (ops/_blockwise.py says why this size; tests make it small).
BLOCK = _blockwise.BLOCK
# Inputs up to this many elements keep their centred values for the backward (see rows_forward).
SAVE_MAX = 1 << 18


def _step(width: int) -> int:
    """Rows per block."""
    return max(1, BLOCK // max(width, 1))


def _each_block(fn: Callable, samples: int, width: int, dtype: np.dtype, temps: int = 1) -> None:
    """Call ``fn(i, lo, hi, *tmp)`` for every block ``i`` of ``_step(width)`` rows ``lo:hi``
    (``tmp``: ``temps`` block-sized arrays reused from block to block), in per-core runs of
    consecutive blocks when the input is big (``parallel_for``, site: ``fn``'s code)."""
    step = _step(width)
    nblocks = -(-samples // step) if samples else 0

    def run(first: int, last: int) -> None:
        tmp = [np.empty((min(step, samples), width), dtype) for _ in range(temps)]
        for i in range(first, last):
            lo = i * step
            hi = min(lo + step, samples)
            fn(i, lo, hi, *(t[: hi - lo] for t in tmp))

    parallel_for(run, nblocks, samples * width, site=fn.__code__)


def rows_forward(x2: np.ndarray, groups: int, w_row, b_row, eps: float) -> tuple:
    """Standardise each of the ``groups`` parts of every row of ``x2`` (samples, width), then
    ``* w_row + b_row`` (either may be None). Returns ``(y2, invstd, mean, var, xc2)``: ``y2``
    shaped as ``x2`` (from the scratch pool), the statistics ``(samples * groups, 1)``, and the
    centred values ``x - mean`` for ``rows_backward`` when the input is small (else None).

    A big input's centred values stay in a block-sized temporary: writing them to memory too
    (for the backward) cost more than the backward's recomputing them from ``x`` block by block
    (LayerNorm(768) on (64, 128, 768) float32, one thread: a pass writing a 25 MB array not in
    cache ~5 ms, an in-cache pass ~1.2 ms). Small ones (up to ``SAVE_MAX`` elements, which stay
    in cache) keep them: LayerNorm(64) on (16, 32, 64), one thread, backward 84 -> 68 us
    (forward 52 us either way; 65 and 58 us saving xhat as before)."""
    s, width = x2.shape
    k = width // groups if groups else 0
    kf = x2.dtype.type(k)
    y2 = scratch.get(x2.shape, x2.dtype)
    xc2 = np.empty(x2.shape, x2.dtype) if x2.size <= SAVE_MAX else None
    stats = np.empty((3, s * groups, 1), x2.dtype)  # invstd, mean, var

    def forward_block(_i: int, a: int, b: int, tmp) -> None:
        xb = x2[a:b].reshape(-1, k)
        mean = row_sums(xb) / kf
        xc = np.subtract(xb, mean, out=(tmp if xc2 is None else xc2[a:b]).reshape(-1, k))
        var = row_dots(xc, xc) / kf
        inv = 1.0 / np.sqrt(var + eps)
        yb = y2[a:b]
        np.multiply(xc, inv, out=yb.reshape(-1, k))
        if w_row is not None:
            yb *= w_row
        if b_row is not None:
            yb += b_row
        r = slice(a * groups, b * groups)
        stats[0, r], stats[1, r], stats[2, r] = inv, mean, var

    _each_block(forward_block, s, width, x2.dtype)
    return y2, stats[0], stats[1], stats[2], xc2


def standardized(x2: np.ndarray, groups: int, mean: np.ndarray, invstd: np.ndarray) -> np.ndarray:
    """The standardised values of ``rows_forward`` as a new array shaped as ``x2`` (for the
    create_graph formulas)."""
    s, width = x2.shape
    k = width // groups if groups else 0
    xh = (x2.reshape(-1, k) - mean) * invstd
    return xh.reshape(x2.shape)


def _column_sums(a: np.ndarray) -> np.ndarray:
    """Sums of the columns of a 2-D block, ``(width,)``: ones @ block (a BLAS GEMV)."""
    if a.dtype in _BLAS_DTYPES and a.shape[0] > 0:
        return ones_vector(a.shape[0], a.dtype) @ a
    return np.einsum("mk->k", a)


def _scaled_column_sums(p: np.ndarray, inv: np.ndarray, groups: int, k: int) -> np.ndarray:
    """``sum over rows of inv * p`` (width,) for a (m, width) block ``p`` and per-part factors
    ``inv`` ``(m * groups, 1)``: the column sums of ``xhat * g`` given ``p = (x - mean) * g``
    (one GEMV for layer norm; for a single row, ``p`` scaled in place)."""
    m = p.shape[0]
    if groups == 1:
        return inv[:, 0] @ p
    if m == 1:  # group norm's blocks of one sample
        p3 = p.reshape(groups, k)
        return np.multiply(p3, inv.reshape(groups, 1), out=p3).reshape(-1)
    return np.einsum("mg,mgk->gk", inv.reshape(m, groups), p.reshape(m, groups, k)).reshape(-1)


def _fold(v: np.ndarray, fold: int) -> np.ndarray:
    """A (width,) row summed over runs of ``fold`` consecutive values."""
    if fold == 1:
        return v
    runs = v.reshape(-1, fold)
    if v.dtype in _BLAS_DTYPES and fold <= _MAX_BLAS_RUN:
        return runs @ ones_vector(fold, v.dtype)
    return runs.sum(axis=1)


def rows_backward(
    g2, x2, mean, invstd, groups: int, w_row, need: tuple, fold: int = 1, xc2=None
) -> tuple:
    """Gradients of ``rows_forward`` given ``g2`` w.r.t. its output, ``x2`` its input and the
    ``mean``/``invstd``/``xc2`` it returned: ``(gx2, gw, gb)`` for the ``need`` flags (input,
    weight, bias); None where not needed. ``gw`` and ``gb`` are the (width,) rows summed over
    runs of ``fold`` columns (group norm: a channel's L positions), per block: group norm's
    per-block rows of (64, 32, 32) took 16 MB, zero-filled and summed again.

    Per part, with ``xc = x - mean``, ``gh = g * w``:
    ``gx = invstd * (gh - mean(gh) - xc * invstd^2 * mean(gh * xc))`` (``xhat = xc * invstd``
    is never formed: measured on LayerNorm(768) (64, 128, 768) float32, one thread, the pass
    scaling it cost 1.4 ms and the weight gradient's einsum over it 3.1 ms, against a product
    ``g * xc`` into the output's block and a GEMV by ``invstd``)."""
    s, width = g2.shape
    k = width // groups if groups else 0
    kf = g2.dtype.type(k)
    gx2 = scratch.get(g2.shape, g2.dtype) if need[0] else None
    step = _step(width)
    nblocks = -(-s // step) if s else 0
    # per-block weight and bias gradients
    partial = np.zeros((2, nblocks, width // fold if fold else 0), g2.dtype)

    def backward_block(i: int, a: int, b: int, tmp, hb) -> None:
        gb = g2[a:b]
        r = slice(a * groups, b * groups)
        inv = invstd[r]
        if xc2 is None:
            xc = np.subtract(x2[a:b].reshape(-1, k), mean[r], out=hb.reshape(-1, k))
        else:  # (saved by the forward)
            hb = xc2[a:b]
            xc = hb.reshape(-1, k)
        if need[2]:
            partial[1, i] = _fold(_column_sums(gb), fold)
        if need[1]:  # (the input gradient's block, or tmp, as scratch for g * xc)
            p = np.multiply(gb, hb, out=gx2[a:b] if need[0] else tmp)
            partial[0, i] = _fold(_scaled_column_sums(p, inv, groups, k), fold)
        if not need[0]:
            return
        gh = gb if w_row is None else np.multiply(gb, w_row, out=tmp)
        gh = gh.reshape(-1, k)
        m1 = row_sums(gh) / kf
        c2 = row_dots(gh, xc) * (inv * inv / kf)
        out = gx2[a:b].reshape(-1, k)
        np.multiply(xc, c2, out=out)
        np.subtract(gh, out, out=out)
        out -= m1
        out *= inv

    _each_block(backward_block, s, width, g2.dtype, temps=2)
    gw = partial[0].sum(axis=0) if need[1] else None
    gbias = partial[1].sum(axis=0) if need[2] else None
    return gx2, gw, gbias
