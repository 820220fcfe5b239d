"""Pooling primitives: max/avg pooling over N-d windows, adaptive average and max pooling.

Window sweeps are loops over kernel offsets of strided sub-grids (never loops over pixels):
``out = max(out, x[..., i::s, j::s])`` is 3-40x faster here than reducing a 6-D window view
(docs/performance.md, item 5), and it keeps the input's memory layout (NHWC views stay
NHWC). Max-pool gradients go to the first maximum of each window, as PyTorch's CPU kernels do.
2x2 windows that tile the input exactly take the tiled kernels of ``_pool_tiles.py`` instead.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._scratch import scratch
from . import _pool_3s2, _pool_tiles
from ._parallel import copy_into, parallel_for
from ._spatial_mean import trailing_mean
from ._util import Primitive, on_graph
from .resample import apply_along

__all__ = [
    "MaxPoolNd",
    "AvgPoolNd",
    "AdaptiveAvgPoolNd",
    "AdaptiveMaxPoolNd",
    "MaxUnpoolNd",
    "adaptive_bounds",
    "avg_divisor",
]


def _channels_last(x: np.ndarray) -> bool:
    return x.ndim > 2 and x.strides[1] < x.strides[-1]


def _padded(x: np.ndarray, pads: tuple, fill: float) -> np.ndarray:
    """``x (N, C, *S)`` padded with ``fill`` on the spatial dims, keeping x's memory layout."""
    if not _has_padding(pads):
        return x
    n, c = x.shape[:2]
    full = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    if _channels_last(x):
        buf = np.moveaxis(np.full((n, *full, c), fill, x.dtype), -1, 1)
    else:
        buf = np.full((n, c, *full), fill, x.dtype)
    buf[_interior(pads, x.shape[2:])] = x
    return buf


def _has_padding(pads: tuple) -> bool:
    return any(lo or hi for lo, hi in pads)


def _interior(pads: tuple, size: tuple) -> tuple:
    return (slice(None), slice(None), *(slice(lo, lo + s) for (lo, _), s in zip(pads, size)))


def _offsets(k: tuple):
    return itertools.product(*(range(kk) for kk in k))


def _sub(off: tuple, dil: tuple, stride: tuple, out: tuple) -> tuple:
    """The index of the sub-grid that kernel offset ``off`` reads for every output position."""
    return (
        slice(None),
        slice(None),
        *(slice(o * d, o * d + s * (m - 1) + 1, s) for o, d, s, m in zip(off, dil, stride, out)),
    )


def _zeros(shape: tuple, dtype, channels_last: bool) -> np.ndarray:
    """Zeros of an ``(N, C, *S)`` shape, stored channels-last when asked (to match the input)."""
    if channels_last:
        return np.moveaxis(np.zeros((shape[0], *shape[2:], shape[1]), dtype), -1, 1)
    return np.zeros(shape, dtype)


