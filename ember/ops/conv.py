"""Convolution primitives: N-d convolution, transposed convolution, unfold/fold (im2col/col2im).

Design (measured, see docs/performance.md):

- Activations flow channels-last (NHWC) in memory behind NCHW-shaped views: a convolution's GEMM
  naturally yields ``(N*H*W, C_out)`` rows, which *are* NHWC; returning them through a transposed
  view costs nothing, and the next layer's im2col then copies contiguous runs of ``C`` floats.
- im2col is one strided view (``as_strided``) copied once into a ``(groups, M, K*C)`` matrix,
  followed by one (batched over groups) GEMM.
- col2im (input gradient, transposed-conv forward) is a loop over kernel offsets of strided adds,
  in NHWC order when there are many channels and NCHW order when there are few.
- Bias gradients are one BLAS product ``ones @ g``.
- Large per-step scratch arrays come from a small pool (``_scratch``) so that each training step
  reuses already-faulted-in memory instead of fresh pages from the OS.
"""

from __future__ import annotations

import itertools
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._scratch import scratch
from ._parallel import blas_for, copy_into, matmul, matmul_reduce, parallel_for
from ._util import Primitive, on_graph, ones_vector

__all__ = ["ConvNd", "ConvTransposeNd", "Unfold", "Fold", "conv_out_size", "scratch"]

# Channels per group from which im2col/col2im run channels-last (contiguous runs of channels);
# below it they run K-major (contiguous runs along output rows).
_CHANNELS_LAST_MIN = 16


def conv_out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Output length of a convolution/pooling window sweep along one dimension."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _pad_channels_last(xl: np.ndarray, pads: tuple) -> np.ndarray:
    """Zero-pad the spatial dims of a channels-last ``(N, *S, C)`` array (a pooled buffer)."""
    if not any(lo or hi for lo, hi in pads):
        return xl
    shape = (xl.shape[0], *(s + lo + hi for s, (lo, hi) in zip(xl.shape[1:-1], pads)), xl.shape[-1])
    x_pad = scratch.get(shape, xl.dtype)
    inner = (slice(None), *(slice(lo, lo + s) for s, (lo, _) in zip(xl.shape[1:-1], pads)))

    def run(a: int, b: int) -> None:  # one batch chunk: zero it, then copy the image in
        x_pad[a:b].fill(0)
        x_pad[a:b][inner] = xl[a:b]

    parallel_for(run, xl.shape[0], x_pad.size)
    return x_pad


def _im2col(x_pad: np.ndarray, groups: int, out: tuple, k: tuple, stride: tuple, dil: tuple):
    """Copy the windows of channels-last ``x_pad (N, *Sp, C)`` into ``(G, M, prod(k)*Cg)``."""
    n, c = x_pad.shape[0], x_pad.shape[-1]
    cg = c // groups
    st = x_pad.strides
    sd = len(out)
    shape = (groups, n, *out, *k, cg)
    strides = (
        st[-1] * cg,
        st[0],
        *(st[1 + i] * stride[i] for i in range(sd)),
        *(st[1 + i] * dil[i] for i in range(sd)),
        st[-1],
    )
    win = as_strided(x_pad, shape, strides, writeable=False)
    cols = scratch.get((groups, n * prod(out), prod(k) * cg), x_pad.dtype)
    copy_into(cols.reshape(shape), win, 1)  # split by batch
    return cols


