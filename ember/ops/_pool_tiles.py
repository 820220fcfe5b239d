"""Max and average pooling when 2x2 windows tile the input exactly (kernel == stride == 2, no
padding, no dilation, even height and width): the common CNN case, on long contiguous loops.

A strided sub-grid sweep (``ops/pool.py``) runs NumPy's inner loops over one image row (NCHW)
or one pixel's channels (NHWC), so small images or few channels pay the per-loop overhead on
every few elements. Here the input's memory, in either layout, is seen as ``(M, 2, Wo, 2, c)``
(window row, output column, window column, channels; ``c == 1`` for NCHW) so that:

- max-pool's forward combines the two window rows as contiguous ``2*Wo*c`` blocks (one long
  loop) before the two window columns;
- a pooled array is widened back to input rows by copying each ``c``-block twice as one opaque
  element (a NumPy void dtype) or by a broadcast copy, with no arithmetic: average pooling's
  gradient is its widened share;
- max-pool's gradient goes where the input equals its widened window maximum, and ties (e.g.
  all-zero windows after ReLU) keep only the first maximum in PyTorch's scan order by shifted
  boolean passes over whole arrays.

Results are NCHW views of memory in the input's layout (channels-last stays so).
"""

from __future__ import annotations

import functools

import numpy as np

from .._scratch import scratch
from ._parallel import parallel_for

__all__ = ["tiles", "max_forward", "max_backward", "avg_backward"]

# Blocks up to this many bytes are doubled as one void element (4-5x faster than a broadcast
# copy's inner loops over 1-6 floats); longer ones by a broadcast copy.
_VOID_MAX_BYTES = 32
# Work proceeds in blocks of about this many input bytes so that a block's temporaries stay in
# cache between passes (8 MB inputs: ~25% faster; smaller inputs are one block).
_BLOCK_BYTES = 1 << 20
# Input rows of at least this many bytes are combined with a pooled row by broadcasting.
_LONG_ROW_BYTES = 256
# From this many channels (NHWC) ties are resolved on quarter-size window views.
_QUARTER_MIN_CHANNELS = 32
# Max-pool's backward makes about this many whole-input passes (widening, comparing, the tie
# passes, the product): its work for the split rule, so that e.g. LeNet's first pool
# (64x6x24x24, ~0.5 ms on one core) runs in per-core chunks.
_BACKWARD_PASSES = 8