class MaxPoolNd(Primitive):
    """Max pooling. Args after ``x``: kernel, stride, pads ``(lo, hi)`` (hi includes ceil_mode's
    overhang), dilation, out size, return_indices. Returns values, or ``(values, int64 indices)``
    with indices flat over each input plane as PyTorch's.

    Without indices the forward pass is a plain ``np.maximum`` sweep; backward then finds each
    window's first maximum by comparing the sub-grids with the result in offset order (cheaper
    than tracking an argmax in forward)."""

    twice_differentiable = True  # (on the graph: _pool_graph.py)

    non_differentiable = (1,)

    @staticmethod
    def forward(ctx, x, k, stride, pads, dil, out, return_indices):
        geo = (k, stride, pads, dil, out)
        grad = bool(ctx.needs_input_grad)
        if return_indices:
            res, arg = _argmax(_padded(x, pads, -np.inf), geo)
            if grad:
                ctx.arg = arg
        else:
            layout = _pool_tiles.tiles(x, k, stride, pads, dil)
            cols, x_pad = None, x  # (no padding for the tiles; the 3x3 / 2 passes clip instead)
            if layout is not None:
                res = _pool_tiles.max_forward(x, layout)
            elif _pool_3s2.fits(x, k, stride, pads, dil, out):
                res, cols = _pool_3s2.max_forward(x, out)
            else:
                x_pad = _padded(x, pads, -np.inf)
                res = _sweep_max(x_pad, geo)
            if grad:
                ctx.arg, ctx.layout, ctx.cols = None, layout, cols
                # A private copy: the caller may change the output in place (e.g. ReLU(inplace)).
                ctx.res = scratch.like(res)
                copy_into(ctx.res, res)
                if x_pad is x:
                    ctx.save_for_backward(x)
                else:
                    ctx.x_pad = x_pad
        if grad:
            ctx.meta = (x.shape, geo, _channels_last(x))
        if not return_indices:
            return res
        return res, _flat_indices(arg, k, stride, pads, dil, out, x.shape[2:])

    @staticmethod
    def backward(ctx, g, *_):
        xshape, geo, cl = ctx.meta
        k, stride, pads, dil, out = geo
        full = (*xshape[:2], *(s + lo + hi for s, (lo, hi) in zip(xshape[2:], pads)))
        overlap = any(s < d * (kk - 1) + 1 for s, d, kk in zip(stride, dil, k))
        covered = not overlap and all(
            s == d * (kk - 1) + 1 and m * s == f for s, d, kk, m, f in zip(stride, dil, k, out,
                                                                           full[2:])
        )  # fmt: skip
        arg = ctx.arg
        if on_graph(g):
            return _max_pool_on_graph(ctx, g, xshape, geo), None, None, None, None, None, None
        if arg is None:
            saved = ctx.saved_tensors
            x_pad = saved[0] if saved else ctx.x_pad
            res = ctx.res
            if ctx.cols is not None:  # (3x3 windows at stride 2: the input is saved unpadded)
                if not np.isnan(res.sum()):
                    gx = _pool_3s2.max_backward(x_pad, ctx.cols, res, g)
                    return gx, None, None, None, None, None, None
                x_pad = _padded(x_pad, pads, -np.inf)
            # NaN windows: PyTorch sends the gradient to the NaN; -inf windows with padding must
            # not pick a pad. One sum finds either without a full-size mask (an inf-inf NaN only
            # sends us down the exact slow path).
            total = res.sum()
            if np.isnan(total) or (total == -np.inf and _has_padding(pads)):
                _, arg = _argmax(x_pad, geo)
            elif ctx.layout is not None and np.isfinite(g.sum()):
                gx = _pool_tiles.max_backward(x_pad, res, g, ctx.layout)
                return gx, None, None, None, None, None, None
        if not np.isfinite(g.sum()):
            # inf/NaN gradients: the mask products below would turn 0 * inf into NaN elsewhere.
            if arg is None:
                _, arg = _argmax(x_pad, geo)
            ind = _flat_indices(arg, k, stride, pads, dil, out, xshape[2:])
            return scatter_planes(g, ind, xshape), None, None, None, None, None, None
        if arg is None:
            gx = _buffer(full, g.dtype, cl)
            _first_max_grad(gx, g, x_pad, res, geo, overlap, covered)
            return gx[_interior(pads, xshape[2:])], None, None, None, None, None, None
        gx = _zeros(full, g.dtype, cl) if not covered else _empty(full, g.dtype, cl)
        # (np.putmask / np.where run 10-20x slower than these arithmetic forms here.)
        for i, off in enumerate(_offsets(k)):
            dst = gx[_sub(off, dil, stride, out)]
            if overlap:
                dst += g * (arg == i)
            else:
                np.multiply(g, arg == i, out=dst)
        return gx[_interior(pads, xshape[2:])], None, None, None, None, None, None


def _sweep_max(x_pad: np.ndarray, geo: tuple) -> np.ndarray:
    """Window maxima as in-place ``np.maximum`` over the kernel offsets' sub-grids."""
    k, stride, _, dil, out = geo
    subs = [x_pad[_sub(off, dil, stride, out)] for off in _offsets(k)]
    res = scratch.like(subs[0])  # x's memory layout

    def run(a: int, b: int) -> None:  # one batch chunk
        r = res[a:b]
        np.copyto(r, subs[0][a:b])
        for sub in subs[1:]:
            np.maximum(r, sub[a:b], out=r)

    parallel_for(run, res.shape[0], res.size * len(subs), whole=True)  # (elementwise)
    return res


