"""Depthwise convolution: one input channel per group (``groups == C_in > 1``), 1-D and 2-D,
forward and both gradients (channel multipliers as measured worth it: ``is_depthwise``).

The generic path (``conv.py``) runs a grouped convolution as im2col plus one tiny GEMM per
group; with one channel per group that is ``C`` GEMMs of ``K`` columns, and the columns are a
transpose-heavy copy: ``(32, 64, 32, 32)`` channels-last, 3x3, fwd+bwd took 70 ms on 2 threads
(PyTorch 1.8 ms). Here the work is per kernel tap, over channels-last arrays:

- forward: ``out[n, oh, ow, c] = sum_{i,j} x_pad[n, oh*sh + i*dh, ow*sw + j*dw, c] * w[c, i, j]``
  as ONE ``np.einsum`` over a strided view ``(KH, KW, n, OH, OW*C)`` of the padded input and
  the per-tap weights tiled along the output row (``(KH, KW, OW*C)``): einsum's
  sum-of-products loops do a fused multiply-add per tap over contiguous runs of ``OW*C``
  floats. Measured on that shape (one thread): 2.5 ms, against 7.4 ms for ``np.multiply`` into
  a buffer plus ``+=`` per tap and 11 ms with ``C``-float inner loops (weights not tiled).
- input gradient: the same kind of einsum correlation of the zero-padded output gradient with
  the flipped kernel, one phase of the stride at a time (``_polyphase_input_grad``).
- weight gradient: per kernel row of taps and block of images ``einsum('jnhr,nhr->jr')``
  (the products of the taps' input windows and ``g`` summed over rows), then summed over the
  output columns.

NCHW input is copied into the channels-last padded buffer (the pad copy happens anyway) and
its results copied back to NCHW memory (PyTorch's output layout): an NCHW einsum has inner
loops of one output row with a broadcast weight and measured 35-40 ms against 7.1 ms this way.
A channel multiplier ``M > 1`` runs as a depthwise convolution of the input with each channel
repeated ``M`` times (its input gradient summed back over the copies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._scratch import scratch
from ._conv_geometry import ConvGeometry
from ._im2col import strided_view
from ._parallel import blocks, copy_into, parallel_for
from ._util import ones_vector

__all__ = ["is_depthwise", "depthwise_forward", "depthwise_backward"]

# Output bytes (or output-gradient bytes, for the weight gradient) per block that one einsum
# covers: whole images, or rows of one image when an image is bigger. One thread, fwd+bwd,
# blocks of 64 KB / 128 KB / 256 KB / 512 KB, load 2: (32, 64, 32, 32) 17.2 / 14.3 / 13.1 /
# 13.0 ms; (16, 144, 56, 56) 75.8 / 64.7 / 60.7 / 62.2; (16, 384, 14, 14) 10.9 / 9.4 / 8.8 /
# 8.2; stride 2 on 56x56 43.8 / 42.2 / 42.0 / 42.9; the weight gradient alone had its best
# at 256 KB too (4 MB blocks: 10-30% slower).
BLOCK_BYTES = 256 << 10


# A channel multiplier M > 1 repeats the input M times here, where the generic path's GEMMs get
# M columns per group: fwd+bwd, one thread, load 3 (new vs generic): M = 2 at stride 1 wins
# from 16+ channels ((32, 32, 16, 16) 7.2 vs 9.2 ms, (16, 64, 32, 32) 30 vs 61 ms, 5x5 45 vs
# 113) and loses below ((32, 4, 32, 32) 3.5 vs 2.8) and strided ((32, 32, 16, 16) stride 2 5.6
# vs 2.4); M = 4 loses ((32, 8, 32, 32) 11.6 vs 7.9), M = 16 too ((32, 3, 32, 32) 12.8 vs 4.7).
# M = 1 won on every shape measured (tied at (4, 8, 5, 5): 0.18 ms either way).
MULT_MAX = 2
MULT_MAX_STRIDED = 1
MULT_MIN_CHANNELS = 16


def is_depthwise(x: np.ndarray, w: np.ndarray, groups: int, stride: tuple) -> bool:
    """Whether ``conv(x, w, groups, stride)`` takes this path: one input channel per group
    (more than one group), 1-D or 2-D, float32/float64, and a channel multiplier of one (or
    small, with many channels and stride 1: see ``MULT_MAX``)."""
    c = x.shape[1]
    if not (groups > 1 and groups == c and x.ndim in (3, 4)):
        return False
    if x.dtype not in (np.float32, np.float64):
        return False
    mult = w.shape[0] // c
    most = MULT_MAX if all(s == 1 for s in stride) else MULT_MAX_STRIDED
    return mult == 1 or (mult <= most and c >= MULT_MIN_CHANNELS)


@dataclass(frozen=True)
class _Plan:
    """A depthwise convolution as run here: its 2-D geometry (1-D as height 1), the channel
    multiplier, whether results drop the height axis (1-D) and whether they are channels-last
    in memory (as PyTorch: channels-last 2-D input gives channels-last output)."""

    geo: ConvGeometry
    mult: int
    one_d: bool
    channels_last: bool


def _plan(x: np.ndarray, w: np.ndarray, stride, pads, dil) -> _Plan:
    one_d = x.ndim == 3
    size, k = x.shape[2:], w.shape[2:]
    if one_d:
        size, k = (1, *size), (1, *k)
        stride, pads, dil = (1, *stride), ((0, 0), *pads), (1, *dil)
    c = x.shape[1]
    geo = ConvGeometry.of_conv(size, k, stride, pads, dil, c, c)
    xl = np.moveaxis(x, 1, -1)
    cl = not one_d and xl.flags.c_contiguous and not x.flags.c_contiguous
    return _Plan(geo, w.shape[0] // c, one_d, cl)


def _as_2d(a: np.ndarray, plan: _Plan) -> np.ndarray:
    """``(N, C, L)`` as ``(N, C, 1, L)`` for a 1-D convolution (a view)."""
    return a[:, :, None] if plan.one_d else a


def _result(cl: np.ndarray, plan: _Plan) -> np.ndarray:
    """A channels-last ``(N, H, W, C)`` buffer as the ``(N, C, H, W)`` (or ``(N, C, L)``) result,
    copied to NCHW memory unless the plan's results are channels-last."""
    n, h, w, c = cl.shape
    if h * w == 1 and plan.mult == 1:  # (both layouts: PyTorch's depthwise kernel gives NCHW)
        out = cl.reshape(n, c, h, w)
        return out[:, :, 0] if plan.one_d else out
    if plan.channels_last:
        return np.moveaxis(cl, -1, 1)
    out = np.empty((n, c, h, w), cl.dtype)
    copy_into(np.moveaxis(out, 1, -1), cl, 0)
    return out[:, :, 0] if plan.one_d else out


