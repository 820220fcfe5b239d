"""Fused normalisation primitives: batch norm (training and inference), layer norm, group norm
and RMS norm, each one graph node with a hand-written backward.

Layouts are reshaped (never looped): batch norm sees the input as (N, C, L) and reduces over
axes 0 and 2, group norm as (N, G, C/G * L), layer and RMS norm as (rows, normalised size).
Statistics are computed in the input's dtype; the variance is the biased one, as PyTorch uses
for normalising (the unbiased one only feeds running estimates, see ``nn.functional``).

All are twice differentiable (docs/architecture.md, "Higher-order gradients"). The forwards
also save ``x`` and the weight: under create_graph, ``_standardize_on_graph`` recomputes the
statistics and ``xhat`` on the graph (``carrying`` the forward's values), and the same backward
formulas run with ``_dot`` in place of the fast ``einsum``/scratch-buffer code.
"""

from __future__ import annotations

import functools
from math import prod

import numpy as np

from . import _group_norm
from ._norm_layout import ChannelLayout
from ._norm_rows import rows_backward, rows_forward, standardized
from ._util import Primitive, carrying, on_graph
from .shape import _hidden_channels_last

__all__ = ["BatchNormTrain", "BatchNormEval", "LayerNorm", "GroupNorm", "RMSNorm"]


def _ncl(x: np.ndarray) -> np.ndarray:
    """View (N, C, *) as (N, C, L); a 2-D (N, C) input gets L = 1."""
    n, c = x.shape[0], x.shape[1]
    return x.reshape(n, c, -1)


def _dot(a, b, axes) -> object:
    """``sum(a * b)`` over ``axes``: one einsum on arrays, recorded ops on GraphArrays."""
    if on_graph(a) or on_graph(b):
        return (a * b).sum(axis=axes)
    letters = "abcdefgh"[: a.ndim]
    keep = "".join(c for i, c in enumerate(letters) if i not in axes)
    return np.einsum(f"{letters},{letters}->{keep}", a, b)


def _standardize_on_graph(x3, axes: tuple, eps: float, xhat_v, invstd_v) -> tuple:
    """create_graph: ``(xhat, invstd)`` of ``x3`` over ``axes`` on the graph, carrying the values
    the forward computed (``xhat_v`` shaped as ``x3``, ``invstd_v`` broadcastable to it)."""
    n = int(np.prod([x3.shape[a] for a in axes]))
    xc = x3 - x3.sum(axis=axes, keepdims=True) / n
    invstd = 1.0 / np.sqrt((xc * xc).sum(axis=axes, keepdims=True) / n + eps)
    invstd = carrying(np.reshape(invstd_v, invstd.shape), invstd)
    return carrying(xhat_v.reshape(x3.shape), xc * invstd), invstd


