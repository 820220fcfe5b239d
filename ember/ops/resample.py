"""Resampling primitives: index padding (reflect/replicate/circular) and interpolation.

Both are separable: each spatial dim is an index gather (padding, nearest) or a small
interpolation matrix (linear, bicubic) applied along one axis, so there is no loop over pixels.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._memory_format import contiguous_format, suggest_format
from ._nearest_repeat import (
    from_memory_order,
    repeat_backward,
    repeat_factors,
    repeat_forward,
    to_memory_order,
)
from ._util import Primitive, all_finite, on_graph

__all__ = [
    "IndexPad",
    "Interpolate",
    "pad_index",
    "nearest_index",
    "linear_matrix",
    "cubic_matrix",
    "nearest_matrix",
    "apply_along",
]


def pad_index(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source index of every output position along one dim; a negative ``lo``/``hi`` crops
    (after padding the other side, as PyTorch: the reflection is of the uncropped input)."""
    if mode == "circular":
        # PyTorch crops first and wraps around what is left.
        start = max(-lo, 0)
        kept = size - start - max(-hi, 0)
        j = np.arange(-max(lo, 0), kept + max(hi, 0))
        return start + (j % kept if kept else j)
    j = np.arange(-lo, size + hi)
    if mode == "replicate":
        return np.clip(j, 0, size - 1)
    # reflect (edge not repeated): period 2*(size-1)
    if size == 1:
        return np.zeros_like(j)
    period = 2 * (size - 1)
    r = j % period
    return np.where(r < size, r, period - r)


class IndexPad(Primitive):
    """Pads the trailing dims by index gathers. ``idx`` holds one index array per padded dim
    (last dims of the input), ``lows`` the left pad of each (the identity block's offset).
    The gradient is linear in ``g``: on the graph (create_graph), recorded scatter-adds."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, idx, lows):
        y = x
        nd = len(idx)
        for i, ix in enumerate(idx):
            y = np.take(y, ix, axis=x.ndim - nd + i)
        ctx.meta = (x.shape, idx, lows)
        return y

    @staticmethod
    def backward(ctx, g):
        xshape, idx, lows = ctx.meta
        nd = len(idx)
        for i in range(nd - 1, -1, -1):
            ix, lo = idx[i], lows[i]
            axis = len(xshape) - nd + i
            n = xshape[axis]
            pre = (slice(None),) * axis
            if on_graph(g):
                from .indexing import add_into_zeros

                g = add_into_zeros(g.shape[:axis] + (n,) + g.shape[axis + 1 :], (*pre, ix), g)
                continue
            if lo < 0 or lo + n > len(ix):  # a crop: no whole identity block to start from
                gx = np.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1 :], g.dtype)
                np.add.at(gx, (*pre, ix), g)
                g = gx
                continue
            gx = g[(*pre, slice(lo, lo + n))].copy()
            # Only the padded positions (few) need scattering: a loop over pad width.
            for j in (*range(lo), *range(lo + n, len(ix))):
                gx[(*pre, ix[j])] += g[(*pre, j)]
            g = gx
        return g, None, None


# Whole-factor nearest upsampling runs as repeats (``_nearest_repeat.py``) for these dtypes; the
# others (float16, bfloat16) keep the gathers and their sums.
_REPEAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _src_float(out: int, scale: float, align_corners: bool, dtype, clamp: bool) -> np.ndarray:
    """PyTorch's area_pixel_compute_source_index, evaluated in the input's float type."""
    dst = np.arange(out, dtype=dtype)
    sc = dtype(scale)
    if align_corners:
        return sc * dst
    src = sc * (dst + dtype(0.5)) - dtype(0.5)
    return np.maximum(src, dtype(0)) if clamp else src


def linear_scale(size: int, out: int, align_corners: bool, scale_factor: float | None) -> float:
    """The source/destination ratio PyTorch uses for one dim."""
    if align_corners:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    if scale_factor is not None and scale_factor > 0:
        return 1.0 / scale_factor
    return size / out


def nearest_index(size: int, out: int, scale_factor: float | None, exact: bool) -> np.ndarray:
    """Source index for 'nearest' (floor) or 'nearest-exact' (round half up), in float32 as
    PyTorch's kernels compute it."""
    sc = np.float32(linear_scale(size, out, False, scale_factor))
    dst = np.arange(out, dtype=np.float32)
    if exact:
        src = np.floor((dst + np.float32(0.5)) * sc)
    elif out == size:
        src = dst
    elif out == 2 * size:
        src = np.floor(dst / 2)
    else:
        src = np.floor(dst * sc)
    return np.minimum(src.astype(np.int64), size - 1)


