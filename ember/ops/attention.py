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

import numpy as np

from .._scratch import scratch
from ._util import Primitive, carrying, on_graph, unbroadcast
from .softmax import Softmax

__all__ = ["Attention", "AttentionWithWeights", "SplitHeads"]


def _scores_shape(q: np.ndarray, k: np.ndarray) -> tuple:
    return (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])


def _forward(ctx, q, k, v, mask, scale, keep, safe):
    # The scale goes on q (L x E) rather than on the scores (L x S, usually the bigger array);
    # the scaled copy is also contiguous, which BLAS prefers when q is a strided view.
    qs = np.multiply(q, np.asarray(scale, q.dtype))
    # The (..., L, S) score matrix and its gradient are the big per-step arrays: they come from
    # the scratch pool (no fresh pages to fault in every step).
    s = np.matmul(qs, np.swapaxes(k, -1, -2), out=scratch.get(_scores_shape(q, k), q.dtype))
    if mask is not None:
        if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
            s += mask
        else:
            s = s + mask
    m = s.max(axis=-1, keepdims=True)
    if safe:
        m[np.isneginf(m)] = 0
    p = s
    with np.errstate(invalid="ignore"):  # all -inf rows give NaN on purpose (PyTorch's softmax)
        p -= m
    np.exp(p, out=p)
    den = p.sum(axis=-1, keepdims=True)
    if safe:
        den[den == 0] = 1
    p *= np.reciprocal(den, out=den)
    pd = p * keep if keep is not None else p
    out = np.matmul(pd, v)
    ctx.save_for_backward(q, k, v, p, keep, mask, out)  # q, mask: for create_graph
    ctx.meta = (scale, None if mask is None else mask.shape, safe, qs)
    return out, pd


def _backward(ctx, g_out, g_w):
    if on_graph(g_out):
        return _backward_on_graph(ctx, g_out, g_w)
    _, k, v, p, keep, _, out = ctx.saved_tensors
    scale, mask_shape, _, qs = ctx.meta
    nig = ctx.needs_input_grad
    pd = p * keep if keep is not None else p
    dpd = np.matmul(g_out, np.swapaxes(v, -1, -2), out=scratch.get(p.shape, p.dtype))
    dv = unbroadcast(np.matmul(np.swapaxes(pd, -1, -2), g_out), v.shape) if nig[2] else None
    # softmax backward: ds = p * (dp - rowsum(dp * p)), dp = dpd * keep. Without a gradient on
    # the weights, rowsum(dp * p) = rowsum(dpd * pd) = rowsum(g_out * out) (out = pd @ v): a
    # pass over the small (L, Ev) arrays instead of two over the (L, S) scores.
    if g_w is None:
        rows = np.einsum("...i,...i->...", g_out, np.broadcast_to(out, g_out.shape))[..., None]
    else:
        dpd += g_w
        rows = np.multiply(dpd, pd, out=scratch.get(p.shape, p.dtype)).sum(axis=-1, keepdims=True)
    ds = dpd * keep if keep is not None else dpd
    ds -= rows
    ds *= p
    dmask = unbroadcast(ds, mask_shape) if mask_shape is not None and nig[3] else None
    if dmask is not None and np.shares_memory(dmask, ds):
        dmask = dmask.copy()  # ds's buffer goes back to the pool
    dq = None
    if nig[0]:
        dq = unbroadcast(np.matmul(ds, k), qs.shape)
        dq *= np.asarray(scale, dq.dtype)  # s = (q * scale) @ k.T
    dk = unbroadcast(np.matmul(np.swapaxes(ds, -1, -2), qs), k.shape) if nig[1] else None
    return dq, dk, dv, dmask


def _backward_on_graph(ctx, g_out, g_w):
    """create_graph: ``_backward``'s formula on GraphArrays, with the probabilities recomputed
    on the graph of q, k and the mask (rows that ``safe`` zeroed stay constant zeros)."""
    q, k, v, p, keep, mask, _ = ctx.saved_tensors
    scale, mask_shape, safe, _ = ctx.meta
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
