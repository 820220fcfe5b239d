"""Fused scaled dot-product attention: ``softmax(q @ k.T * scale + mask) @ v`` as one node.

One node instead of matmul, scale, add, softmax, dropout and matmul: the score matrix
``(..., L, S)`` is the large intermediate, and fusing keeps it (and the probabilities) as the only
saved arrays. Backward is hand-written: ``dP = g @ v.T``, the softmax backward on the rows, then
two batched GEMMs for ``dq`` and ``dk``. Batch dimensions broadcast as in ``matmul``; broadcast
gradients are summed back with ``unbroadcast``.

``safe`` gives rows whose scores are all ``-inf`` probability 0 (so output 0), as PyTorch's
``scaled_dot_product_attention`` does; without it they are NaN, as PyTorch's
``multi_head_attention_forward`` (plain softmax) gives when weights are requested.

Both primitives are twice differentiable: under create_graph, ``_backward_on_graph`` recomputes
the probabilities from the saved q, k and mask on the graph and runs the same formula.
"""

from __future__ import annotations

import math

import numpy as np

from .._scratch import scratch
from ._parallel import parallel_for
from ._util import Primitive, carrying, on_graph, unbroadcast
from .softmax import Softmax

__all__ = ["Attention", "AttentionWithWeights", "SplitHeads"]


def _batch_shape(q, k, v, mask) -> tuple:
    """The broadcast batch shape of the scores (q, k, v and the mask's leading dimensions);
    ``(1,)`` for 2-D operands (the chunked loops below cut along a batch axis)."""
    shapes = [q.shape[:-2], k.shape[:-2], v.shape[:-2]]
    if mask is not None:
        shapes.append(mask.shape[:-2])
    return np.broadcast_shapes(*shapes) or (1,)


def _part(a, lo: int, hi: int, nd: int, n0: int):
    """``a``'s rows ``lo:hi`` of the scores' first batch axis (``a`` whole where it broadcasts
    along that axis). ``nd``: the scores' rank; ``n0``: that axis's length."""
    if a is None or a.ndim < nd or a.shape[0] != n0:
        return a
    return a[lo:hi]


def _empty_as(like, shape: tuple, dtype):
    """An empty array of ``shape`` whose leading axes are laid out in ``like``'s memory order (the
    last axis innermost); C order when ``like`` has another rank. Multi-head attention's q, k and
    v are views of the packed projections, ``(L, N, heads, E)`` in memory: its output and
    gradients laid out so are views of ``(L * N, E)`` rows for the projections' GEMMs, where C
    order would cost a transposing copy each way."""
    nd = len(shape)
    if like.ndim != nd or nd < 3:
        return np.empty(shape, dtype)
    perm = sorted(range(nd - 1), key=lambda i: -abs(like.strides[i])) + [nd - 1]
    return np.empty(tuple(shape[i] for i in perm), dtype).transpose(np.argsort(perm))


def _packed(q, k, v):
    """The shape ``(L, N, 3, heads, E / heads)`` of the packed projections q, k and v are views of
    (``SplitHeads`` of one self-attention projection), or None: their gradients can then be
    written into one array of that shape, which ``SplitHeads`` passes on without a copy."""
    if q.ndim != 4 or not (q.shape == k.shape == v.shape and q.strides == k.strides == v.strides):
        return None
    n_b, heads, n_l, dim = q.shape
    sz = q.itemsize
    e = heads * dim * sz
    if q.dtype != k.dtype or q.dtype != v.dtype or q.strides != (3 * e, dim * sz, n_b * 3 * e, sz):
        return None
    at = q.__array_interface__["data"][0]
    if k.__array_interface__["data"][0] != at + e or v.__array_interface__["data"][0] != at + 2 * e:
        return None
    return (n_l, n_b, 3, heads, dim)


# The softmax's shift. Subtracting each row's maximum (as PyTorch) costs a row-wise max over the
# (..., L, S) scores, which NumPy runs one short row at a time: 730 us for MHA(128, 8) b16 L64's
# (16, 8, 64, 64) scores on one core, against 35 us for the maximum of the whole array (thread
# CPU time, Sapphire Rapids). Any shift gives the same softmax as long as exp neither overflows
# nor falls into the subnormal range (below e^-87 in float32: there NumPy's exp ran 13x and
# OpenBLAS's GEMMs 120x slower, measured). So when the scores span at most SPAN, one shift for
# the whole chunk (its maximum) keeps every exp in [e^-SPAN, 1]; scores already within
# [-SPAN, HIGH] need no shift at all (exp at most e^HIGH: row sums of up to 10^21 terms stay
# finite in float32). Otherwise (a wide range, inf or NaN): the row-wise maximum.
SPAN = 80.0
HIGH = 40.0