def _max_pool_on_graph(ctx, g, xshape: tuple, geo: tuple):
    """create_graph: the gradient scattered to each window's (first) maximum, recorded."""
    from ._pool_graph import scatter_planes

    k, stride, pads, dil, out = geo
    arg = ctx.arg
    if arg is None:
        saved = ctx.saved_tensors
        x_pad = saved[0].t._data if saved else ctx.x_pad  # (the saved input, as a plain array)
        if ctx.cols is not None:  # (saved unpadded)
            x_pad = _padded(x_pad, pads, -np.inf)
        _, arg = _argmax(x_pad, geo)
    return scatter_planes(g, _flat_indices(arg, k, stride, pads, dil, out, xshape[2:]), xshape)


def _first_max_grad(gx, g, x_pad, res, geo, overlap: bool, covered: bool) -> None:
    """Send each window's gradient ``g`` to its first element equal to the maximum ``res``
    (offsets in order), into the padded-input-shaped ``gx``; in per-core batch chunks."""
    k, stride, _, dil, out = geo
    sls = [_sub(off, dil, stride, out) for off in _offsets(k)]

    def run(a: int, b: int) -> None:
        gxa, xa, ra = gx[a:b], x_pad[a:b], res[a:b]
        if not covered:
            gxa.fill(0)
        # The gradient not yet given to an earlier maximum, in the result's memory layout
        # (mixing NCHW and channels-last operands makes every op several times slower).
        rem = np.empty_like(ra)
        np.copyto(rem, g[a:b])
        for i, sl in enumerate(sls):
            hit = xa[sl] == ra
            if overlap:
                part = rem * hit
                gxa[sl] += part
            else:
                part = gxa[sl]
                np.multiply(rem, hit, out=part)
            if i + 1 < len(sls):
                rem -= part  # exact: subtracts either 0 or all of it

    parallel_for(run, gx.shape[0], gx.size + res.size * len(sls), whole=True)  # (per element)


def _buffer(shape: tuple, dtype, channels_last: bool) -> np.ndarray:
    """An uninitialised (pooled when big) ``(N, C, *S)`` array, stored channels-last if asked."""
    if channels_last:
        return np.moveaxis(scratch.get((shape[0], *shape[2:], shape[1]), dtype), -1, 1)
    return scratch.get(shape, dtype)


def _argmax(x_pad: np.ndarray, geo: tuple) -> tuple:
    """Window maxima and each window's first-maximum offset number; with padding, a window of
    -inf picks its first real element, never a pad."""
    k, stride, pads, dil, out = geo
    res, arg = _argmax_pass(x_pad, k, stride, dil, out)
    if _has_padding(pads) and np.isneginf(res).any():
        size = tuple(f - lo - hi for f, (lo, hi) in zip(x_pad.shape[2:], pads))
        real = _padded(np.ones((1, 1, *size), np.bool_), pads, False)
        res, arg = _argmax_pass(x_pad, k, stride, dil, out, real)
    return res, arg


def _argmax_pass(x_pad, k, stride, dil, out, real=None):
    """Window maxima and the offset number of each window's first maximum (NaN wins); with
    ``real`` (True off the padding, broadcasting over N and C) a real element beats a pad."""
    offs = list(_offsets(k))
    res = arg = seen = None
    for i, off in enumerate(offs):
        sl = _sub(off, dil, stride, out)
        sub = x_pad[sl]
        if res is None:
            res = sub.copy(order="K")
            arg = np.zeros(res.shape, np.uint8 if len(offs) < 256 else np.int64)
            seen = None if real is None else real[sl]
            continue
        upd = sub > res  # strictly greater keeps the first maximum
        upd |= np.isnan(sub)
        if real is not None:
            upd |= real[sl] > seen  # the window's first real element (so far only pads)
            seen = seen | real[sl]
        np.maximum(res, sub, out=res)
        # arg = i where upd (modular integer arithmetic; much faster than putmask/where)
        arg += upd * (np.asarray(i, arg.dtype) - arg)
    return res, arg


def _empty(shape: tuple, dtype, channels_last: bool) -> np.ndarray:
    if channels_last:
        return np.moveaxis(np.empty((shape[0], *shape[2:], shape[1]), dtype), -1, 1)
    return np.empty(shape, dtype)