def nearest_matrix(size: int, out: int, index: np.ndarray, dtype) -> np.ndarray:
    m = np.zeros((out, size), dtype)
    m[np.arange(out), index] = 1
    return m


def linear_matrix(
    size: int, out: int, align_corners: bool, scale_factor: float | None, dtype
) -> np.ndarray:
    """``(out, size)`` linear interpolation weights along one dim."""
    src = _src_float(
        out, linear_scale(size, out, align_corners, scale_factor), align_corners, dtype, clamp=True
    )
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    l1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    m = np.zeros((out, size), dtype)
    rows = np.arange(out)
    np.add.at(m, (rows, i0), dtype(1) - l1)  # tiny matrix: add.at is fine (i0 may equal i1)
    np.add.at(m, (rows, i1), l1)
    return m


def cubic_matrix(
    size: int, out: int, align_corners: bool, scale_factor: float | None, dtype
) -> np.ndarray:
    """``(out, size)`` bicubic (A = -0.75) weights along one dim, border indices clamped."""
    a = dtype(-0.75)
    src = _src_float(
        out, linear_scale(size, out, align_corners, scale_factor), align_corners, dtype, clamp=False
    )
    f = np.floor(src)
    t = (src - f).astype(dtype)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    m = np.zeros((out, size), dtype)
    rows = np.arange(out)
    base = f.astype(np.int64)
    for tap in range(4):
        np.add.at(m, (rows, np.clip(base - 1 + tap, 0, size - 1)), w[tap].astype(dtype))
    return m


def apply_along(y: np.ndarray, mat: np.ndarray, axis: int) -> np.ndarray:
    """``mat (O, S)`` applied along ``axis`` of ``y``: one matmul per spatial dim (the
    separable interpolations and adaptive average pooling). A matmul multiplies by every weight,
    zeros too, so an inf in ``y`` would give inf * 0 = NaN outside its window; a result that is
    not all finite, from an input that is not either, is redone over each row's nonzero weights
    only (rare: one or two checks per call)."""
    out = _matmul_along(y, mat, axis)
    if on_graph(out):
        return out
    # A finite input cannot make inf * 0 either: the smaller of the two is checked first (an
    # upsampling's input: x2 bilinear of (32, 64, 32, 32), 2.4 ms a check of its output).
    if (y.size < out.size and all_finite(y)) or all_finite(out):
        return out
    ym = np.moveaxis(y, axis, -1)
    exact = np.empty(ym.shape[:-1] + (mat.shape[0],), out.dtype)
    for o, row in enumerate(mat):
        cols = np.flatnonzero(row)
        exact[..., o] = ym[..., cols] @ row[cols]
    return np.moveaxis(exact, -1, axis)


def _matmul_along(y: np.ndarray, mat: np.ndarray, axis: int) -> np.ndarray:
    if axis == y.ndim - 1:
        return np.matmul(y, mat.T)
    if type(y) is np.ndarray and y.flags.c_contiguous:  # (not a GraphArray)
        # One GEMM per block of the leading dims, over all the trailing ones at once: along H
        # of channels-last (N, H, W, C) memory, (O, H) @ (H, W*C) per image (bilinear x2 of
        # (32, 64, 32, 32) channels-last, one thread: forward 24.4 -> 13.7 ms, same values).
        lead, rest = int(np.prod(y.shape[:axis])), int(np.prod(y.shape[axis + 1 :]))
        out = np.matmul(mat, y.reshape(lead, y.shape[axis], rest))
        return out.reshape(*y.shape[:axis], mat.shape[0], *y.shape[axis + 1 :])
    return np.moveaxis(np.matmul(mat, np.moveaxis(y, axis, -2)), -2, axis)