def _finite_range(mask) -> tuple | None:
    """(lowest, highest) finite value of an additive mask ((0, 0) for none; ``-inf`` entries
    only remove keys), or None when it holds NaN or ``+inf`` (the row-wise shift then)."""
    if mask is None:
        return (0.0, 0.0)
    m = np.asarray(mask)
    if m.size == 0:
        return (0.0, 0.0)
    lo, hi = float(m.min()), float(m.max())
    if math.isfinite(lo) and math.isfinite(hi):  # (two fast passes; the rest only with infs)
        return (lo, hi)
    finite = np.isfinite(m)
    if not finite.all() and (np.isnan(m).any() or np.isposinf(m).any()):
        return None
    if not finite.any():
        return (0.0, 0.0)
    return (float(m.min(where=finite, initial=np.inf)), float(m.max(where=finite, initial=-np.inf)))


def _shift(s: np.ndarray, bounds: tuple | None) -> float | None:
    """One shift for the scores ``s`` (before the mask, whose finite values lie in ``bounds``):
    0.0 when none is needed, None when each row needs its own maximum (see SPAN)."""
    if bounds is None or s.size == 0:
        return None
    lo, hi = float(s.min()) + bounds[0], float(s.max()) + bounds[1]
    if not hi - lo <= SPAN:  # also NaN, inf
        return None
    return 0.0 if lo >= -SPAN and hi <= HIGH else hi


def _subtract_row_max(s: np.ndarray, safe: bool) -> None:
    """``s -= rowmax(s)`` (rows of only ``-inf`` shift by 0 when ``safe``: probability 0)."""
    m = s.max(axis=-1, keepdims=True)
    if safe:
        m[np.isneginf(m)] = 0
    with np.errstate(invalid="ignore"):  # all -inf rows give NaN on purpose, as PyTorch
        s -= m


def _normalize(e: np.ndarray, ones: np.ndarray, safe: bool) -> None:
    """``e /= rowsum(e)`` in place; ``safe``: rows summing to 0 stay 0 (else NaN, as PyTorch).
    The row sums as ``e @ ones``: NumPy's ``sum(axis=-1)`` walks the short rows one by one
    (190 us on the (16, 8, 64, 64) scores above), the batched GEMV takes 45 us."""
    den = np.matmul(e, ones)
    if safe:
        den[den == 0] = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        e *= np.reciprocal(den, out=den)


def _forward(ctx, q, k, v, mask, scale, keep, safe):
    batch = _batch_shape(q, k, v, mask)
    shape = (*batch, q.shape[-2], k.shape[-2])
    nd, n0 = len(shape), shape[0]
    # The scale goes on q (L x E) rather than on the scores (L x S, usually the bigger array);
    # the scaled copy is also dense, which BLAS prefers when q is a strided view. It is made
    # chunk by chunk below when q has the scores' first batch axis.
    sc = np.asarray(scale, q.dtype)
    split_q = q.ndim == nd and q.shape[0] == n0
    qs = np.empty_like(q) if split_q else np.multiply(q, sc)
    qb = np.broadcast_to(qs, (*batch, *qs.shape[-2:]))
    # The (..., L, S) score matrix and its gradient are the big per-step arrays: they come from
    # the scratch pool (no fresh pages to fault in every step).
    p = scratch.get(shape, q.dtype)
    out = _empty_as(q, (*batch, q.shape[-2], v.shape[-1]), q.dtype)
    pd = p if keep is None else np.empty(shape, q.dtype)
    kp = None if keep is None else np.broadcast_to(keep, shape)
    # The backward's row sums read the output: a private copy (small: L x Ev), as the caller may
    # write into the result in place (PyTorch allows that here, so no version check may object).
    own = np.empty_like(out) if any(ctx.needs_input_grad) else None

    ones = np.ones((shape[-1], 1), q.dtype)  # row sums as a GEMV (see _normalize)
    bounds = _finite_range(mask)

    def rows(lo: int, hi: int) -> None:  # softmax(q k^T * scale + mask) @ v over rows lo:hi
        pc = p[lo:hi]
        if split_q:
            np.multiply(q[lo:hi], sc, out=qs[lo:hi])
        np.matmul(qb[lo:hi], np.swapaxes(_part(k, lo, hi, nd, n0), -1, -2), out=pc)
        shift = _shift(pc, bounds)
        if mask is not None:
            pc += _part(mask, lo, hi, nd, n0)
        if shift is None:
            _subtract_row_max(pc, safe)
        elif shift:
            pc -= np.asarray(shift, pc.dtype)
        np.exp(pc, out=pc)
        _normalize(pc, ones, safe)
        if kp is not None:
            np.multiply(pc, kp[lo:hi], out=pd[lo:hi])
        np.matmul(pd[lo:hi], _part(v, lo, hi, nd, n0), out=out[lo:hi])
        if own is not None:
            own[lo:hi] = out[lo:hi]

    parallel_for(rows, n0, math.prod(shape))  # per-core chunks when big (GIL released)
    if q.ndim == k.ndim == v.ndim == 2 and (mask is None or mask.ndim <= 2):
        p, pd, out = p[0], pd[0], out[0]  # 2-D operands: the batch axis of one was ours
        own = None if own is None else own[0]
    ctx.save_for_backward(q, k, v, p, keep, mask)  # q, mask: for create_graph
    ctx.meta = (scale, None if mask is None else mask.shape, safe, qs, own)
    return out, pd


