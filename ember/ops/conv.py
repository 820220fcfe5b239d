"""Convolution primitives: N-d convolution, transposed convolution, unfold/fold.

Design (measured, see docs/performance.md, "Convolution paths"):

- Activations flow channels-last (NHWC) in memory behind NCHW-shaped views: a convolution's GEMM
  yields ``(N*H*W, C_out)`` rows, which *are* NHWC; returning them through a transposed view
  costs nothing, and the next layer's im2col then copies contiguous runs of ``C`` floats.
- A convolution is im2col (``_im2col.py``) + one GEMM per group, run over the batch in per-core
  shares (``gemm_shares``: each share does its own im2col, GEMMs and col2im).
- Many channels per group (channels-last columns): each share builds and consumes its columns a
  few images at a time (``_tile``), so the column matrix stays in cache and is never
  whole; the padded input is saved and its columns rebuilt in backward. A pointwise
  convolution (1x1, stride 1, no padding) of a channels-last input needs no columns: the input's
  rows are the column matrix and the input gradient's rows come straight out of the GEMM.
- Few channels per group: the whole column matrix is built once and saved for the weight
  gradient (rebuilding tiles lost there: short GEMMs). Channels-last columns when the input is
  channels-last with long kernel rows of channels, else K-major columns, copied and multiplied
  in cache-sized tiles; the input gradient is formed batch-last (``_batch_last_cols``).
- Big per-step arrays come from a pool (``_scratch``): reused memory instead of fresh pages.
"""

from __future__ import annotations

import numpy as np

from .._scratch import scratch
from ._conv_geometry import ConvGeometry
from ._im2col import (
    col2im_cl,
    col2im_km,
    fold,
    im2col_cl,
    im2col_km,
    pad_channels_first,
    pad_channels_last,
    unfold,
)
from ._parallel import gemm_shares, matmul, share_blocks
from ._util import Primitive, on_graph, ones_vector
from .conv_depthwise import depthwise_backward, depthwise_forward, is_depthwise

__all__ = ["ConvNd", "ConvTransposeNd", "Unfold", "Fold"]

# Channels-last columns are built and consumed a tile of images at a time: about TILE_ROWS GEMM
# rows, at most TILE_BYTES of columns, at least one image. Measured on one core, fwd+bwd of a
# 32->64 3x3 layer on 32x32 images, batch 32: 52 ms with whole columns, 42 ms with 512-4096-row
# tiles; other layers within noise of each other (docs/performance.md). The byte cap only
# binds for small images with many channels, where it made the GEMMs short: ResNet-18's
# 256x256 3x3 layer on (16, 256, 8, 8), fwd+bwd, one thread, 33 ms with a 2 MB cap (192-row
# tiles), 28.5 ms with 8 MB (1024 rows); 512 channels on 4x4 37 -> 31 ms; PyTorch 23 / 40.
TILE_ROWS = 1024
TILE_BYTES = 8 << 20


class ConvNd(Primitive):
    """N-d cross-correlation (``F.conv1d/2d/3d``) on ``(N, C, *S)`` arrays.

    Args (after the arrays): stride, pads (``(lo, hi)`` per spatial dim), dilation, groups.
    The output is channels-last in memory.
    """

    twice_differentiable = True  # (on the graph: _conv_graph.py)

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dil, groups):
        ctx.dw = None
        geo = ConvGeometry.of_conv(x.shape[2:], w.shape[2:], stride, pads, dil, groups, x.shape[1])
        ctx.geo = geo  # (the depthwise path keeps it too: create_graph's backward reads it)
        if is_depthwise(x, w, groups, stride):  # (conv_depthwise.py)
            return depthwise_forward(ctx, x, w, b, stride, pads, dil)
        return (_forward_cl if geo.channels_last else _forward_km)(ctx, x, w, b, geo)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors[:2]
        if on_graph(g):
            from ._conv_graph import conv_backward

            return conv_backward(ctx, g, x, w)
        if ctx.dw is not None:
            return (*depthwise_backward(ctx, g), None, None, None, None)
        nig, rows = ctx.needs_input_grad, _rows(g)
        gx = gw = None
        if nig[0] or nig[1]:
            path = _backward_cl if ctx.geo.channels_last else _backward_km
            gx, gw = path(ctx, g, rows, x.shape, w.shape)
        gb = _bias_grad(rows) if nig[2] else None
        return gx, gw, gb, None, None, None, None