def _flat_indices(arg, k, stride, pads, dil, out, size):
    """Flat index (into each unpadded input plane) of the chosen element of every window."""
    sd = len(k)
    coords = np.array(list(_offsets(k)), np.int64).reshape(-1, sd)  # offset number -> k coords
    flat = np.zeros(arg.shape, np.int64)
    mult = 1
    for d in range(sd - 1, -1, -1):
        shape = [1] * arg.ndim
        shape[2 + d] = out[d]
        base = (np.arange(out[d]) * stride[d] - pads[d][0]).reshape(shape)
        flat += (base + coords[:, d][arg] * dil[d]) * mult
        mult *= size[d]
    return flat


def avg_divisor(size, k, stride, pad, out, count_include_pad, dtype) -> np.ndarray:
    """Per-output-position divisor along one dimension (PyTorch's avg_pool rule)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + k, size + pad)
    if count_include_pad:
        return (end - start).astype(dtype)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(dtype)


class AvgPoolNd(Primitive):
    """Average pooling. Args after ``x``: kernel, stride, pads ``(lo, hi)``, out size, divisor
    (an array broadcasting over the output)."""

    twice_differentiable = True  # (on the graph: _pool_graph.py)

    @staticmethod
    def forward(ctx, x, k, stride, pads, out, div):
        dil = (1,) * len(k)
        layout = _pool_tiles.tiles(x, k, stride, pads, dil) if div.ndim == 0 else None
        # (The forward stays a sweep: it sums each window in PyTorch's order, bit for bit.)
        ctx.meta = (x.shape, k, stride, pads, out, div, _channels_last(x), layout)
        x_pad = _padded(x, pads, 0.0)
        res = None
        for off in _offsets(k):
            sub = x_pad[_sub(off, dil, stride, out)]
            if res is None:
                res = sub.copy(order="K")
            else:
                res += sub
        res /= div
        return res

    @staticmethod
    def backward(ctx, g):
        xshape, k, stride, pads, out, div, cl, layout = ctx.meta
        if on_graph(g):
            from ._pool_graph import avg_pool_backward

            return avg_pool_backward(g, div, xshape, k, stride, pads), None, None, None, None, None
        if layout is not None:
            return _pool_tiles.avg_backward(g, xshape, layout, div), None, None, None, None, None
        gd = g / div
        full = (*xshape[:2], *(s + lo + hi for s, (lo, hi) in zip(xshape[2:], pads)))
        gx = _zeros(full, g.dtype, cl)
        dil = (1,) * len(k)
        for off in _offsets(k):
            gx[_sub(off, dil, stride, out)] += gd
        return gx[_interior(pads, xshape[2:])], None, None, None, None, None


def adaptive_bounds(size: int, out: int) -> tuple:
    """Start and end (exclusive) of each adaptive pooling window along one dimension."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    return start, end