def _pad_channels_first(x: np.ndarray, pads: tuple) -> np.ndarray:
    """Zero-pad the spatial dims of ``(N, C, *S)`` into a channels-first pooled buffer."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = (*x.shape[:2], *(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads)))
    x_pad = scratch.get(shape, x.dtype, zero=True)
    x_pad[
        (slice(None), slice(None), *(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads)))
    ] = x
    return x_pad


def _im2col_kmajor(x_pad: np.ndarray, groups: int, out: tuple, k: tuple, stride: tuple, dil: tuple):
    """Copy the windows of ``x_pad (N, C, *Sp)`` into K-major columns ``(G, Cg*prod(k), M)``.

    For few channels: each copied run is an output row (``OW`` floats) instead of ``C`` floats.
    """
    n, c = x_pad.shape[:2]
    cg = c // groups
    st = x_pad.strides
    sd = len(out)
    shape = (groups, cg, *k, n, *out)
    strides = (
        st[1] * cg,
        st[1],
        *(st[2 + i] * dil[i] for i in range(sd)),
        st[0],
        *(st[2 + i] * stride[i] for i in range(sd)),
    )
    win = as_strided(x_pad, shape, strides, writeable=False)
    cols = scratch.get((groups, cg * prod(k), n * prod(out)), x_pad.dtype)
    copy_into(cols.reshape(shape), win, 2 + sd)  # split by batch
    return cols


def _offset_plan(k: tuple, out: tuple, size: tuple, lo: tuple, stride: tuple, dil: tuple):
    """How each kernel offset's columns land on an (unpadded) image of spatial ``size``.

    Output position ``o`` of offset ``kk`` hits image position ``o*stride + kk*dil - lo``; hits
    in the padding are dropped. Returns ``[(offset, out_slices, image_slices)]`` and the index
    of an offset that covers the whole image (its columns can be copied instead of added onto
    zeros), or None.
    """
    plan = []
    cover = None
    for off in itertools.product(*(range(kk) for kk in k)):
        src, dst = [], []
        whole = True
        for o, m, sz, l, st, d in zip(off, out, size, lo, stride, dil):
            shift = o * d - l
            first = max(0, -(shift // st))
            last = min(m, (sz - 1 - shift) // st + 1) if sz - 1 - shift >= 0 else 0
            count = last - first
            if count <= 0:
                break
            h0 = first * st + shift
            src.append(slice(first, last))
            dst.append(slice(h0, h0 + (count - 1) * st + 1, st))
            whole = whole and st == 1 and count == sz
        else:
            if whole and cover is None:
                cover = len(plan)
            plan.append((off, tuple(src), tuple(dst)))
    return plan, cover


def _add_windows(img, cols_at, plan, cover, lead: int, axis: int) -> None:
    """``img[dst] += cols_at(offset)[src]`` for every planned offset (``lead`` leading axes of
    ``img`` before the spatial ones); the covering offset, if any, is copied first.

    Big images are cut along leading axis ``axis`` (shared by ``img`` and the columns) into one
    chunk per core: each chunk runs the whole offset loop, so the chunks never touch the same
    image elements."""
    pre = (slice(None),) * lead

    def run(lo: int, hi: int) -> None:
        cut = (*pre[:axis], slice(lo, hi), *pre[axis + 1 :])
        if cover is not None:
            off, src, dst = plan[cover]
            np.copyto(img[(*cut, *dst)], cols_at(off)[(*cut, *src)])
        for i, (off, src, dst) in enumerate(plan):
            if i != cover:
                img[(*cut, *dst)] += cols_at(off)[(*cut, *src)]

    parallel_for(run, img.shape[axis], img.size * 2)


def _col2im_kmajor(gcols, groups, n, out, k, c, size, lo, stride, dil) -> np.ndarray:
    """Sum K-major, batch-last columns ``(G, Cg*prod(k), prod(out)*N)`` onto an ``(N, C, *size)``
    view (memory ``(C, *size, N)``): with the batch innermost every add runs over ``OW*N``
    contiguous floats instead of ``OW``, about 2x faster for few channels."""
    cg = c // groups
    cols = gcols.reshape(groups, cg, *k, *out, n)
    plan, cover = _offset_plan(k, out, size, lo, stride, dil)
    img = scratch.get((groups, cg, *size, n), gcols.dtype, zero=cover is None)
    pre = (slice(None), slice(None))

    def at(off):  # (G, Cg, *out, N), spatial axes after 2 leading ones
        return cols[(*pre, *off)]

    _add_windows(img, at, plan, cover, 2, 1)
    return np.moveaxis(img.reshape(c, *size, n), -1, 0)


def _col2im(gcols, groups, n, out, k, c, size, lo, stride, dil) -> np.ndarray:
    """Sum columns ``(G, M, prod(k)*Cg)`` back onto an ``(N, C, *size)`` image (dropping what
    falls into the ``lo`` padding). Channels-last memory when channels are many, else
    ``(C, N, *size)`` memory (each order is several times slower in the other case)."""
    cg = c // groups
    sd = len(out)
    cols = gcols.reshape(groups, n, *out, *k, cg)
    plan, cover = _offset_plan(k, out, size, lo, stride, dil)
    if c >= _CHANNELS_LAST_MIN:
        img = scratch.get((n, *size, groups, cg), gcols.dtype, zero=cover is None)
        cl = np.moveaxis(cols, 0, -2)  # (N, *out, *k, G, Cg)

        def at(off):  # (N, *out, G, Cg)
            return cl[(slice(None),) * (1 + sd) + off]

        _add_windows(img, at, plan, cover, 1, 0)
        return np.moveaxis(img.reshape(n, *size, c), -1, 1)
    img = scratch.get((groups, cg, n, *size), gcols.dtype, zero=cover is None)
    cf = np.moveaxis(  # (*k, G, Cg, N, *out)
        cols,
        [0, 1, *range(2, 2 + sd), *range(2 + sd, 2 + 2 * sd), -1],
        [sd, sd + 2, *range(sd + 3, 2 * sd + 3), *range(sd), sd + 1],
    )
    _add_windows(img, lambda off: cf[off], plan, cover, 3, 2)
    return np.swapaxes(img.reshape(c, n, *size), 0, 1)


def _weight_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """``(OC, Cg, *k)`` weights as ``(G, prod(k)*Cg, OCg)``, matching ``_im2col``'s columns."""
    oc, cg = w.shape[:2]
    sd = w.ndim - 2
    wg = w.reshape(groups, oc // groups, cg, *w.shape[2:])
    order = (0, *range(3, 3 + sd), 2, 1)
    return np.ascontiguousarray(wg.transpose(order)).reshape(groups, -1, oc // groups)


def _weight_from_matrix(gwm: np.ndarray, wshape: tuple, groups: int) -> np.ndarray:
    """Inverse layout of ``_weight_matrix`` (for the weight gradient)."""
    oc, cg = wshape[:2]
    k = wshape[2:]
    sd = len(k)
    g = gwm.reshape(groups, *k, cg, oc // groups)
    order = (0, sd + 2, sd + 1, *range(1, 1 + sd))
    return np.ascontiguousarray(g.transpose(order)).reshape(wshape)


def _rows(g: np.ndarray) -> np.ndarray:
    """``(N, C, *S)`` gradient as channels-last rows ``(N*prod(S), C)`` (a view when possible)."""
    gl = np.moveaxis(g, 1, -1)
    return gl.reshape(-1, gl.shape[-1])


def _grouped(rows: np.ndarray, groups: int) -> np.ndarray:
    """``(M, C)`` rows as ``(G, M, C/G)``."""
    if groups == 1:
        return rows[None]
    m, c = rows.shape
    return rows.reshape(m, groups, c // groups).transpose(1, 0, 2)


def _ungrouped(out: np.ndarray) -> np.ndarray:
    """``(G, M, Cg)`` as ``(M, G*Cg)`` rows."""
    if out.shape[0] == 1:
        return out[0]
    g, m, cg = out.shape
    return out.transpose(1, 0, 2).reshape(m, g * cg)


def _gemm(a: np.ndarray, b: np.ndarray, out_shape: tuple, dtype) -> np.ndarray:
    """Batched ``a @ b`` into a pooled buffer (plain 2-D BLAS call when there is one group)."""
    return matmul(a, b, scratch.get(out_shape, dtype))


def _add_bias(rows: np.ndarray, b: np.ndarray, per_image: int) -> None:
    """``rows (M, C) += b``: with few channels a ``(M, C)`` broadcast runs C-float inner loops,
    so add a bias tiled over one image's positions instead (long contiguous runs)."""
    if rows.shape[1] >= 64 or not rows.flags.c_contiguous:
        rows += b
        return
    flat = rows.reshape(-1, per_image * rows.shape[1])  # a view: rows is contiguous
    flat += np.tile(b, per_image)


class ConvNd(Primitive):
    """N-d cross-correlation (``F.conv1d/2d/3d``) on ``(N, C, *S)`` arrays.

    Args (after the arrays): stride, pads (``(lo, hi)`` per spatial dim), dilation, groups.
    Inputs with few channels per group use K-major columns (runs along output rows); many
    channels use channels-last columns (runs along channels). The output is channels-last.
    """

    twice_differentiable = True  # (on the graph: _conv_graph.py)

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dil, groups):
        with blas_for(_macs(x.shape, w.shape)):
            return _conv_forward(ctx, x, w, b, stride, pads, dil, groups)

    @staticmethod
    def backward(ctx, g):
        if on_graph(g):
            from ._conv_graph import conv_backward

            return conv_backward(ctx, g, *ctx.saved_tensors[2:])
        with blas_for(_macs(ctx.meta[0], ctx.meta[1])):
            return _conv_backward(ctx, g)


def _macs(xshape: tuple, wshape: tuple) -> int:
    """About the multiply-adds of a convolution's GEMM (stride ignored: a threshold only)."""
    return prod(xshape) * prod(wshape[1:]) * wshape[0] // max(xshape[1], 1)


def _conv_forward(ctx, x, w, b, stride, pads, dil, groups):
    """ConvNd's forward (im2col + GEMM); see the class."""
    n, c = x.shape[:2]
    k = w.shape[2:]
    oc = w.shape[0]
    out = tuple(
        conv_out_size(s, kk, st, lo, hi, d)
        for s, kk, st, (lo, hi), d in zip(x.shape[2:], k, stride, pads, dil)
    )
    kmajor = c // groups < _CHANNELS_LAST_MIN
    m = n * prod(out)
    if kmajor:
        cols = _im2col_kmajor(_pad_channels_first(x, pads), groups, out, k, stride, dil)
        wm = w.reshape(groups, oc // groups, -1)  # (G, OCg, Cg*prod(k)), a view
        y = _gemm(cols.transpose(0, 2, 1), wm.transpose(0, 2, 1), (groups, m, oc // groups),
                  x.dtype)  # fmt: skip
    else:
        x_pad = _pad_channels_last(np.moveaxis(x, 1, -1), pads)
        cols = _im2col(x_pad, groups, out, k, stride, dil)
        wm = _weight_matrix(w, groups)
        y = _gemm(cols, wm, (groups, m, oc // groups), x.dtype)
    rows = _ungrouped(y)
    if b is not None:
        _add_bias(rows, b, prod(out))
    nig = ctx.needs_input_grad
    if nig:
        # Keep only what backward will use: columns for dW, the weight matrix for dX.
        # x, w: for create_graph (cols and wm are intermediates).
        ctx.save_for_backward(cols if nig[1] else None, wm if nig[0] else None, x, w)
    ctx.meta = (x.shape, w.shape, stride, pads, dil, groups, out, kmajor)
    return np.moveaxis(rows.reshape(n, *out, oc), -1, 1)


def _conv_backward(ctx, g):
    """ConvNd's backward: weight gradient (columns^T @ g), bias (ones @ g), input (col2im)."""
    cols, wm = ctx.saved_tensors[:2]
    xshape, wshape, stride, pads, dil, groups, out, kmajor = ctx.meta
    nig = ctx.needs_input_grad
    rows = _rows(g)
    gg = _grouped(rows, groups)
    gx = gw = gb = None
    if nig[1]:
        if kmajor:
            # (K, M) @ (M, OC) with both operands C-ordered: ~2x faster than the
            # transposed product for these tall-skinny shapes.
            gwt = matmul_reduce(cols, gg)
            gw = np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(wshape)
        else:
            gwm = matmul_reduce(cols.transpose(0, 2, 1), gg)
            gw = _weight_from_matrix(gwm, wshape, groups)
    if nig[2]:
        gb = ones_vector(rows.shape[0], rows.dtype) @ rows
    if nig[0]:
        n, c = xshape[:2]
        size, lo = xshape[2:], tuple(p[0] for p in pads)
        if kmajor:
            # Gradient rows ordered (*out, N): the batch becomes the innermost axis.
            gt = scratch.get((g.shape[1], *out, n), g.dtype)
            np.copyto(gt, np.moveaxis(g, 0, -1))
            gt = gt.reshape(groups, g.shape[1] // groups, rows.shape[0])
            gcols = _gemm(wm.transpose(0, 2, 1), gt, (groups, wm.shape[2], rows.shape[0]),
                          g.dtype)  # fmt: skip
            gx = _col2im_kmajor(gcols, groups, n, out, wshape[2:], c, size, lo, stride, dil)
        else:
            gcols = _gemm(gg, wm.transpose(0, 2, 1), cols_shape(gg, wm), g.dtype)
            gx = _col2im(gcols, groups, n, out, wshape[2:], c, size, lo, stride, dil)
    return gx, gw, gb, None, None, None, None


def cols_shape(gg: np.ndarray, wm: np.ndarray) -> tuple:
    """Shape of ``gg @ wm.T`` for grouped rows ``(G, M, OCg)`` and weights ``(G, K, OCg)``."""
    return (gg.shape[0], gg.shape[1], wm.shape[1])


class ConvTransposeNd(Primitive):
    """N-d transposed convolution (``F.conv_transpose1d/2d/3d``): the input-gradient of ConvNd.

    Args (after the arrays): stride, padding, output_padding, dilation, groups.
    Weight layout ``(C_in, C_out/groups, *k)`` as PyTorch.
    """

    twice_differentiable = True  # (on the graph: _conv_graph.py)

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, out_pad, dil, groups):
        n, cin = x.shape[:2]
        k = w.shape[2:]
        ocg = w.shape[1]
        oc = ocg * groups
        s_in = x.shape[2:]
        full = tuple(
            (s - 1) * st + d * (kk - 1) + 1 + op
            for s, st, d, kk, op in zip(s_in, stride, dil, k, out_pad)
        )
        # (Cin, OCg, *k) -> (G, Cin_g, prod(k)*OCg) so that rows @ it gives channels-last columns.
        wg = w.reshape(groups, cin // groups, ocg, *k)
        wt = np.ascontiguousarray(np.moveaxis(wg, 2, -1)).reshape(groups, cin // groups, -1)
        xr = _grouped(_rows(x), groups)
        m = xr.shape[1]
        cols = _gemm(xr, wt, (groups, m, wt.shape[2]), x.dtype)
        size = tuple(f - 2 * p for f, p in zip(full, padding))
        y = _col2im(cols, groups, n, s_in, k, oc, size, padding, stride, dil)
        if b is not None:
            y += b.reshape(-1, *(1,) * len(k))
        ctx.save_for_backward(x, wt, w)  # w: for create_graph (wt is an intermediate)
        ctx.meta = (w.shape, stride, padding, dil, groups, full)
        return y

    @staticmethod
    def backward(ctx, g):
        x, wt, w = ctx.saved_tensors
        if on_graph(g):
            from ._conv_graph import conv_transpose_backward

            return conv_transpose_backward(ctx, g, x, w)
        wshape, stride, padding, dil, groups, full = ctx.meta
        nig = ctx.needs_input_grad
        k = wshape[2:]
        gx = gw = gb = None
        if nig[2]:
            rows = _rows(g)
            gb = ones_vector(rows.shape[0], rows.dtype) @ rows
        if nig[0] or nig[1]:
            gl = np.moveaxis(g, 1, -1)
            pads = tuple((p, f - p - s) for p, f, s in zip(padding, full, g.shape[2:]))
            gp = _pad_channels_last(gl, pads)
            cols = _im2col(gp, groups, x.shape[2:], k, stride, dil)  # (G, M, prod(k)*OCg)
            if nig[0]:
                gxr = np.matmul(cols, wt.transpose(0, 2, 1))  # (G, M, Cin_g)
                n = x.shape[0]
                gx = np.moveaxis(_ungrouped(gxr).reshape(n, *x.shape[2:], x.shape[1]), -1, 1)
            if nig[1]:
                xr = _grouped(_rows(x), groups)
                gwt = np.matmul(xr.transpose(0, 2, 1), cols)  # (G, Cin_g, prod(k)*OCg)
                cin, ocg = wshape[:2]
                gw = gwt.reshape(groups, cin // groups, *k, ocg)
                gw = np.ascontiguousarray(np.moveaxis(gw, -1, 2)).reshape(wshape)
        return gx, gw, gb, None, None, None, None, None


def _unfold_windows(x_pad: np.ndarray, k: tuple, stride: tuple, dil: tuple, out: tuple):
    """Strided view ``(N, C, *k, *out)`` of a channels-first padded image."""
    st = x_pad.strides
    sd = len(k)
    shape = (*x_pad.shape[:2], *k, *out)
    strides = (
        st[0],
        st[1],
        *(st[2 + i] * dil[i] for i in range(sd)),
        *(st[2 + i] * stride[i] for i in range(sd)),
    )
    return as_strided(x_pad, shape, strides, writeable=False)


def _unfold(x, k, stride, pads, dil, out):
    n, c = x.shape[:2]
    if any(pads):
        x_pad = np.zeros((n, c, *(s + 2 * p for s, p in zip(x.shape[2:], pads))), x.dtype)
        x_pad[(slice(None), slice(None), *(slice(p, p + s) for s, p in zip(x.shape[2:], pads)))] = x
    else:
        x_pad = x
    win = _unfold_windows(x_pad, k, stride, dil, out)
    return win.reshape(n, c * prod(k), prod(out))  # the copy


def _fold(cols, c, size, k, stride, pads, dil, out):
    n = cols.shape[0]
    full = tuple(s + 2 * p for s, p in zip(size, pads))
    img = np.zeros((n, c, *full), cols.dtype)
    cv = cols.reshape(n, c, *k, *out)
    for off in itertools.product(*(range(kk) for kk in k)):
        sl = tuple(
            slice(o * d, o * d + s * (m - 1) + 1, s) for o, d, s, m in zip(off, dil, stride, out)
        )
        img[(slice(None), slice(None), *sl)] += cv[(slice(None), slice(None), *off)]
    if any(pads):
        img = img[(slice(None), slice(None), *(slice(p, p + s) for s, p in zip(size, pads)))]
    return img


class Unfold(Primitive):
    """``F.unfold``: sliding local blocks ``(N, C, *S) -> (N, C*prod(k), L)``. Linear: its
    backward is ``Fold`` (an op on the graph under create_graph), and Fold's is ``Unfold``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, k, stride, pads, dil, out):
        ctx.meta = (x.shape, k, stride, pads, dil, out)
        return _unfold(x, k, stride, pads, dil, out)

    @staticmethod
    def backward(ctx, g):
        xshape, k, stride, pads, dil, out = ctx.meta
        fold = g.apply if on_graph(g) else lambda op, *a: _fold(g, *a)
        return (
            fold(Fold, xshape[1], xshape[2:], k, stride, pads, dil, out),
            None,
            None,
            None,
            None,
            None,
        )


class Fold(Primitive):
    """``F.fold``: sums sliding local blocks ``(N, C*prod(k), L) -> (N, C, *size)``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, cols, c, size, k, stride, pads, dil, out):
        ctx.meta = (size, k, stride, pads, dil, out)
        return _fold(cols, c, size, k, stride, pads, dil, out)

    @staticmethod
    def backward(ctx, g):
        size, k, stride, pads, dil, out = ctx.meta
        gc = (
            g.apply(Unfold, k, stride, pads, dil, out)
            if on_graph(g)
            else _unfold(g, k, stride, pads, dil, out)
        )
        return gc, None, None, None, None, None, None, None