def _backward(ctx, g_out, g_w):
    if on_graph(g_out):
        return _backward_on_graph(ctx, g_out, g_w)
    q, k, v, p, keep, _ = ctx.saved_tensors
    scale, mask_shape, _, qs, out = ctx.meta
    nig = ctx.needs_input_grad
    if p.ndim == 2:  # 2-D operands: a batch axis of one, as the forward
        p, out, g_out = p[None], out[None], g_out[None]
        g_w = None if g_w is None else g_w[None]
    shape = p.shape
    batch, nd, n0 = shape[:-2], len(shape), shape[0]
    qb = np.broadcast_to(qs, (*batch, *qs.shape[-2:]))
    kp = None if keep is None else np.broadcast_to(keep, shape)
    pd = p * kp if kp is not None else p
    ds = scratch.get(shape, p.dtype)  # dP, then the scores' gradient, in place
    dq, dk, dv = _grad_arrays(q, k, v, batch, nig, p.dtype)

    def rows(lo: int, hi: int) -> None:
        g, pdc, dsc = g_out[lo:hi], pd[lo:hi], ds[lo:hi]
        np.matmul(g, np.swapaxes(_part(v, lo, hi, nd, n0), -1, -2), out=dsc)
        if dv is not None:
            np.matmul(np.swapaxes(pdc, -1, -2), g, out=dv[lo:hi])
        # softmax backward: ds = p * (dp - rowsum(dp * p)), dp = dpd * keep. Without a gradient
        # on the weights, rowsum(dp * p) = rowsum(dpd * pd) = rowsum(g_out * out) (out = pd @ v):
        # a pass over the small (L, Ev) arrays instead of two over the (L, S) scores.
        if g_w is None:
            r = np.einsum("...i,...i->...", g, out[lo:hi])[..., None]
        else:
            dsc += _part(g_w, lo, hi, nd, n0)
            r = (dsc * pdc).sum(axis=-1, keepdims=True)
        if kp is not None:
            dsc *= kp[lo:hi]
        dsc -= r
        dsc *= p[lo:hi]
        if dq is not None:
            np.matmul(dsc, _part(k, lo, hi, nd, n0), out=dq[lo:hi])
            dq[lo:hi] *= np.asarray(scale, p.dtype)  # s = (q * scale) @ k.T
        if dk is not None:
            np.matmul(np.swapaxes(dsc, -1, -2), qb[lo:hi], out=dk[lo:hi])

    parallel_for(rows, n0, math.prod(shape))  # per-core chunks when big (GIL released)
    dmask = unbroadcast(ds, mask_shape) if mask_shape is not None and nig[3] else None
    if dmask is not None and np.shares_memory(dmask, ds):
        dmask = dmask.copy()  # ds's buffer goes back to the pool
    return (
        None if dq is None else unbroadcast(dq, qs.shape),
        None if dk is None else unbroadcast(dk, k.shape),
        None if dv is None else unbroadcast(dv, v.shape),
        dmask,
    )


def _grad_arrays(q, k, v, batch: tuple, nig, dtype) -> list:
    """Empty gradients for q, k and v (None where not needed), each laid out as its input; the
    three views of one packed array when q, k and v are views of one (see ``_packed``)."""
    packed = _packed(q, k, v) if all(nig[:3]) else None
    if packed is not None:
        g = np.empty(packed, dtype)
        return [g[:, :, i].transpose(1, 2, 0, 3) for i in range(3)]
    return [
        _empty_as(a, (*batch, *a.shape[-2:]), dtype) if wanted else None
        for a, wanted in zip((q, k, v), nig)
    ]