def _avg_matrix(size: int, out: int, dtype) -> np.ndarray:
    start, end = adaptive_bounds(size, out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPoolNd(Primitive):
    """Adaptive average pooling as one averaging matrix per spatial dim (separable and exact:
    every adaptive window is a product of per-dim intervals)."""

    twice_differentiable = True  # (on the graph: _pool_graph.py)

    @staticmethod
    def forward(ctx, x, out):
        sd = len(out)
        if all(o == 1 for o in out):
            ctx.meta = (x.shape, None, _channels_last(x))
            res = trailing_mean(x, sd)
            if res is None:
                return x.mean(axis=tuple(range(2, 2 + sd)), keepdims=True)
            return res.reshape(x.shape[:2] + (1,) * sd)
        mats = [_avg_matrix(s, o, x.dtype) for s, o in zip(x.shape[2:], out)]
        y = x
        for d, m in enumerate(mats):
            y = apply_along(y, m, 2 + d)
        ctx.meta = (x.shape, mats, False)
        return y

    @staticmethod
    def backward(ctx, g):
        xshape, mats, cl = ctx.meta
        if mats is None and on_graph(g):
            return np.broadcast_to(g / g.dtype.type(np.prod(xshape[2:])), xshape), None
        if mats is None:
            # In the input's memory layout: the next backward op (often ReLU's) combines this
            # gradient with the input, and mixed layouts make NumPy's loops several times slower.
            gx = _empty(xshape, g.dtype, cl)
            gx[...] = g / g.dtype.type(np.prod(xshape[2:]))
            return gx, None
        for d, m in enumerate(mats):
            g = apply_along(g, m.T, 2 + d)
        return g, None


class AdaptiveMaxPoolNd(Primitive):
    """Adaptive max pooling: windows padded to the longest one by repeating their last index
    (a repeat never changes the maximum nor the first-maximum position). Returns values and the
    flat int64 indices over each input plane."""

    twice_differentiable = True  # (on the graph: _pool_graph.py)

    non_differentiable = (1,)

    @staticmethod
    def forward(ctx, x, out):
        sd = len(out)
        size = x.shape[2:]
        idx_axes = []
        flat_tab = 0
        mult = 1
        tabs = []
        for d in range(sd):
            start, end = adaptive_bounds(size[d], out[d])
            kmax = int((end - start).max())
            tab = np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)  # (O, K)
            tabs.append(tab)
        for d in range(sd - 1, -1, -1):
            shape = [1] * (2 * sd)
            shape[2 * d], shape[2 * d + 1] = tabs[d].shape
            t = tabs[d].reshape(shape)
            idx_axes.insert(0, t)
            flat_tab = flat_tab + t * mult
            mult *= size[d]
        win = x[(slice(None), slice(None), *idx_axes)]  # (N, C, O1, K1, O2, K2, ...)
        order = (0, 1, *range(2, 2 + 2 * sd, 2), *range(3, 3 + 2 * sd, 2))
        win = win.transpose(order).reshape(*x.shape[:2], *out, int(np.prod(win.shape[3::2])))
        flat_tab = np.broadcast_to(flat_tab, [s for t in tabs for s in t.shape])
        flat_tab = flat_tab.transpose([o - 2 for o in order[2:]]).reshape(*out, -1)
        arg = win.argmax(axis=-1)[..., None]
        res = np.take_along_axis(win, arg, -1)[..., 0]
        ind = np.take_along_axis(
            np.broadcast_to(flat_tab, (*x.shape[:2], *flat_tab.shape)), arg, -1
        )[..., 0]
        ctx.meta = (x.shape, ind)
        return res, ind

    @staticmethod
    def backward(ctx, g, *_):
        xshape, ind = ctx.meta
        if on_graph(g):
            from . import _pool_graph

            return _pool_graph.scatter_planes(g, ind, xshape), None
        return scatter_planes(g, ind, xshape), None


def scatter_planes(g: np.ndarray, ind: np.ndarray, xshape: tuple) -> np.ndarray:
    """Sum ``g`` into ``(N, C, *S)`` at flat per-plane indices ``ind`` (duplicates add up)."""
    plane = int(np.prod(xshape[2:]))
    nc = xshape[0] * xshape[1]
    glob = ind.reshape(nc, ind.size // max(nc, 1)) + (np.arange(nc) * plane)[:, None]
    acc = np.bincount(glob.ravel(), weights=g.reshape(-1), minlength=nc * plane)
    return acc.astype(g.dtype).reshape(xshape)


class MaxUnpoolNd(Primitive):
    """Partial inverse of max pooling: values scattered to their flat per-plane indices."""

    twice_differentiable = True  # (on the graph: _pool_graph.py)

    @staticmethod
    def forward(ctx, x, ind, out_size):
        nc = x.shape[0] * x.shape[1]
        plane = int(np.prod(out_size))
        res = np.zeros((nc, plane), x.dtype)
        rows = np.arange(nc)[:, None]
        per = int(np.prod(x.shape[2:]))
        flat_ind = ind.reshape(nc, per)
        res[rows, flat_ind] = x.reshape(nc, per)
        ctx.meta = (x.shape, flat_ind)
        return res.reshape(*x.shape[:2], *out_size)

    @staticmethod
    def backward(ctx, g):
        xshape, flat_ind = ctx.meta
        if on_graph(g):
            from ._pool_graph import gather_planes

            return gather_planes(g, flat_ind, xshape), None, None
        nc = xshape[0] * xshape[1]
        return (
            np.take_along_axis(g.reshape(nc, -1 if nc else 0), flat_ind, 1).reshape(xshape),
            None,
            None,
        )