# ---- channels-last columns (many channels): tiled -----------------------------------------------


def _forward_cl(ctx, x, w, b, geo: ConvGeometry):
    """Rows ``(N*P, OC)`` = columns ``(N*P, K*Cg)`` @ weights ``(K*Cg, OCg)`` per group, a tile
    of images at a time."""
    n, c, oc, p = x.shape[0], x.shape[1], w.shape[0], geo.positions
    x_pad = pad_channels_last(np.moveaxis(x, 1, -1), geo)
    wr = _weight_rows(w, geo.groups)
    rows = scratch.get((n * p, oc), x.dtype)
    xr = _pointwise_rows(x_pad, geo)
    tile = max(n, 1) if xr is not None else _tile(geo, c, x.dtype.itemsize)

    def run(lo: int, hi: int) -> None:
        for a in range(lo, hi, tile):
            z = min(a + tile, hi)
            cols = im2col_cl(x_pad[a:z], geo) if xr is None else xr[:, a * p : z * p]
            _gemm_into(cols, wr, rows[a * p : z * p])
            if b is not None:
                _add_bias(rows[a * p : z * p], b, p)

    gemm_shares(run, n, n * p * (geo.taps * c // geo.groups + oc))
    if ctx.needs_input_grad:
        # The padded input, not the columns: 9x less memory for a 3x3 kernel.
        ctx.save_for_backward(x, w, x_pad if ctx.needs_input_grad[1] else None, wr)
    return np.moveaxis(rows.reshape(n, *geo.out, oc), -1, 1)


def _backward_cl(ctx, g, rows, xshape: tuple, wshape: tuple) -> tuple:
    """Per tile: rebuild the columns, ``gW += g^T @ cols``, then ``cols = g @ W`` (same
    buffer) summed back onto the input gradient (col2im). ``rows``: ``g`` as ``(N*P, OC)``."""
    x_pad, wr = ctx.saved_tensors[2:]
    geo, nig = ctx.geo, ctx.needs_input_grad
    (n, c), p = xshape[:2], geo.positions
    gx = scratch.get((n, *geo.size, c), g.dtype) if nig[0] else None
    if _pointwise(geo):
        xr = _pointwise_rows(x_pad, geo) if nig[1] else None
        if xr is not None or not nig[1]:  # (an NCHW input's columns are a transposing copy)
            return _backward_pointwise(rows, xr, gx, wr, geo, wshape, n)
    parts: dict = {}
    tile = _tile(geo, c, g.dtype.itemsize)

    def run(lo: int, hi: int) -> None:
        acc = np.zeros(wr.shape, g.dtype)
        for a in range(lo, hi, tile):
            z = min(a + tile, hi)
            if nig[1]:
                cols = im2col_cl(x_pad[a:z], geo)
                acc += _gemm_tn(cols, rows[a * p : z * p], geo.groups)
            else:  # (only a buffer for the input gradient's columns)
                cols = scratch.get((geo.groups, (z - a) * p, wr.shape[2]), g.dtype)
            if nig[0]:
                _gemm_nt_into(rows[a * p : z * p], wr, cols)
                col2im_cl(cols, geo, z - a, c, gx[a:z])
        parts[lo] = acc

    gemm_shares(run, n, 2 * n * p * (geo.taps * c // geo.groups + rows.shape[1]))
    gw = _weight_from_rows(_sum(parts), wshape, geo.groups) if nig[1] else None
    return (np.moveaxis(gx, -1, 1) if nig[0] else None), gw


# ---- pointwise (1x1, stride 1, no padding): the channels-last input is its own columns --------


def _pointwise_rows(xl: np.ndarray | None, geo: ConvGeometry) -> np.ndarray | None:
    """A channels-last ``(N, *S, C)`` array as the columns ``(G, N*P, Cg)`` of a pointwise
    convolution (a view), or None when ``geo`` is not pointwise or ``xl`` not C-contiguous.

    Each output position then reads exactly its own input position, so im2col would copy the
    input row for row and col2im copy the columns back: MobileNetV2's 1x1 layers spent 26 ms of a
    385 ms one-thread step (batch 16) in those copies."""
    if xl is None or not _pointwise(geo) or not xl.flags.c_contiguous:
        return None
    return _grouped(xl.reshape(-1, xl.shape[-1]), geo.groups)


def _pointwise(geo: ConvGeometry) -> bool:
    """One kernel tap, stride 1, no padding: output position i reads input position i."""
    return geo.taps == 1 and not geo.has_padding and all(s == 1 for s in geo.stride)


def _backward_pointwise(rows, xr, gx, wr, geo: ConvGeometry, wshape: tuple, n: int) -> tuple:
    """``_backward_cl`` for a pointwise convolution: ``gW = g^T @ x`` and the input gradient's
    rows ``g @ W`` straight into ``gx`` (``xr`` None: no weight gradient; ``gx`` None: no input
    gradient), per-core shares of the ``n`` images."""
    p = geo.positions
    gxr = _pointwise_rows(gx, geo)
    parts: dict = {}

    def run(lo: int, hi: int) -> None:
        r = rows[lo * p : hi * p]
        if xr is not None:
            parts[lo] = _gemm_tn(xr[:, lo * p : hi * p], r, geo.groups)
        if gxr is not None:
            _gemm_nt_into(r, wr, gxr[:, lo * p : hi * p])

    gemm_shares(run, n, 2 * n * p * (wr.shape[2] + rows.shape[1]))
    gw = _weight_from_rows(_sum(parts), wshape, geo.groups) if xr is not None else None
    return (np.moveaxis(gx, -1, 1) if gx is not None else None), gw


def _tile(geo: ConvGeometry, c: int, itemsize: int) -> int:
    """Images per tile of channels-last columns (see ``TILE_ROWS``)."""
    image_bytes = geo.positions * geo.taps * (c // geo.groups) * itemsize
    return max(1, min(TILE_ROWS // max(geo.positions, 1), TILE_BYTES // max(image_bytes, 1)))


# The GEMMs take the weights as rows ``(G, OCg, K*Cg)``, one row per output channel (the
# products use their transpose, which BLAS reads at no cost): reordering ``(Cg, *k)`` to
# ``(*k, Cg)`` within each output channel's row is a copy that stays in cache, where the
# ``(K*Cg, OCg)`` matrix was a transpose of the whole weight (ResNet-18's 512x512 3x3: 8.6 ms
# against 0.87, twice a step for each of its big layers, ~100 of a 700 ms one-thread step).
def _weight_rows(w: np.ndarray, groups: int) -> np.ndarray:
    """``(OC, Cg, *k)`` weights as rows ``(G, OCg, prod(k)*Cg)`` matching channels-last
    columns (``cols @ rows[g].T`` is the output)."""
    oc, cg = w.shape[:2]
    wg = w.reshape(groups, oc // groups, cg, -1)
    return np.ascontiguousarray(wg.transpose(0, 1, 3, 2)).reshape(groups, oc // groups, -1)


def _weight_from_rows(gr: np.ndarray, wshape: tuple, groups: int) -> np.ndarray:
    """Inverse layout of ``_weight_rows`` (for the weight gradient)."""
    oc, cg = wshape[:2]
    g = gr.reshape(groups, oc // groups, -1, cg)
    return np.ascontiguousarray(g.transpose(0, 1, 3, 2)).reshape(wshape)


# ---- few channels: whole columns, saved ------------------------------------------------------
# Few channels per group: the whole column matrix is built once (each share filling its images'
# slice) and saved for the weight gradient. Its layout follows the input's memory: channels-last
# columns when the input is channels-last and a kernel row of channels (``kW*Cg`` contiguous
# floats, e.g. LeNet's 6->16 5x5: 30) is long enough to copy as runs, else K-major columns (runs
# of an output row). Measured, one core, LeNet's 6->16 5x5 on 12x12 at batch 64, channels-last
# input: im2col 193 us channels-last vs 623 us K-major, GEMM 292 vs 357 us.
CL_RUN_MIN = 16
# K-major GEMMs run a tile of about KM_TILE_BYTES of columns at a time, so that they read the
# columns just copied from cache: tall-skinny GEMMs with a few output channels are memory bound
# (LeNet's 1->6 5x5 on 28x28 at batch 64: 527 us for the whole (36864, 25) @ (25, 6), 290 us in
# 4-image tiles). That layer's forward, one core, tiles of 64 KB to whole: 1171, 898, 773, 641
# (512 KB: 8 images), 902, 905 us; forward and weight gradient 1901, 1339, 1169, 1068, 1512,
# 1591 us.
KM_TILE_BYTES = 512 << 10


def _few_cl(x: np.ndarray, geo: ConvGeometry) -> bool:
    """Whether a few-channel convolution of ``x`` builds channels-last columns (see above)."""
    cg = x.shape[1] // geo.groups
    return cg > 1 and cg * geo.k[-1] >= CL_RUN_MIN and np.moveaxis(x, 1, -1).flags.c_contiguous


def _forward_km(ctx, x, w, b, geo: ConvGeometry):
    """Rows ``(N*P, OC)`` = columns ``(N*P, Cg*K)`` @ weights ``(Cg*K, OCg)`` per group; each
    share fills its images' slice of the (saved) column matrix and multiplies it tile by tile."""
    n, oc, p = x.shape[0], w.shape[0], geo.positions
    rows = scratch.get((n * p, oc), x.dtype)
    ctx.cl_cols = _few_cl(x, geo)
    if ctx.cl_cols:
        x_pad = pad_channels_last(np.moveaxis(x, 1, -1), geo)
        wr = _weight_rows(w, geo.groups)  # (G, OCg, K*Cg)
        cols = scratch.get((geo.groups, n * p, wr.shape[2]), x.dtype)

        def run(lo: int, hi: int) -> None:
            im2col_cl(x_pad[lo:hi], geo, cols[:, lo * p : hi * p])
            _gemm_into(cols[:, lo * p : hi * p], wr, rows[lo * p : hi * p])
    else:
        x_pad = pad_channels_first(x, geo)
        wr = w.reshape(geo.groups, oc // geo.groups, -1)  # (G, OCg, Cg*K): a view
        cols = scratch.get((geo.groups, wr.shape[2], n * p), x.dtype)
        tile = _km_tile(geo, wr.shape[2], x.dtype.itemsize)

        def run(lo: int, hi: int) -> None:
            for a in range(lo, hi, tile):
                mine = cols[:, :, a * p : min(a + tile, hi) * p]
                im2col_km(x_pad[a : a + mine.shape[2] // p], geo, mine)
                _gemm_into(mine.transpose(0, 2, 1), wr, rows[a * p : a * p + mine.shape[2]])

    def run_bias(lo: int, hi: int) -> None:
        run(lo, hi)
        if b is not None:
            _add_bias(rows[lo * p : hi * p], b, p)

    gemm_shares(run_bias, n, cols.size + rows.size)
    if ctx.needs_input_grad:
        ctx.save_for_backward(x, w, cols if ctx.needs_input_grad[1] else None, None)
    return np.moveaxis(rows.reshape(n, *geo.out, oc), -1, 1)


def _km_tile(geo: ConvGeometry, k: int, itemsize: int) -> int:
    """Images per tile of K-major columns (see ``KM_TILE_BYTES``)."""
    return max(1, KM_TILE_BYTES // max(geo.positions * k * itemsize, 1))


def _backward_km(ctx, g, rows, xshape: tuple, wshape: tuple) -> tuple:
    """Per share: ``gW += cols @ g`` (in the columns' layout) and the input gradient of its
    images, computed batch-last (``(C, *size, n)`` memory: the col2im adds then run over
    ``OW*n`` contiguous floats)."""
    cols, w = ctx.saved_tensors[2], ctx.saved_tensors[1]
    geo, nig = ctx.geo, ctx.needs_input_grad
    (n, c), p, oc = xshape[:2], geo.positions, g.shape[1]
    cl = ctx.cl_cols  # channels-last columns (G, N*P, K*Cg), else K-major (G, Cg*K, N*P)
    wr = w.reshape(geo.groups, oc // geo.groups, -1)  # (G, OCg, Cg*K), a view
    gx = _empty_like_layout(ctx.saved_tensors[0], g.dtype) if nig[0] else None
    parts: dict = {}
    work = 2 * rows.shape[0] * (wr.shape[2] + oc)
    # The weight gradient sums one partial per share whether the shares run split or as one
    # call (so both give the same bits); the input gradient is per image, computed over the
    # whole range of the call: col2im on 32 images twice took 400 us against 275 on 64 once
    # (LeNet's 6->16 layer; its whole backward 2.1 ms as two shares in turn, 1.45 as one call).
    shares = share_blocks(n, work)
    # (Decided by the share, not the call: the two ways need not round alike.)
    batched = shares[0][1] - shares[0][0] >= BATCHED_MIN_IMAGES

    def run(lo: int, hi: int) -> None:
        if nig[1]:
            for a, z in shares:
                if lo <= a and z <= hi:
                    mine = rows[a * p : z * p]
                    if cl:
                        parts[a] = _gemm_tn(cols[:, a * p : z * p], mine, geo.groups)
                    else:
                        parts[a] = _gemm_km(cols, mine, a, z, geo)
        if nig[0]:
            gcols = _batch_last_cols(rows, wr, lo, hi, geo, batched)
            np.copyto(gx[lo:hi], col2im_km(gcols, geo, hi - lo, c))

    gemm_shares(run, n, work, whole=True)
    gw = None
    if nig[1]:
        if cl:
            gw = _weight_from_rows(_sum(parts), wshape, geo.groups)
        else:
            gw = np.ascontiguousarray(_sum(parts).transpose(0, 2, 1)).reshape(wshape)
    return gx, gw


# From this many images per share the input gradient's batch-last columns come from one small
# GEMM per output position on the gradient rows as they are; fewer images: a batch-last copy of
# the gradient, then one GEMM. LeNet's 6->16 5x5 at batch 64 (one core): 455 vs 225 + 487 us.
BATCHED_MIN_IMAGES = 16


def _batch_last_cols(
    rows: np.ndarray, wr: np.ndarray, lo: int, hi: int, geo: ConvGeometry, batched: bool
):
    """The input gradient's K-major, batch-last columns ``(G, Cg*K, P*n)`` of images
    ``lo:hi``: ``W^T @ g`` per group, from the channels-last gradient rows ``(N*P, OC)``; one
    small GEMM per output position if ``batched``, else one GEMM on a batch-last copy."""
    p, groups = geo.positions, geo.groups
    ocg, k = wr.shape[1], wr.shape[2]
    mine = rows[lo * p : hi * p].reshape(hi - lo, p, groups, ocg)
    if batched:
        out = scratch.get((groups, k, p, hi - lo), rows.dtype)
        # (G, P, OCg, n) @ per position, written as (G, P, Cg*K, n) into (G, Cg*K, P, n).
        np.matmul(
            wr.transpose(0, 2, 1)[:, None],
            mine.transpose(2, 1, 3, 0),
            out=out.transpose(0, 2, 1, 3),
        )
        return out.reshape(groups, k, -1)
    gt = scratch.get((groups, ocg, p, hi - lo), rows.dtype)  # this share's g, batch-last
    np.copyto(gt, mine.transpose(2, 3, 1, 0))
    return np.matmul(wr.transpose(0, 2, 1), gt.reshape(groups, ocg, -1))


def _empty_like_layout(x: np.ndarray, dtype) -> np.ndarray:
    """An uninitialised array shaped as ``x (N, C, *S)``, channels-last in memory when ``x`` is
    (a gradient in its input's layout spares the next op a layout copy)."""
    xl = np.moveaxis(x, 1, -1)
    if x.shape[1] > 1 and xl.flags.c_contiguous:
        return np.moveaxis(np.empty(xl.shape, dtype), -1, 1)
    return np.empty(x.shape, dtype)


def _gemm_km(cols: np.ndarray, rows: np.ndarray, lo: int, hi: int, geo: ConvGeometry):
    """``cols[:, :, images lo:hi] @ rows`` per group (``(G, Cg*K, OCg)``), a tile at a time."""
    p = geo.positions
    tile = _km_tile(geo, cols.shape[1], cols.dtype.itemsize)
    acc = np.zeros((geo.groups, cols.shape[1], rows.shape[1] // geo.groups), cols.dtype)
    for a in range(lo, hi, tile):
        z = min(a + tile, hi)
        acc += np.matmul(
            cols[:, :, a * p : z * p], _grouped(rows[(a - lo) * p : (z - lo) * p], geo.groups)
        )
    return acc


# ---- GEMM and row helpers --------------------------------------------------------------------


def _gemm_into(a: np.ndarray, wr: np.ndarray, rows: np.ndarray) -> None:
    """``rows[:, group g] = a[g] @ wr[g]^T`` for ``a (G, M, K)``, weight rows ``wr (G, OCg, K)``
    and output rows ``(M, G*OCg)``: one 2-D BLAS call per group, written in place (strided)."""
    ocg = wr.shape[1]
    for i in range(wr.shape[0]):
        np.matmul(a[i], wr[i].T, out=rows[:, i * ocg : (i + 1) * ocg])


def _gemm_tn(cols: np.ndarray, rows: np.ndarray, groups: int) -> np.ndarray:
    """``rows[:, group g]^T @ cols[g]`` for every group: ``(G, OCg, K)``, the weight gradient
    as weight rows."""
    return np.matmul(_grouped(rows, groups).transpose(0, 2, 1), cols)


def _gemm_nt_into(rows: np.ndarray, wr: np.ndarray, cols: np.ndarray) -> None:
    """``cols[g] = rows[:, group g] @ wr[g]`` (the columns of the input gradient)."""
    ocg = wr.shape[1]
    for i in range(wr.shape[0]):
        np.matmul(rows[:, i * ocg : (i + 1) * ocg], wr[i], out=cols[i])


def _grouped(rows: np.ndarray, groups: int) -> np.ndarray:
    """``(M, C)`` rows as ``(G, M, C/G)`` (a view)."""
    m, c = rows.shape
    return rows.reshape(m, groups, c // groups).transpose(1, 0, 2)


def _rows(g: np.ndarray) -> np.ndarray:
    """``(N, C, *S)`` gradient as channels-last rows ``(N*prod(S), C)`` (a view when possible)."""
    gl = np.moveaxis(g, 1, -1)
    return gl.reshape(-1, gl.shape[-1])


def _sum(parts: dict) -> np.ndarray:
    """The sum of the per-share partial weight gradients, in the shares' order (the order
    they finished in would make the rounding vary from run to run)."""
    first, *rest = (parts[k] for k in sorted(parts))
    for p in rest:
        first += p
    return first


def _bias_grad(rows: np.ndarray) -> np.ndarray:
    """``ones @ rows``: one BLAS product."""
    return ones_vector(rows.shape[0], rows.dtype) @ rows


def _add_bias(rows: np.ndarray, b: np.ndarray, per_image: int) -> None:
    """``rows (M, C) += b``: with few channels a ``(M, C)`` broadcast runs C-float inner loops,
    so add a bias tiled over one image's positions instead (long contiguous runs)."""
    if rows.shape[1] >= 64 or not rows.flags.c_contiguous:
        rows += b
        return
    flat = rows.reshape(-1, per_image * rows.shape[1])  # a view: rows is contiguous
    flat += np.tile(b, per_image)


# ---- transposed convolution ------------------------------------------------------------------


class ConvTransposeNd(Primitive):
    """N-d transposed convolution (``F.conv_transpose1d/2d/3d``): the input-gradient of ConvNd.

    Args (after the arrays): stride, padding, output_padding, dilation, groups.
    Weight layout ``(C_in, C_out/groups, *k)`` as PyTorch. Its geometry is that of the adjoint
    convolution: ``size`` the transposed output, ``out`` the transposed input.
    """

    twice_differentiable = True  # (on the graph: _conv_graph.py)

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, out_pad, dil, groups):
        n, cin = x.shape[:2]
        k, ocg = w.shape[2:], w.shape[1]
        full = tuple(
            (s - 1) * st + d * (kk - 1) + 1 + op
            for s, st, d, kk, op in zip(x.shape[2:], stride, dil, k, out_pad)
        )
        size = tuple(f - 2 * p for f, p in zip(full, padding))
        hi = tuple(f - p - s for f, p, s in zip(full, padding, size))
        geo = ConvGeometry(
            k, tuple(stride), tuple(padding), hi, tuple(dil), groups, size, x.shape[2:]
        )
        # (Cin, OCg, *k) -> (G, Cin_g, prod(k)*OCg) so that rows @ it gives channels-last columns.
        wg = w.reshape(groups, cin // groups, ocg, *k)
        wt = np.ascontiguousarray(np.moveaxis(wg, 2, -1)).reshape(groups, cin // groups, -1)
        xr = _grouped(_rows(x), groups)
        cols = matmul(xr, wt, scratch.get((groups, xr.shape[1], wt.shape[2]), x.dtype))
        y = col2im_cl(cols, geo, n, ocg * groups)
        if b is not None:
            y += b.reshape(-1, *(1,) * len(k))
        ctx.save_for_backward(x, wt, w)  # w: for create_graph (wt is an intermediate)
        ctx.geo, ctx.meta = geo, (w.shape, full)
        return y

    @staticmethod
    def backward(ctx, g):
        x, wt, w = ctx.saved_tensors
        if on_graph(g):
            from ._conv_graph import conv_transpose_backward

            return conv_transpose_backward(ctx, g, x, w)
        geo, (wshape, _) = ctx.geo, ctx.meta
        nig = ctx.needs_input_grad
        gb = _bias_grad(_rows(g)) if nig[2] else None
        gx = gw = None
        if nig[0] or nig[1]:
            cols = im2col_cl(pad_channels_last(np.moveaxis(g, 1, -1), geo), geo)
            if nig[0]:
                gxr = np.matmul(cols, wt.transpose(0, 2, 1))  # (G, M, Cin_g)
                gx = np.moveaxis(_ungrouped(gxr).reshape(*x.shape[:1], *geo.out, x.shape[1]), -1, 1)
            if nig[1]:
                gwt = np.matmul(_grouped(_rows(x), geo.groups).transpose(0, 2, 1), cols)
                cin, ocg = wshape[:2]
                gw = gwt.reshape(geo.groups, cin // geo.groups, *geo.k, ocg)
                gw = np.ascontiguousarray(np.moveaxis(gw, -1, 2)).reshape(wshape)
        return gx, gw, gb, None, None, None, None, None


def _ungrouped(out: np.ndarray) -> np.ndarray:
    """``(G, M, Cg)`` as ``(M, G*Cg)`` rows."""
    if out.shape[0] == 1:
        return out[0]
    g, m, cg = out.shape
    return out.transpose(1, 0, 2).reshape(m, g * cg)


# ---- unfold / fold ---------------------------------------------------------------------------


def _unfold_geometry(size, k, stride, pads, dil, out) -> ConvGeometry:
    return ConvGeometry(
        *map(tuple, (k, stride, pads, pads, dil)), 1, tuple(size), tuple(out), False
    )


class Unfold(Primitive):
    """``F.unfold``: sliding local blocks ``(N, C, *S) -> (N, C*prod(k), L)``. Linear: its
    backward is ``Fold`` (an op on the graph under create_graph), and Fold's is ``Unfold``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, k, stride, pads, dil, out):
        ctx.meta = (x.shape[1], x.shape[2:], k, stride, pads, dil, out)
        return unfold(x, _unfold_geometry(x.shape[2:], k, stride, pads, dil, out))

    @staticmethod
    def backward(ctx, g):
        c, size, *args = ctx.meta
        if on_graph(g):
            gx = g.apply(Fold, c, size, *args)
        else:
            gx = fold(g, _unfold_geometry(size, *args), c)
        return gx, None, None, None, None, None


class Fold(Primitive):
    """``F.fold``: sums sliding local blocks ``(N, C*prod(k), L) -> (N, C, *size)``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, cols, c, size, k, stride, pads, dil, out):
        ctx.meta = (size, k, stride, pads, dil, out)
        return fold(cols, _unfold_geometry(size, k, stride, pads, dil, out), c)

    @staticmethod
    def backward(ctx, g):
        size, *args = ctx.meta
        gc = g.apply(Unfold, *args) if on_graph(g) else unfold(g, _unfold_geometry(size, *args))
        return gc, None, None, None, None, None, None, None
