"""The convolution family's backward formulas under ``create_graph=True``.

The fast backward of ``conv.py`` works on im2col buffers, scratch arrays and BLAS calls that
record nothing. On the graph the same gradients are written with differentiable ops instead:
``Unfold`` (im2col) and ``Fold`` (col2im) are linear and each other's adjoint, so each is the
other's backward, and a convolution is ``weight @ unfold(x)`` per group. Every function here
takes GraphArrays (docs/architecture.md, "Higher-order gradients").
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["conv_backward", "conv_transpose_backward"]


def _prod(xs: Any) -> int:
    return int(np.prod(xs, dtype=np.int64))


def conv_backward(ctx: Any, g: Any, x: Any, w: Any) -> tuple:
    """``ConvNd``'s gradients: ``gx = fold(W^T g)``, ``gw = sum_n g unfold(x)^T``, ``gb``."""
    from .conv import Fold, Unfold

    geo = ctx.geo
    xshape, wshape, groups, out = x.shape, w.shape, geo.groups, geo.out
    stride, dil, pads = geo.stride, geo.dilation, geo.pads
    nig = ctx.needs_input_grad
    n, c = xshape[:2]
    k, kk = wshape[2:], _prod(wshape[2:])
    ocg, cg = wshape[0] // groups, c // groups
    zeros = (0,) * len(k)
    g4 = g.reshape(n, groups, ocg, _prod(out))
    gx = gw = gb = None
    if nig[2]:
        gb = g.sum(axis=(0, *range(2, g.ndim)))
    if nig[1]:
        x_pad = np.pad(x, [(0, 0), (0, 0), *pads]) if geo.has_padding else x
        cols = x_pad.apply(Unfold, k, stride, zeros, dil, out).reshape(n, groups, cg * kk, -1)
        gw = (g4 @ cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(wshape)
    if nig[0]:
        wm = w.reshape(groups, ocg, cg * kk).transpose(0, 2, 1)
        gcols = (wm @ g4).reshape(n, c * kk, -1)
        gxp = gcols.apply(Fold, c, geo.padded, k, stride, zeros, dil, out)
        crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(xshape[2:], pads))
        gx = gxp[(slice(None), slice(None), *crop)] if geo.has_padding else gxp
    return gx, gw, gb, None, None, None, None


def conv_transpose_backward(ctx: Any, g: Any, x: Any, w: Any) -> tuple:
    """``ConvTransposeNd``'s gradients: its forward is ``crop(fold(W^T x))`` per group, so
    ``gcols = unfold(pad(g))``, ``gx = W gcols`` and ``gw = sum_n x gcols^T``."""
    from .conv import Unfold

    geo, (wshape, full) = ctx.geo, ctx.meta
    stride, padding, dil, groups = geo.stride, geo.lo, geo.dilation, geo.groups
    nig = ctx.needs_input_grad
    n, cin = x.shape[:2]
    k, kk = wshape[2:], _prod(wshape[2:])
    ocg, cig = wshape[1], cin // groups
    gx = gw = gb = None
    if nig[2]:
        gb = g.sum(axis=(0, *range(2, g.ndim)))
    if nig[0] or nig[1]:
        widths = [(0, 0), (0, 0), *((p, f - p - s) for p, f, s in zip(padding, full, g.shape[2:]))]
        gp = np.pad(g, widths) if any(lo or hi for _, (lo, hi) in enumerate(widths)) else g
        zeros = (0,) * len(k)
        gcols = gp.apply(Unfold, k, stride, zeros, dil, x.shape[2:])
        gcols = gcols.reshape(n, groups, ocg * kk, -1)
        if nig[0]:
            wv = w.reshape(groups, cig, ocg * kk)
            gx = (wv @ gcols).reshape(x.shape)
        if nig[1]:
            x4 = x.reshape(n, groups, cig, -1)
            gw = (x4 @ gcols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(wshape)
    return gx, gw, gb, None, None, None, None, None