def tiles(x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dil: tuple) -> tuple | None:
    """``(M, Wo, c, channels_last)`` when 2x2 windows tile ``x (N, C, H, W)`` exactly and its
    memory is one NCHW or NHWC block; None when the general sweep must run."""
    if k != (2, 2) or stride != (2, 2) or dil != (1, 1) or any(lo or hi for lo, hi in pads):
        return None
    n, ch, h, w = x.shape
    if h % 2 or w % 2 or x.size == 0:
        return None
    if x.flags.c_contiguous:
        return n * ch * (h // 2), w // 2, 1, False
    if x.transpose(0, 2, 3, 1).flags.c_contiguous:
        return n * (h // 2), w // 2, ch, True
    return None


def _memory(a: np.ndarray, cl: bool) -> np.ndarray:
    """``a (N, C, ...)`` in its memory order (NHWC when channels-last), possibly a copy."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1) if cl else a)


def _as_nchw(mem: np.ndarray, shape: tuple, cl: bool) -> np.ndarray:
    """Memory laid out as NCHW or NHWC, viewed as ``shape (N, C, H, W)``."""
    n, ch, h, w = shape
    if cl:
        return mem.reshape(n, h, w, ch).transpose(0, 3, 1, 2)
    return mem.reshape(shape)


def _pooled_shape(xshape: tuple) -> tuple:
    return (*xshape[:2], xshape[2] // 2, xshape[3] // 2)


def _twice(a: np.ndarray) -> np.ndarray:
    """``a (n, b)`` -> ``(n, 2, b)``: every row twice (an exact copy, whatever the values)."""
    n, b = a.shape
    out = scratch.get((n, 2, b), a.dtype)
    if b * a.itemsize > _VOID_MAX_BYTES or not a.flags.c_contiguous:
        np.copyto(out, a[:, None, :])
        return out
    block = np.dtype((np.void, b * a.itemsize))
    src = a.view(block)[:, 0]
    dst = out.reshape(n, 2 * b).view(block)
    dst[:, 0] = src
    dst[:, 1] = src
    return out


def _widen(a: np.ndarray, full: bool = False) -> np.ndarray:
    """Pooled memory ``a (m, Wo, c)`` -> ``(m, 2, 2*Wo*c)`` (unless ``full``, ``(m, 1, 2*Wo*c)``
    to broadcast over the window rows when a row is long enough for NumPy's loops): every value
    copied to the input positions of its window."""
    m, wo, c = a.shape
    cols = _twice(a.reshape(m * wo, c)).reshape(m, 1, 2 * wo * c)
    if not full and 2 * wo * c * a.itemsize >= _LONG_ROW_BYTES:
        return cols
    return _twice(cols.reshape(m, 2 * wo * c))


def _in_blocks(fn, row_bytes: int):
    """``fn(a, b)`` over ``[a, b)`` cut into blocks of about ``_BLOCK_BYTES`` of input."""
    step = max(1, _BLOCK_BYTES // max(row_bytes, 1))

    def run(a: int, b: int) -> None:
        for lo in range(a, b, step):
            fn(lo, min(b, lo + step))

    return run


def max_forward(x: np.ndarray, layout: tuple) -> np.ndarray:
    """Window maxima of ``x`` (NaN propagates), in ``x``'s memory layout."""
    m, wo, c, cl = layout
    x5 = _memory(x, cl).reshape(m, 2, wo, 2, c)
    res = scratch.get((m, wo, c), x.dtype)

    def block(a: int, b: int) -> None:
        rows = np.maximum(x5[a:b, 0], x5[a:b, 1])  # (b-a, Wo, 2, c): the two window rows
        np.maximum(rows[:, :, 0], rows[:, :, 1], out=res[a:b])

    parallel_for(_in_blocks(block, x.nbytes // m), m, x.size, block.__code__, whole=True)
    return _as_nchw(res, _pooled_shape(x.shape), cl)


def max_backward(x: np.ndarray, res: np.ndarray, g: np.ndarray, layout: tuple) -> np.ndarray:
    """``g`` sent to each window's first maximum (no NaN in ``res``), shaped and laid out as
    ``x``."""
    m, wo, c, cl = layout
    rows = _memory(x, cl).reshape(m, 2, 2 * wo * c)
    res_m = _memory(res, cl).reshape(m, wo, c)
    g_m = _memory(g, cl).reshape(m, wo, c)
    gx = scratch.get((m, 2, 2 * wo * c), g.dtype)

    def block(a: int, b: int) -> None:
        hit = np.equal(rows[a:b], _widen(res_m[a:b]), out=scratch.get(rows[a:b].shape, np.bool_))
        if np.count_nonzero(hit) != (b - a) * wo * c:  # some window has tied maxima
            _first_only(hit.reshape(-1), c, 2 * wo * c)
        # (Casting the mask first, then a same-type multiply: ~30% faster than bool * float.)
        np.copyto(gx[a:b], hit)
        gx[a:b] *= _widen(g_m[a:b])

    parallel_for(
        _in_blocks(block, x.nbytes // m),
        m,
        x.size * _BACKWARD_PASSES,
        block.__code__,
        whole=True,  # (per window)
    )
    return _as_nchw(gx, x.shape, cl)


@functools.lru_cache(maxsize=8)
def _second(size: int, c: int, row: int) -> tuple:
    """Flat masks of the positions in a window's second column and in its second row."""
    pos = np.arange(size)
    col, low = (pos // c) % 2 == 1, (pos // row) % 2 == 1
    col.flags.writeable = low.flags.writeable = False
    return col, low


def _first_only(hit: np.ndarray, c: int, row: int) -> None:
    """Keep, in each window of the flat ``hit`` (input memory order, windows of two ``c``-blocks
    by two rows of ``row`` elements), only the first True in scan order (window row, then
    column), as PyTorch's CPU kernels pick the first maximum.

    Whole-array shifted passes (``a > b`` is ``a and not b`` on booleans); with many channels
    the four quarter-size window views are cheaper."""
    n = hit.size
    if c >= _QUARTER_MIN_CHANNELS:
        _first_only_quarters(hit.reshape(-1, 2, row // (2 * c), 2, c))
        return
    col, low = _second(n, c, row)
    tmp, row_any = scratch.get((n,), np.bool_), scratch.get((n,), np.bool_)
    # A second-column hit loses to a first-column hit in the same window row.
    left = np.logical_and(hit[:-c], col[c:], out=tmp[c:])
    np.greater(hit[c:], left, out=hit[c:])
    # A second-row hit loses to a hit anywhere in the window's first row.
    np.copyto(row_any, hit)
    row_any[:-c] |= np.greater(hit[c:], col[:-c], out=tmp[c:])  # first column: right partner
    row_any[c:] |= np.logical_and(hit[:-c], col[c:], out=tmp[c:])  # second column: left one
    above = np.logical_and(row_any[:-row], low[row:], out=tmp[row:])
    np.greater(hit[row:], above, out=hit[row:])


def _first_only_quarters(h: np.ndarray) -> None:
    """``_first_only`` on the window views ``h (m, 2, Wo, 2, c)``: a, b / c, d in scan order."""
    a, b, c, d = h[:, 0, :, 0], h[:, 0, :, 1], h[:, 1, :, 0], h[:, 1, :, 1]
    np.greater(b, a, out=b)
    seen = a | b
    np.greater(c, seen, out=c)
    seen |= c
    np.greater(d, seen, out=d)


def avg_backward(g: np.ndarray, xshape: tuple, layout: tuple, div) -> np.ndarray:
    """Each window's ``g / div`` spread over its four elements, laid out as the input."""
    m, wo, c, cl = layout
    share = _memory(g, cl).reshape(m, wo, c) / div
    return _as_nchw(_widen(share, full=True), xshape, cl)