class Interpolate(Primitive):
    """Separable interpolation of the trailing spatial dims.

    ``gathers`` (nearest modes: one index array per dim, exact copies; whole factors run as
    repeats, ``_nearest_repeat.py``) or ``mats`` (linear and cubic: one ``(out, size)`` weight
    matrix per dim), in the input's memory layout as PyTorch. The nearest backward adds each
    element's copies in PyTorch's order (the same bits); the linear ones, and any backward under
    create_graph, apply the transposed matrices: linear in ``g``, with operations GraphArray
    translates (twice differentiable).
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, gathers, mats):
        nd = len(mats)
        ctx.mats, ctx.gathers, ctx.reps = mats, gathers, None
        # In the input's memory layout, as PyTorch (channels-last stays so).
        ctx.cl = cl = suggest_format(x) is not contiguous_format
        if gathers is None:
            y = to_memory_order(x, cl)
            first = y.ndim - nd - cl
            for i, m in enumerate(mats):
                y = apply_along(y, m, first + i)
            return from_memory_order(y, cl)
        if x.dtype in _REPEAT_DTYPES:
            ctx.reps = repeat_factors(gathers, x.shape[2:])
        if ctx.reps is not None:
            return repeat_forward(x, ctx.reps, cl)
        y = to_memory_order(x, cl)
        first = y.ndim - nd - cl
        for i, ix in enumerate(gathers):
            y = np.take(y, ix, axis=first + i)
        return from_memory_order(y, cl)

    @staticmethod
    def backward(ctx, g):
        mats = ctx.mats
        nd = len(mats)
        if ctx.gathers is not None and not on_graph(g):
            if ctx.reps is not None:
                return repeat_backward(g, ctx.reps, ctx.cl), None, None
            # Nearest: sums of the copies (an inf gradient stays inf: a 0/1 matrix would make
            # inf * 0 = NaN where PyTorch's sum gives inf), in the input's memory order.
            cl = ctx.cl
            g = to_memory_order(g, cl)
            sizes = tuple(m.shape[1] for m in mats)
            g = _sum_copies(g, ctx.gathers, sizes, g.ndim - nd - cl)
            return from_memory_order(g, cl), None, None
        if on_graph(g):
            for i, m in enumerate(mats):
                g = apply_along(g, m.T, g.ndim - nd + i)
            return g, None, None
        cl = ctx.cl
        g = to_memory_order(g, cl)
        first = g.ndim - nd - cl
        for i, m in enumerate(mats):
            g = apply_along(g, m.T, first + i)
        return from_memory_order(g, cl), None, None


def _sum_copies(g: np.ndarray, gathers: tuple, sizes: tuple, first: int) -> np.ndarray:
    """The gradient of the nearest gathers (non-decreasing ``gathers``, one per spatial dim from
    axis ``first`` of ``g``): each input element's copies added onto zeros in PyTorch's order
    (output positions row-major), level by level: every element gets its first copy, then those
    with a second copy along the last dim get it, and so on (a few levels: one per combination
    of positions within the runs); elements never read get 0."""
    runs = []
    for ix in gathers:
        starts = np.flatnonzero(np.diff(ix, prepend=-1))
        runs.append((ix[starts], starts, np.diff(starts, append=len(ix))))
    shape = list(g.shape)
    shape[first : first + len(sizes)] = sizes
    out = np.zeros(shape, g.dtype)
    for level in itertools.product(*(range(int(n.max())) for _, _, n in runs)):
        picked = [np.flatnonzero(n > k) for (_, _, n), k in zip(runs, level)]
        part = g
        for d, ((_, starts, _), k, p) in enumerate(zip(runs, level, picked)):
            part = np.take(part, starts[p] + k, axis=first + d)
        where = [src[p] for (src, _, _), p in zip(runs, picked)]
        out[(slice(None),) * first + _index(where, out.shape[first:])] += part
    return out


def _index(where: list, sizes: tuple) -> tuple:
    """Per-dim positions as an index: slices for the dims where they are all the positions in
    order (the first level of an upsampling: a plain add, several times faster than a fancy
    index over NCHW's last dims) when at most one dim is not so, an open mesh otherwise."""
    full = [
        len(w) == n and (n == 0 or (w[0] == 0 and w[-1] == n - 1)) for w, n in zip(where, sizes)
    ]
    if sum(not f for f in full) > 1:
        return np.ix_(*where)
    return tuple(slice(None) if f else w for w, f in zip(where, full))