def _channels_last(a: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` as a C-contiguous ``(N, H, W, C)`` array (a view when it is one)."""
    al = np.moveaxis(a, 1, -1)
    if al.flags.c_contiguous:
        return al
    out = scratch.get(al.shape, a.dtype)
    copy_into(out, al, 0)
    return out


def _tap_weights(w: np.ndarray, k: tuple) -> np.ndarray:
    """``(C', 1, *k)`` weights as per-tap channel vectors ``(KH, KW, C')``."""
    return np.ascontiguousarray(w.reshape(w.shape[0], *k).transpose(1, 2, 0))


def _blocks(lo: int, hi: int, out: np.ndarray):
    """``(a, z, r0, r1)``: blocks of images ``a:z`` and output rows ``r0:r1`` of
    ``out (N, OH, ...)`` covering images ``lo:hi``, about ``BLOCK_BYTES`` of output each:
    several whole images, or rows of one image when an image is bigger (a 56x56x144 float32
    image is 1.8 MB)."""
    per_row = out.shape[2] * out.shape[3] * out.itemsize
    rows = max(1, BLOCK_BYTES // max(per_row, 1))
    oh = out.shape[1]
    if rows >= oh:
        nb = max(1, rows // oh)
        for a in range(lo, hi, nb):
            yield a, min(a + nb, hi), 0, oh
        return
    for a in range(lo, hi):
        for r0 in range(0, oh, rows):
            yield a, a + 1, r0, min(r0 + rows, oh)


def _embedding(src: np.ndarray, shape: tuple, first: tuple) -> tuple:
    """A pooled channels-last ``shape`` buffer and ``fill(a, z)``, which makes its images
    ``a:z`` hold ``src (N, h, w, C)``'s with their first element at spatial ``first``
    (negative: ``src`` cropped; what falls outside is dropped), zeros elsewhere. Only the
    border is zeroed (one thread: (32, 32, 32, 64) float32 padded
    in 0.66 ms against 0.94 ms for ``pad_channels_last``, which zeroes all of it first;
    (16, 56, 56, 144) 2.2 against 3.2 ms)."""
    dst, cut = [], []
    for f, m, extent in zip(first, src.shape[1:3], shape[1:3]):
        d0, d1 = max(f, 0), max(max(f, 0), min(f + m, extent))
        dst.append((d0, d1))
        cut.append(slice(d0 - f, d1 - f))
    (h0, h1), (w0, w1) = dst
    buf = scratch.get(shape, src.dtype)

    def fill(a: int, z: int) -> None:
        b = buf[a:z]
        b[:, :h0] = 0
        b[:, h1:] = 0
        b[:, h0:h1, :w0] = 0
        b[:, h0:h1, w1:] = 0
        b[:, h0:h1, w0:w1] = src[a:z, cut[0], cut[1]]

    return buf, fill


# ---- forward ---------------------------------------------------------------------------------


def depthwise_forward(ctx, x, w, b, stride, pads, dil) -> np.ndarray:
    """The convolution's output; saves what ``depthwise_backward`` needs on ``ctx``."""
    plan = _plan(x, w, stride, pads, dil)
    geo = plan.geo
    xl = np.moveaxis(_as_2d(x, plan), 1, -1)
    if plan.mult > 1:  # each input channel once per output channel it feeds
        xl = np.repeat(xl, plan.mult, axis=-1)
    fill = None
    if geo.has_padding:
        x_pad, fill = _embedding(xl, (xl.shape[0], *geo.padded, xl.shape[-1]), geo.lo)
    else:
        x_pad = xl if xl.flags.c_contiguous else _channels_last(np.moveaxis(xl, -1, 1))
    wk = _tap_weights(w, geo.k)
    out = scratch.get((x.shape[0], *geo.out, w.shape[0]), x.dtype)
    _correlate(x_pad, wk, geo.stride, geo.dilation, out, b, prepare=fill)
    ctx.dw = plan
    if ctx.needs_input_grad:
        ctx.save_for_backward(x, w, x_pad if ctx.needs_input_grad[1] else None, None)
    return _result(out, plan)


def _correlate(
    src: np.ndarray,
    wk: np.ndarray,
    stride: tuple,
    dil: tuple,
    out: np.ndarray,
    b: np.ndarray | None = None,
    first: tuple = (0, 0),
    prepare: Callable[[int, int], None] | None = None,
) -> None:
    """``out[n, oh, ow, c] = sum_{i,j} src[n, f0 + oh*sh + i*dh, f1 + ow*sw + j*dw, c] *
    wk[i, j, c]`` (``+ b[c]``) for a C-contiguous channels-last ``src`` and a channels-last
    ``out`` (contiguous, or a strided sub-grid: then the inner loops run over channels), per
    block, the images cut across cores. ``prepare(a, z)``, if given, fills images ``a:z`` of
    ``src`` just before their first block: the padded copy is read back from cache, and one
    hand-off to the pool (75-85 us on this VM, docs/performance.md) serves both passes. One
    thread, load 3, fwd+bwd: within noise of filling first ((32, 64, 32, 32) 13.1-13.6 ms vs
    13.3-13.7, (16, 384, 14, 14) 7.8-9.7 vs 9.4-9.9)."""
    n, oh, ow, c = out.shape
    kh, kw = wk.shape[:2]
    sn, sh, sw, sc = src.strides
    # (ow, c) one contiguous run of the input and of the output: tile the weights along it
    merged = stride[1] == 1 and out.strides[2:] == (c * sc, sc)
    if merged:
        wt = np.tile(wk, (1, 1, ow))
        bt = None if b is None else np.tile(b, ow)
        wshape = (oh, ow * c)
        wstrides = (dil[0] * sh, dil[1] * sw, sn, stride[0] * sh, sc)
        spec = "ijnhr,ijr->nhr"
    else:
        wt, bt = wk, b
        wshape = (oh, ow, c)
        wstrides = (dil[0] * sh, dil[1] * sw, sn, stride[0] * sh, stride[1] * sw, sc)
        spec = "ijnhwc,ijc->nhwc"

    def run(lo: int, hi: int) -> None:
        for a, z, r0, r1 in _blocks(lo, hi, out):
            if prepare is not None and r0 == 0:
                prepare(a, z)
            shape = (kh, kw, z - a, r1 - r0, *wshape[1:])
            at = a * sn + (first[0] + r0 * stride[0]) * sh + first[1] * sw
            win = np.ndarray(shape, src.dtype, src, at, wstrides)
            dst = out[a:z, r0:r1]
            dst = dst.reshape(shape[2:]) if merged else dst
            np.einsum(spec, win, wt, out=dst)
            if bt is not None:
                dst += bt

    parallel_for(run, n, out.size * kh * kw, whole=True)


# ---- backward --------------------------------------------------------------------------------


def depthwise_backward(ctx, g: np.ndarray) -> tuple:
    """``(gx, gw, gb)`` (``None`` where not needed) from the output gradient ``g``."""
    x, w, x_pad = ctx.saved_tensors[:3]
    plan, nig = ctx.dw, ctx.needs_input_grad
    geo = plan.geo
    gl = _channels_last(_as_2d(g, plan))  # (N, OH, OW, C')
    gx = gw = gb = None
    if nig[0]:
        gx = _input_grad(gl, w, plan)
    if nig[1]:
        gw = _weight_grad(x_pad, gl, geo).transpose(2, 0, 1).reshape(w.shape)
    if nig[2]:
        rows = gl.reshape(-1, gl.shape[-1])
        gb = ones_vector(rows.shape[0], rows.dtype) @ rows
    return gx, gw, gb


def _input_grad(gl: np.ndarray, w: np.ndarray, plan: _Plan) -> np.ndarray:
    """The input gradient in the input's layout (see ``_result``)."""
    geo = plan.geo
    n, c2 = gl.shape[0], gl.shape[-1]
    gxl = scratch.get((n, *geo.size, c2), gl.dtype)
    _polyphase_input_grad(gl, _tap_weights(w, geo.k), geo, gxl)
    if plan.mult > 1:  # the repeated input's gradient summed over each channel's copies
        gxl = gxl.reshape(*gxl.shape[:-1], -1, plan.mult).sum(-1)
    return _result(gxl, plan)


def _phases(k: int, s: int, d: int, lo: int, size: int, out: int) -> tuple:
    """Along one dimension, the input positions ``y = q*s + p`` of each phase ``p`` get
    ``gx[y] = sum_i g[q - e_i] * w[i]`` over the taps ``i`` with ``i*d - lo = e_i*s + p``:
    a stride-1 correlation of ``g`` with those taps (``e_i`` step ``t``). Returns
    ``[(p, taps, e_max, t)]`` and the padded ``g``'s low pad and length."""
    phases = []
    for p in range(min(s, size)):
        taps = [i for i in range(k) if (i * d - lo - p) % s == 0]
        e = [(i * d - lo - p) // s for i in taps]
        t = e[1] - e[0] if len(e) > 1 else 1
        phases.append((p, taps, e[-1] if e else 0, t))
    pad = max(e_max for _, taps, e_max, _ in phases if taps) if any(ph[1] for ph in phases) else 0
    length = pad + out
    for p, taps, e_max, t in phases:
        if taps:  # the last g index a window of this phase reads, +1
            q = len(range(p, size, s))
            length = max(length, q - 1 + (len(taps) - 1) * t + pad - e_max + 1)
    return phases, pad, length


def _polyphase_input_grad(gl: np.ndarray, wk: np.ndarray, geo: ConvGeometry, gxl: np.ndarray):
    """``gx``, one phase of the stride at a time: each phase's sub-grid ``gx[:, ph::sh,
    pw::sw]`` is the stride-1 correlation of the zero-padded ``g`` with that phase's taps,
    flipped (stride 1: one phase, all taps). Every tap costs one fused multiply-add pass, where
    adding ``g * w_tap`` onto the strided input positions per tap cost two with ``C``-float
    inner loops: (16, 144, 56, 56) stride 2, one thread, 17 -> 11.3 ms."""
    args = zip(geo.k, geo.stride, geo.dilation, geo.lo, geo.size, geo.out)
    (ph_h, pad_h, len_h), (ph_w, pad_w, len_w) = (_phases(*a) for a in args)
    g_pad, fill = _embedding(gl, (gl.shape[0], len_h, len_w, gl.shape[-1]), (pad_h, pad_w))
    for p, taps_h, e_h, t_h in ph_h:
        for q, taps_w, e_w, t_w in ph_w:
            sub = gxl[:, p :: geo.stride[0], q :: geo.stride[1]]
            if not taps_h or not taps_w:  # no tap reaches these positions
                sub.fill(0)
                continue
            wsub = np.ascontiguousarray(wk[np.ix_(taps_h[::-1], taps_w[::-1])])
            first = (pad_h - e_h, pad_w - e_w)
            _correlate(g_pad, wsub, (1, 1), (t_h, t_w), sub, first=first, prepare=fill)
            fill = None  # (filled by the first phase's pass)


def _weight_grad(x_pad: np.ndarray, gl: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``(KH, KW, C')``: per tap, ``sum over (n, oh, ow)`` of the tap's input window times ``g``,
    one einsum per kernel row of taps and block. Per-core partial sums over ``blocks`` of
    images, added in order (the same bits however the chunks run). One thread, float32, one
    tap a call vs a kernel row a call: (32, 64, 32, 32) 3.2 vs 2.7 ms, (16, 144, 56, 56) 16.9
    vs 14.6, its stride 2 4.3 vs 4.1, 5x5 on (16, 240, 28, 28) 18.5 vs 15.5 (all nine taps in
    one call: 5.3 ms on the first)."""
    n, oh, ow, c = gl.shape
    kh, kw = geo.k
    sn, sh, sw, sc = x_pad.strides
    (st_h, st_w), (dh, dw) = geo.stride, geo.dilation
    merged = st_w == 1
    if merged:
        wshape, wstrides = (oh, ow * c), (dh * sh, dw * sw, sn, st_h * sh, sc)
        gv, spec = gl.reshape(n, oh, ow * c), "jnhr,nhr->jr"
    else:
        wshape, wstrides = (oh, ow, c), (dh * sh, dw * sw, sn, st_h * sh, st_w * sw, sc)
        gv, spec = gl, "jnhwc,nhwc->jc"
    run_len = wshape[-1] if merged else c
    work = gl.size * kh * kw
    parts: dict = {}

    def run(lo: int, hi: int) -> None:
        acc = np.zeros((kh, kw, run_len), gl.dtype)
        part = np.empty_like(acc)
        for a, z, r0, r1 in _blocks(lo, hi, gl):
            shape = (kh, kw, z - a, r1 - r0, *wshape[1:])
            win = strided_view(x_pad[a:z, r0 * st_h :], shape, wstrides)
            for i in range(kh):  # (a kernel row of taps a call, see the docstring)
                np.einsum(spec, win[i], gv[a:z, r0:r1], out=part[i])
            acc += part
        parts[lo] = acc

    parallel_for(run, n, work)
    acc = None
    for lo, _ in blocks(n, work):
        acc = parts[lo] if acc is None else acc + parts[lo]
    return acc.reshape(kh, kw, -1, c).sum(2) if merged else acc
