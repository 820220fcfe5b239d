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


def _forward(ctx, q, k, v, mask, scale, keep, safe):
    batch = _batch_shape(q, k, v, mask)
    shape = (*batch, q.shape[-2], k.shape[-2])
    # The scale goes on q (L x E) rather than on the scores (L x S, usually the bigger array);
    # the scaled copy is also contiguous, which BLAS prefers when q is a strided view.
    qs = np.multiply(q, np.asarray(scale, q.dtype))
    qb = np.broadcast_to(qs, (*batch, *qs.shape[-2:]))
    # The (..., L, S) score matrix and its gradient are the big per-step arrays: they come from
    # the scratch pool (no fresh pages to fault in every step).
    p = scratch.get(shape, q.dtype)
    out = np.empty((*batch, q.shape[-2], v.shape[-1]), q.dtype)
    pd = p if keep is None else np.empty(shape, q.dtype)
    nd, n0 = len(shape), shape[0]
    kp = None if keep is None else np.broadcast_to(keep, shape)

    def rows(lo: int, hi: int) -> None:  # softmax(q k^T * scale + mask) @ v over rows lo:hi
        pc = p[lo:hi]
        np.matmul(qb[lo:hi], np.swapaxes(_part(k, lo, hi, nd, n0), -1, -2), out=pc)
        if mask is not None:
            pc += _part(mask, lo, hi, nd, n0)
        m = pc.max(axis=-1, keepdims=True)
        if safe:
            m[np.isneginf(m)] = 0
        with np.errstate(invalid="ignore"):  # all -inf rows give NaN on purpose, as PyTorch
            pc -= m
        np.exp(pc, out=pc)
        den = pc.sum(axis=-1, keepdims=True)
        if safe:
            den[den == 0] = 1
        pc *= np.reciprocal(den, out=den)
        if kp is not None:
            np.multiply(pc, kp[lo:hi], out=pd[lo:hi])
        np.matmul(pd[lo:hi], _part(v, lo, hi, nd, n0), out=out[lo:hi])

    parallel_for(rows, n0, math.prod(shape))  # per-core chunks when big (GIL released)
    if q.ndim == k.ndim == v.ndim == 2 and (mask is None or mask.ndim <= 2):
        p, pd, out = p[0], pd[0], out[0]  # 2-D operands: the batch axis of one was ours
    ctx.save_for_backward(q, k, v, p, keep, mask)  # q, mask: for create_graph
    # The backward's row sums read the output: a private copy (small: L x Ev), as the caller may
    # write into the result in place (PyTorch allows that here, so no version check may object).
    own = out.copy() if any(ctx.needs_input_grad) else None
    ctx.meta = (scale, None if mask is None else mask.shape, safe, qs, own)
    return out, pd


def _backward(ctx, g_out, g_w):
    if on_graph(g_out):
        return _backward_on_graph(ctx, g_out, g_w)
    _, k, v, p, keep, _ = ctx.saved_tensors
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
    dq = np.empty(qb.shape, p.dtype) if nig[0] else None
    dk = np.empty((*batch, *k.shape[-2:]), p.dtype) if nig[1] else None
    dv = np.empty((*batch, *v.shape[-2:]), p.dtype) if nig[2] else None

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
        gx = np.empty((n_l, n_b, parts, heads, dim), dtype)
        for i, g in enumerate(grads):
            gx[:, :, i] = 0 if g is None else g.transpose(2, 0, 1, 3)
        return gx.reshape(shape), None, None