def _backward_on_graph(ctx, g_out, g_w):
    """create_graph: ``_backward``'s formula on GraphArrays, with the probabilities recomputed
    on the graph of q, k and the mask (rows that ``safe`` zeroed stay constant zeros)."""
    q, k, v, p, keep, mask = ctx.saved_tensors
    scale, mask_shape, safe, _, _ = ctx.meta
    nig = ctx.needs_input_grad
    s = q @ np.swapaxes(k, -1, -2) * float(scale)
    if mask is not None:
        s = s + mask
    dead = np.isneginf(s.t._data.max(axis=-1, keepdims=True)) if safe else None
    if dead is not None and dead.any():
        s = np.where(dead, 0.0, s)
    pg = s.apply(Softmax, s.ndim - 1)
    if dead is not None and dead.any():
        pg = np.where(dead, 0.0, pg)
    p = carrying(p, pg)
    pd = p * keep if keep is not None else p
    dpd = g_out @ np.swapaxes(v, -1, -2)
    if g_w is not None:
        dpd = dpd + g_w
    dv = unbroadcast(np.swapaxes(pd, -1, -2) @ g_out, v.shape) if nig[2] else None
    dp = dpd * keep if keep is not None else dpd
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dmask = unbroadcast(ds, mask_shape) if mask_shape is not None and nig[3] else None
    ds = ds * float(scale)
    dq = unbroadcast(ds @ k, q.shape) if nig[0] else None
    dk = unbroadcast(np.swapaxes(ds, -1, -2) @ q, k.shape) if nig[1] else None
    return dq, dk, dv, dmask


class Attention(Primitive):
    """``forward(q, k, v, mask | None, scale, keep | None, safe) -> out``.

    ``mask`` is additive (float, ``-inf`` to exclude); ``keep`` is the dropout multiplier
    (0 or ``1 / (1 - p)``) with the shape of the scores.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, keep, safe):
        return _forward(ctx, q, k, v, mask, scale, keep, safe)[0]

    @staticmethod
    def backward(ctx, g):
        return (*_backward(ctx, g, None), None, None, None)


class AttentionWithWeights(Primitive):
    """As :class:`Attention`, also returning the attention weights (after dropout)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, keep, safe):
        out, pd = _forward(ctx, q, k, v, mask, scale, keep, safe)
        return out, (pd.copy() if keep is None else pd)

    @staticmethod
    def backward(ctx, g_out, g_w):
        return (*_backward(ctx, g_out, g_w), None, None, None)


class SplitHeads(Primitive):
    """``forward(x, parts, heads) -> parts views (N, heads, L, E / heads)`` of projections ``x``
    ``(L, N, parts * E)`` (sequence first, as ``multi_head_attention_forward``).

    The views need no copy (batched GEMMs take their strided rows as they are); the backward
    writes each gradient once into its place of ``x``'s gradient, where slicing the projections
    apart and reshaping them into heads would zero-fill and sum ``parts`` full-size gradients.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, parts, heads):
        n_l, n_b, width = x.shape
        dim = width // (parts * heads)
        ctx.meta = (x.shape, x.dtype, parts, heads)
        y = x.reshape(n_l, n_b, parts, heads, dim).transpose(2, 1, 3, 0, 4)
        return tuple(y[i] for i in range(parts))

    @staticmethod
    def backward(ctx, *grads):
        shape, dtype, parts, heads = ctx.meta
        n_l, n_b, width = shape
        dim = width // (parts * heads)
        if any(on_graph(g) for g in grads):  # create_graph: the same layout, recorded
            pieces = [
                np.zeros((n_l, n_b, width // parts), dtype)
                if g is None
                else g.transpose(2, 0, 1, 3).reshape(n_l, n_b, width // parts)
                for g in grads
            ]
            return np.concatenate(pieces, axis=-1), None, None
        packed = _packed_base(grads, (n_l, n_b, parts, heads, dim))
        if packed is not None:  # the gradients were written into their places (Attention)
            return packed.reshape(shape), None, None
        gx = np.empty((n_l, n_b, parts, heads, dim), dtype)
        for i, g in enumerate(grads):
            gx[:, :, i] = 0 if g is None else g.transpose(2, 0, 1, 3)
        return gx.reshape(shape), None, None


def _packed_base(grads: tuple, shape: tuple):
    """The C-contiguous array of ``shape`` ``(L, N, parts, heads, dim)`` whose ``[:, :, i]`` part,
    seen as ``(N, heads, L, dim)``, is ``grads[i]`` for every i (the attention backward writes
    them so: ``_grad_arrays``), or None."""
    base = getattr(grads[0], "base", None)
    if (
        type(base) is not np.ndarray
        or base.shape != shape
        or not base.flags.c_contiguous
        or any(type(g) is not np.ndarray or g.base is not base for g in grads)
    ):
        return None
    for i, g in enumerate(grads):
        want = base[:, :, i].transpose(1, 2, 0, 3)
        if (
            g.shape != want.shape
            or g.strides != want.strides
            or g.__array_interface__["data"][0] != want.__array_interface__["data"][0]
        ):
            return None
    return base