class BatchNormTrain(Primitive):
    """Batch norm with the batch's statistics: ``forward(x, weight, bias, eps)``.

    Returns ``(y, mean, var)`` with the per-channel mean and biased variance (both
    non-differentiable) so the caller can update running estimates. ``weight``/``bias`` may be
    None (no affine transform).
    """

    twice_differentiable = True
    non_differentiable = (1, 2)

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        lay = ChannelLayout(x)
        x2 = lay.view(x)
        c = x.shape[1]
        nf = x.dtype.type(lay.rows * lay.width // max(c, 1))
        y = lay.new(x.dtype)
        # per channel: mean, var, invstd, centre and corr (mean = centre + corr, see
        # _bn_forward_block)
        stats = np.empty((5, c), x.dtype)
        centred = np.zeros(c, bool)  # the channels that took the two-pass form
        lay.for_channel_blocks(
            lambda lo, hi: _bn_forward_block(
                lay, x2, y, stats, centred, weight, bias, eps, nf, lo, hi
            )
        )
        mean, var, invstd, centre, corr = stats
        ctx.save_for_backward(x, weight)
        ctx.meta = (lay, invstd, centre, corr, centred, eps)
        return lay.nd(y), mean, var

    @staticmethod
    def backward(ctx, g, _gm=None, _gv=None):
        x, weight = ctx.saved_tensors
        lay, invstd, centre, corr, centred, eps = ctx.meta
        if on_graph(g):
            return _batch_norm_train_on_graph(ctx, g, x, weight, invstd, eps)
        g2 = lay.view(g)
        x2 = lay.view(x)
        nig = ctx.needs_input_grad
        gx = lay.new(x.dtype)  # also the scratch for x - centre
        sums = np.empty((2, x.shape[1]), x.dtype)  # gw, gb per channel
        lay.for_channel_blocks(
            lambda lo, hi: _bn_backward_block(
                lay, g2, x2, gx, nig[0], sums, ctx.meta, weight, lo, hi
            )
        )
        gw, gb = sums
        gw_out = gw.astype(g.dtype, copy=False) if len(nig) > 1 and nig[1] else None
        gb_out = gb if len(nig) > 2 and nig[2] else None
        return lay.nd(gx) if nig[0] else None, gw_out, gb_out, None


# The one-pass variance E[x^2] - mean^2 loses relative accuracy by about (mean^2 + var) / var
# next to the rounding of the float32 sums. Measured against float64 on (32, 32, 16, 16) and
# (100000, 4) with mean = r * std: r = 2 gave errors up to 2e-6 (var) and 7e-7 (output, input
# gradient), r = 3.9 up to 9e-6 and 4e-6, the two-pass form 2e-7 at any r. So channels with
# mean^2 > _ONE_PASS_RATIO * var (and other dtypes) are centred first; ReLU outputs (r = 1.3)
# and values uniform in [0, 1] (r = 1.7) take the one-pass form.
_ONE_PASS_RATIO = 4.0
_ONE_PASS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _quiet(fn):
    """``fn`` without NumPy's floating-point warnings: inf and NaN inputs give NaN per channel
    (inf - inf), as in PyTorch, and are not an error (inside the function: errstate is per
    thread, and the blocks may run on the pool)."""

    @functools.wraps(fn)
    def quiet(*args):
        with np.errstate(invalid="ignore", over="ignore"):
            return fn(*args)

    return quiet


@_quiet
def _bn_forward_block(lay, x2, y, stats, centred, weight, bias, eps, nf, lo, hi) -> None:
    """BatchNormTrain's forward for channels ``lo:hi``: fills their columns of ``y`` and their
    ``stats`` (mean, var, invstd, centre, corr) and ``centred`` flags."""
    xb, yb = lay.part(x2, lo, hi), lay.part(y, lo, hi)
    mean = lay.sum(xb) / nf
    if x2.dtype in _ONE_PASS_DTYPES:
        # Two read-only passes for the statistics, then y = x * a + (b - mean * a): two more.
        var = lay.dot(xb, xb) / nf - mean * mean
        if np.all(mean * mean <= _ONE_PASS_RATIO * var):  # False on NaN: centre first
            invstd = 1.0 / np.sqrt(var + eps)
            a = invstd if weight is None else invstd * weight[lo:hi]
            shift = -mean * a if bias is None else bias[lo:hi] - mean * a
            np.multiply(xb, lay.expand(a), out=yb)
            yb += lay.expand(shift)
            stats[:4, lo:hi] = mean, var, invstd, mean
            stats[4, lo:hi] = 0
            return
    # PyTorch accumulates these statistics in double. A large mean next to the spread cancels
    # in float32, so the data is centred on the rough mean (into y's memory) and the mean
    # corrected by the mean of the residuals (compensated two-pass): about as accurate.
    xcb = np.subtract(xb, lay.expand(mean), out=yb)
    corr = lay.sum(xcb) / nf
    var = lay.dot(xcb, xcb) / nf - corr * corr
    np.maximum(var, 0, out=var)  # rounding must not make a constant channel's var < 0
    invstd = 1.0 / np.sqrt(var + eps)
    if not np.isfinite(var).all() and np.isfinite(xb).all():
        mean, corr, var, invstd = _float64_statistics(lay, xb, eps)
        np.subtract(xb, lay.expand(mean), out=xcb)
    # y = xhat * w + b = xc * a + (b - corr * a), a = w * invstd: two in-place passes.
    a = invstd if weight is None else invstd * weight[lo:hi]
    shift = -corr * a if bias is None else bias[lo:hi] - corr * a
    yb *= lay.expand(a)
    yb += lay.expand(shift)
    # (an inf input makes corr NaN: the mean stays inf, as in PyTorch)
    stats[:, lo:hi] = mean + np.where(np.isfinite(corr), corr, 0), var, invstd, mean, corr
    centred[lo:hi] = True


def _float64_statistics(lay, xb: np.ndarray, eps: float) -> tuple:
    """``(centre, corr, var, invstd)`` of finite values whose squares overflow float32 (|x|
    beyond ~1e19): computed in float64, as PyTorch accumulates them (float32 gave NaN)."""
    x64 = xb.astype(np.float64)
    n = float(lay.rows * lay.width // max(lay.shape[1], 1))
    mean = lay.sum(x64) / n
    xc = np.subtract(x64, lay.expand(mean), out=x64)
    var = lay.dot(xc, xc) / n
    centre, var = mean.astype(xb.dtype), var.astype(xb.dtype)
    corr = (mean - centre).astype(xb.dtype)
    # From the rounded var, as PyTorch: a var beyond float32 (inf) gives invstd 0.
    return centre, corr, var, 1.0 / np.sqrt(var + xb.dtype.type(eps))


@_quiet
def _bn_backward_block(lay, g2, x2, gx, want_gx, sums, meta, weight, lo, hi) -> None:
    """BatchNormTrain's backward for channels ``lo:hi``: their weight and bias gradients into
    ``sums`` and, when ``want_gx``, their columns of the input gradient ``gx`` (which is also
    the scratch for ``x - centre``)."""
    _, invstd, centre, corr, centred, _ = meta
    invstd, centre, corr = invstd[lo:hi], centre[lo:hi], corr[lo:hi]
    gb2, xb, gxb = lay.part(g2, lo, hi), lay.part(x2, lo, hi), lay.part(gx, lo, hi)
    nf = x2.dtype.type(lay.rows * lay.width // max(lay.shape[1], 1))
    gb = lay.sum(gb2)
    one_pass = not centred[lo:hi].any()
    if one_pass:  # as in the forward: x itself, well conditioned there
        xcb, shift = xb, centre  # sum(g * xhat) = invstd * (sum(g * x) - mean * sum(g))
    else:  # x - centre as the forward had it (its mean is corr, not 0)
        xcb, shift = np.subtract(xb, lay.expand(centre), out=gxb), corr
    gw = (lay.dot(gb2, xcb) - shift * gb) * invstd
    sums[:, lo:hi] = gw, gb
    if not want_gx:
        return
    # d/dx of (x - mean) * invstd, with mean and invstd depending on x:
    # w * invstd * (g - mean(g) - xhat * mean(g * xhat)), as a * (g + xc * c2 + c3):
    # one product (in place when gx already holds xc), three in-place passes.
    c2 = -invstd * gw / nf
    c3 = lay.expand(-shift * c2 - gb / nf)
    c2 = lay.expand(c2)
    a = lay.expand(invstd if weight is None else invstd * weight[lo:hi])
    for r in _last_rows_first(gxb):
        gr = gxb[r]
        np.multiply(xcb[r], c2, out=gr)
        gr += gb2[r]
        gr += c3
        gr *= a


# Rows per block of the input gradient's passes: about this many bytes.
_BLOCK_BYTES = 256 << 10


def _last_rows_first(a2: np.ndarray) -> list:
    """Slices of ``a2``'s rows in blocks of about ``_BLOCK_BYTES``, the last block first.

    x, g and the input gradient (1 MB each on (32, 32, 16, 16) float32) do not fit in L2
    (2 MB) together. Block by block, a block's four passes find it in cache; last rows first,
    the first blocks also find x and g still cached by the reductions that just read them in
    order. Measured (forward + backward, one thread): (32, 32, 16, 16) 496 -> 464 us,
    channels-last 642 -> 598 us, (32, 64, 32, 32) 4760 -> 4500 us; blocks of 128 KB or 512 KB
    about the same; first rows first 475 us; the forward's two passes gained nothing so. A
    block of columns (channels split over threads) is streamed whole: blocking its rows took
    (32, 64, 32, 32) on two threads from 2.8 to 3.1-3.2 ms."""
    if not a2.flags.c_contiguous:
        return [slice(None)]
    step = max(1, _BLOCK_BYTES // max(1, a2.shape[1] * a2.itemsize))
    return [slice(r, r + step) for r in range(0, a2.shape[0], step)][::-1]


def _batch_norm_train_on_graph(ctx, g, x, weight, invstd, eps) -> tuple:
    """BatchNormTrain's backward on the graph: the formula above, without scratch buffers."""
    lay, _, centre, corr, _, _ = ctx.meta
    x_v = x.t._data if on_graph(x) else x  # the saved input's values
    xc = lay.view(x_v) - lay.expand(centre)
    xhat_v = _ncl(lay.nd((xc - lay.expand(corr)) * lay.expand(invstd)))
    g3 = _ncl(g)
    xhat, inv = _standardize_on_graph(_ncl(x), (0, 2), eps, xhat_v, invstd[:, None])
    n = g3.shape[0] * g3.shape[2]
    gb = g3.sum(axis=(0, 2))
    gw = _dot(g3, xhat, (0, 2))
    nig = ctx.needs_input_grad
    gx = None
    if nig[0]:
        scale = inv if weight is None else inv * weight[:, None]
        gx = ((g3 - (gb / n)[:, None] - xhat * (gw / n)[:, None]) * scale).reshape(x.shape)
    gw_out = gw if len(nig) > 1 and nig[1] else None
    gb_out = gb if len(nig) > 2 and nig[2] else None
    return gx, gw_out, gb_out, None


class BatchNormEval(Primitive):
    """Batch norm with given statistics: ``forward(x, mean, var, weight, bias, eps)``.

    An affine map per channel (``y = x * a + b``, two passes); gradients for ``x``, ``weight``
    and ``bias``.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, mean, var, weight, bias, eps):
        lay = ChannelLayout(x)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        scale = invstd if weight is None else invstd * weight
        shift = -mean * scale
        if bias is not None:
            shift = shift + bias
        y = lay.new(x.dtype)
        lay.affine(lay.view(x), lay.expand(scale), lay.expand(shift.astype(x.dtype, copy=False)), y)
        ctx.save_for_backward(x, weight)  # weight: for create_graph (scale is an intermediate)
        ctx.meta = (lay, mean, invstd, scale)
        return lay.nd(y)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        lay, mean, invstd, scale = ctx.meta
        nig = ctx.needs_input_grad
        if on_graph(g):
            return _batch_norm_eval_on_graph(ctx, g, x, weight)
        need = (nig[0], nig[3], nig[4])
        gx, gw, gb = lay.affine_backward(
            lay.view(g), lay.view(x), lay.expand(scale), lay.expand(mean), need
        )
        return (
            None if gx is None else lay.nd(gx),
            None,
            None,
            None if gw is None else gw * invstd,
            gb,
            None,
        )


def _batch_norm_eval_on_graph(ctx, g, x, weight) -> tuple:
    """BatchNormEval's backward on the graph."""
    _, mean, invstd, scale = ctx.meta
    if weight is not None:
        scale = carrying(scale, invstd * weight)
    g3 = _ncl(g)
    nig = ctx.needs_input_grad
    gx = gw = gb = None
    if nig[0]:
        gx = (g3 * scale[:, None]).reshape(x.shape)
    if nig[3]:
        xhat = (_ncl(x) - mean[:, None]) * invstd[:, None]
        gw = _dot(g3, xhat, (0, 2))
    if nig[4]:
        gb = g3.sum(axis=(0, 2))
    return gx, None, None, gw, gb, None


def _norm_rows_backward(g2: np.ndarray, xhat: np.ndarray, invstd: np.ndarray) -> np.ndarray:
    """Input gradient of row-wise standardisation given the gradient ``g2`` w.r.t. ``xhat``
    (the create_graph form, on GraphArrays; arrays take ``_norm_rows.rows_backward``)."""
    k = g2.shape[-1]
    m1 = g2.sum(axis=-1, keepdims=True) / k
    m2 = _dot(g2, xhat, (g2.ndim - 1,))[..., None] / k
    out = g2 - m1
    out -= xhat * m2
    out *= invstd
    return out


class LayerNorm(Primitive):
    """Layer norm over the last ``k`` dims: ``forward(x, weight, bias, k, eps)``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        if x.dtype == np.float16:
            return _in_float32(LayerNorm, ctx, x, weight, bias, k, eps)
        ctx.dtypes = None
        inner = int(np.prod(x.shape[x.ndim - k :])) if k else 1
        w = None if weight is None else weight.reshape(-1)
        b = None if bias is None else bias.reshape(-1)
        y, invstd, mean, _, xc = rows_forward(x.reshape(-1, inner), 1, w, b, eps)
        ctx.save_for_backward(x, weight)  # the backward recomputes xhat from x (or xc)
        ctx.meta = (x.shape, inner, invstd, mean, xc, bias, eps)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        if on_graph(g):
            return _layer_norm_on_graph(ctx, g)
        return _float32_backward(LayerNorm, ctx, g)

    @staticmethod
    def _backward(ctx, g):
        x, weight = ctx.saved_tensors
        shape, inner, invstd, mean, xc, bias, eps = ctx.meta
        w = None if weight is None else weight.reshape(-1)
        nig = tuple(ctx.needs_input_grad[:3])
        x2 = x.reshape(-1, inner)
        gx, gw, gb = rows_backward(g.reshape(x2.shape), x2, mean, invstd, 1, w, nig, 1, xc)
        return (
            None if gx is None else gx.reshape(shape),
            None if gw is None else gw.reshape(weight.shape),
            None if gb is None else gb.reshape(bias.shape),
            None,
            None,
        )


def _in_float32(prim: type, ctx, x, weight, bias, *rest):
    """``prim``'s forward of a float16 input computed in float32, its results cast back: the
    statistics in PyTorch's accumulate type for half (float16 sums of squares overflow past
    ~65504, and a small variance's ``invstd**2`` in the backward with them)."""
    args = [None if a is None else a.astype(np.float32) for a in (x, weight, bias)]
    out = prim.forward(ctx, *args, *rest)
    ctx.dtypes = tuple(None if a is None else a.dtype for a in (x, weight, bias))
    if isinstance(out, tuple):
        return tuple(o.astype(x.dtype) for o in out)
    return out.astype(x.dtype)


def _float32_backward(prim: type, ctx, g: np.ndarray) -> tuple:
    """``prim._backward``, in float32 after ``_in_float32`` (the gradients cast back to the
    inputs' dtypes)."""
    if ctx.dtypes is None:
        return prim._backward(ctx, g)
    grads = prim._backward(ctx, g.astype(np.float32))
    cast = [d if d is None or dt is None else d.astype(dt) for d, dt in zip(grads, ctx.dtypes)]
    return (*cast, *grads[3:])


def _values(x) -> np.ndarray:
    """A saved input's array (a GraphArray under create_graph carries it)."""
    return x.t._data if on_graph(x) else x


def _layer_norm_on_graph(ctx, g) -> tuple:
    """LayerNorm's backward under create_graph: the same formulas on recorded ops."""
    x, weight = ctx.saved_tensors
    shape, inner, invstd, mean, _, bias, eps = ctx.meta
    xhat_v = standardized(_values(x).reshape(-1, inner), 1, mean, invstd)
    xhat, invstd = _standardize_on_graph(x.reshape(xhat_v.shape), (1,), eps, xhat_v, invstd)
    g2 = g.reshape(xhat.shape)
    nig = ctx.needs_input_grad
    gx = gw = gb = None
    if nig[0]:
        gxhat = g2 if weight is None else g2 * weight.reshape(-1)
        gx = _norm_rows_backward(gxhat, xhat, invstd).reshape(shape)
    if nig[1]:
        gw = _dot(g2, xhat, (0,)).reshape(weight.shape)
    if nig[2]:
        gb = g2.sum(axis=0).reshape(bias.shape)
    return gx, gw, gb, None, None


class GroupNorm(Primitive):
    """Group norm: ``forward(x, weight, bias, groups, eps)`` on (N, C, *) input.

    Returns ``(y, mean, var)``: the per-(sample, group) mean and biased variance, shaped
    (N, groups), are non-differentiable (instance norm uses them for running estimates).
    ``weight``/``bias`` are per channel, applied on (N, C * L) rows with each channel's value
    repeated over its L positions (one long inner loop per sample, see ``_norm_layout``).
    """

    twice_differentiable = True
    non_differentiable = (1, 2)

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        if x.dtype == np.float16:
            return _in_float32(GroupNorm, ctx, x, weight, bias, groups, eps)
        ctx.dtypes = None
        n, c = x.shape[0], x.shape[1]
        last = _channels_last(x)
        per_sample = _group_norm.usable(x, last)
        if per_sample:  # (channels-last input keeps its layout, as in PyTorch)
            y, invstd, mean, var = _group_norm.sample_forward(x, groups, weight, bias, eps, last)
            xc = None
        else:
            spatial = prod(x.shape[2:])
            w_row = None if weight is None else np.repeat(weight, spatial)
            b_row = None if bias is None else np.repeat(bias, spatial)
            x2 = x.reshape(n, c * spatial)  # explicit sizes: an empty batch is valid input
            y, invstd, mean, var, xc = rows_forward(x2, groups, w_row, b_row, eps)
            y = y.reshape(x.shape)
        ctx.save_for_backward(x, weight)  # the backward recomputes xhat from x (or xc)
        ctx.meta = (x.shape, groups, invstd, mean, bias, eps, (per_sample, last, xc))
        return y, mean.reshape(n, groups), var.reshape(n, groups)

    @staticmethod
    def backward(ctx, g, _gm=None, _gv=None):
        if on_graph(g):
            return _group_norm_on_graph(ctx, g)
        return _float32_backward(GroupNorm, ctx, g)

    @staticmethod
    def _backward(ctx, g):
        x, weight = ctx.saved_tensors
        shape, groups, invstd, mean, bias, eps, (per_sample, last, xc) = ctx.meta
        nig = tuple(ctx.needs_input_grad[:3])
        if per_sample:
            gx, gw, gb = _group_norm.sample_backward(g, x, mean, invstd, groups, weight, nig, last)
            return gx, gw, gb, None, None
        n, c = shape[0], shape[1]
        spatial = prod(shape[2:])
        w_row = None if weight is None else np.repeat(weight, spatial)
        gx, gw, gb = rows_backward(
            g.reshape(n, c * spatial),
            x.reshape(n, c * spatial),
            mean,
            invstd,
            groups,
            w_row,
            nig,
            spatial,
            None if xc is None else xc.reshape(n, c * spatial),
        )
        return (
            None if gx is None else gx.reshape(shape),
            gw,
            gb,
            None,
            None,
        )


def _group_norm_on_graph(ctx, g) -> tuple:
    """GroupNorm's backward under create_graph: the same formulas on recorded ops."""
    x, weight = ctx.saved_tensors
    shape, groups, invstd, mean, bias, eps, _ = ctx.meta
    n, c = shape[0], shape[1]
    x2_v = _values(x).reshape(n, -1)
    xhat_v = standardized(x2_v, groups, mean, invstd).reshape(n, groups, -1)
    invstd = invstd.reshape(n, groups, 1)
    xhat, invstd = _standardize_on_graph(x.reshape(xhat_v.shape), (2,), eps, xhat_v, invstd)
    g3 = g.reshape(n, c, -1)
    nig = ctx.needs_input_grad
    gx = gw = gb = None
    if nig[0]:
        gxhat = g3 if weight is None else g3 * weight[:, None]
        gx = _norm_rows_backward(gxhat.reshape(xhat.shape), xhat, invstd).reshape(shape)
    if nig[1]:
        gw = _dot(g3, xhat.reshape(n, c, -1), (0, 2))
    if nig[2]:
        gb = g3.sum(axis=(0, 2))
    return gx, gw, gb, None, None


def _channels_last(x: np.ndarray) -> bool:
    """Whether group norm keeps ``x``'s channels-last layout: a non-empty 4-D or 5-D input
    stored as (N, *S, C) (not also contiguous, as with one channel or one position)."""
    return x.ndim >= 4 and x.size > 0 and not x.flags.c_contiguous and _hidden_channels_last(x)


class RMSNorm(Primitive):
    """RMS norm over the last ``k`` dims: ``x / sqrt(mean(x^2) + eps) * weight``.

    ``forward(x, weight, k, eps)``.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, weight, k, eps):
        inner = int(np.prod(x.shape[x.ndim - k :])) if k else 1
        x2 = x.reshape(-1, inner)
        ms = (np.einsum("mk,mk->m", x2, x2) / inner)[:, None].astype(x.dtype, copy=False)
        rrms = 1.0 / np.sqrt(ms + eps)
        xhat = x2 * rrms
        y = xhat if weight is None else xhat * weight.reshape(-1)
        ctx.save_for_backward(xhat, x, weight)  # x, weight: for create_graph
        ctx.meta = (x.shape, rrms, eps)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xhat, x, weight = ctx.saved_tensors
        shape, rrms, eps = ctx.meta
        if on_graph(g):
            x2 = x.reshape(xhat.shape)
            ms = (x2 * x2).sum(axis=1, keepdims=True) / xhat.shape[1]
            rrms = carrying(rrms, 1.0 / np.sqrt(ms + eps))
            xhat = carrying(xhat, x2 * rrms)
        g2 = g.reshape(xhat.shape)
        gx = gw = None
        nig = ctx.needs_input_grad
        if nig[0]:
            gxhat = g2 if weight is None else g2 * weight.reshape(-1)
            k = xhat.shape[1]
            dot = _dot(gxhat, xhat, (1,))[:, None] / k
            gx = ((gxhat - xhat * dot) * rrms).reshape(shape)
        if nig[1]:
            gw = _dot(g2, xhat, (0,)).reshape(weight.shape)
        return gx, gw, None, None
