"""Self-attention as one node: in-projection, attention and out-projection run per core over
the batch's halves, forward and backward.

``nn.MultiheadAttention(...)(x, x, x, need_weights=False)`` (masks without gradients, dropout)
otherwise runs as a chain of nodes (in-projection, split heads, attention, out-projection)
each cut into per-core chunks on its own: six pool hand-offs a training step, and a pool
hand-off costs ~90 us of wall time on this VM (measured: an empty two-chunk ``parallel_for``,
Firecracker, 2 vCPUs), with the bias adds, the batch-first transposes and their copies left
between them on one core. Every step of the block only mixes rows of one batch element, so here
each core runs the whole chain on its share of the batch: one hand-off forward, one backward
(where each core also sums its share of the weight gradients; the two partial sums are added at
the end, in a fixed order). The q rows of the in-projection are scaled by ``1 / sqrt(head_dim)``
inside the GEMM (its weight and bias scaled once per call: 3E x E / 3 elements).
A sequence-first ``(L, N, E)`` input is copied chunk by chunk into batch-major rows (each
core its share); the result is the ``(L, N, E)`` view of batch-major rows.

Twice differentiable: under create_graph the backward recomputes the block on the graph.
"""

from __future__ import annotations

import math

import numpy as np

from .._runtime import blas_control, single_threaded_blas
from . import _parallel as P
from ._util import Primitive, carrying, on_graph, ones_vector
from .attention import _finite_range, _normalize, _part, _shift, _subtract_row_max
from .softmax import Softmax

__all__ = ["SelfAttentionBlock"]


def _work(n_b: int, n_l: int, e: int, heads: int) -> int:
    """Multiply-adds of the forward when they are worth splitting over cores (else 0: one
    call; also without control over BLAS's threads, which would oversubscribe the chunks)."""
    macs = n_b * n_l * e * 4 * e + 2 * n_b * n_l * n_l * e
    if macs < P.MIN_GEMM or blas_control() is None:
        return 0
    return macs


def _heads(a: np.ndarray, parts: int, heads: int) -> np.ndarray:
    """``(N, L, parts * E)`` rows seen as ``(parts, N, heads, L, E / heads)`` (a view)."""
    n_b, n_l, width = a.shape
    d = width // (parts * heads)
    return a.reshape(n_b, n_l, parts, heads, d).transpose(2, 0, 3, 1, 4)


def _batch_major(a: np.ndarray, seq_first: bool) -> tuple:
    """``(a as (N, L, E), whether its chunks need a contiguous copy)``."""
    ab = a.transpose(1, 0, 2) if seq_first else a
    return ab, not ab.flags.c_contiguous


def _rows_of(ab: np.ndarray, copy: bool, buf: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Batch elements ``lo:hi`` of ``ab`` as ``(rows, E)`` (copied into ``buf`` if strided)."""
    if copy:
        buf[lo:hi] = ab[lo:hi]
        ab = buf
    return ab[lo:hi].reshape(-1, ab.shape[-1])


def _forward(ctx, x, w_in, b_in, w_out, b_out, heads: int, seq_first: bool, mask, keep):
    xb, copy_x = _batch_major(x, seq_first)
    n_b, n_l, e = xb.shape
    dt = x.dtype
    scale = np.asarray(1.0 / math.sqrt(e // heads), dt)
    xc = np.empty(xb.shape, dt) if copy_x else xb  # (filled chunk by chunk)
    w_s = w_in.copy()  # q's rows scaled: the scores (q * scale) @ k.T need no extra pass
    w_s[:e] *= scale
    b_s = None
    if b_in is not None:
        b_s = b_in.copy()
        b_s[:e] *= scale
    qkv = np.empty((n_b, n_l, 3 * e), dt)
    qs, k, v = _heads(qkv, 3, heads)
    p = np.empty((n_b, heads, n_l, n_l), dt)
    att = np.empty((n_b, n_l, e), dt)  # the heads' outputs, (N, L, heads, dim) in memory
    o = _heads(att, 1, heads)[0]
    out = np.empty((n_b, n_l, e), dt)
    ones = np.ones((n_l, 1), dt)
    bounds = _finite_range(mask)
    pd = p if keep is None else np.empty_like(p)  # the probabilities after dropout

    def rows(lo: int, hi: int) -> None:
        qr = qkv[lo:hi].reshape(-1, 3 * e)
        np.matmul(_rows_of(xb, copy_x, xc, lo, hi), w_s.T, out=qr)
        if b_s is not None:
            qr += b_s
        pc = p[lo:hi]
        np.matmul(qs[lo:hi], np.swapaxes(k[lo:hi], -1, -2), out=pc)
        shift = _shift(pc, bounds)
        if mask is not None:
            pc += _part(mask, lo, hi, 4, n_b)
        if shift is None:
            _subtract_row_max(pc, True)
        elif shift:
            pc -= np.asarray(shift, dt)
        np.exp(pc, out=pc)
        _normalize(pc, ones, True)  # (rows with no key left give zeros, as PyTorch here)
        if keep is not None:
            np.multiply(pc, keep[lo:hi], out=pd[lo:hi])
        np.matmul(pd[lo:hi], v[lo:hi], out=o[lo:hi])
        orow = out[lo:hi].reshape(-1, e)
        np.matmul(att[lo:hi].reshape(-1, e), w_out.T, out=orow)
        if b_out is not None:
            orow += b_out

    with single_threaded_blas():
        P.parallel_for(rows, n_b, _work(n_b, n_l, e, heads))
    ctx.save_for_backward(x, w_in, b_in, w_out, b_out)
    ctx.meta = (xc, qkv, p, att, heads, seq_first, mask, keep, pd)
    return out.transpose(1, 0, 2) if seq_first else out


def _backward(ctx, g):
    if on_graph(g):
        return _backward_on_graph(ctx, g)
    x, w_in, b_in, w_out, b_out = ctx.saved_tensors
    xc, qkv, p, att, heads, seq_first, _, keep, pd = ctx.meta
    nig = ctx.needs_input_grad
    n_b, n_l, e = xc.shape
    dt = p.dtype
    scale = np.asarray(1.0 / math.sqrt(e // heads), dt)
    gb, copy_g = _batch_major(g, seq_first)
    gc = np.empty(gb.shape, dt) if copy_g else gb
    qs, k, v = _heads(qkv, 3, heads)
    o = _heads(att, 1, heads)[0]
    g_att = np.empty((n_b, n_l, e), dt)
    go = _heads(g_att, 1, heads)[0]
    gqkv = np.empty((n_b, n_l, 3 * e), dt)
    dq, dk, dv = _heads(gqkv, 3, heads)
    ds = np.empty_like(p)
    gx = np.empty((n_b, n_l, e), dt) if nig[0] else None
    parts: dict = {}

    def rows(lo: int, hi: int) -> None:
        g2 = _rows_of(gb, copy_g, gc, lo, hi)
        ones = ones_vector(g2.shape[0], dt)
        np.matmul(g2, w_out, out=g_att[lo:hi].reshape(-1, e))
        gwo = g2.T @ att[lo:hi].reshape(-1, e) if nig[3] else None
        gbo = ones @ g2 if nig[4] else None
        # The attention's backward: ds = p * (dP - rowsum(dP * p)) with dP = (g_o @ v.T) *
        # keep, where rowsum(dP * p) = rowsum(g_o * o) (o = (p * keep) @ v), a pass over the
        # small (L, dim) arrays.
        gc_, pc, dsc = go[lo:hi], p[lo:hi], ds[lo:hi]
        np.matmul(gc_, np.swapaxes(v[lo:hi], -1, -2), out=dsc)
        np.matmul(np.swapaxes(pd[lo:hi], -1, -2), gc_, out=dv[lo:hi])
        if keep is not None:
            dsc *= keep[lo:hi]
        dsc -= np.einsum("...i,...i->...", gc_, o[lo:hi])[..., None]
        dsc *= pc
        np.matmul(dsc, k[lo:hi], out=dq[lo:hi])
        dq[lo:hi] *= scale  # (the gradient of the unscaled q rows)
        np.matmul(np.swapaxes(dsc, -1, -2), qs[lo:hi], out=dk[lo:hi])
        gq2 = gqkv[lo:hi].reshape(-1, 3 * e)
        if gx is not None:
            np.matmul(gq2, w_in, out=gx[lo:hi].reshape(-1, e))
        gwi = gq2.T @ xc[lo:hi].reshape(-1, e) if nig[1] else None
        gbi = ones @ gq2 if nig[2] else None
        parts[lo] = (gwi, gbi, gwo, gbo)

    with single_threaded_blas():
        P.parallel_for(rows, n_b, _work(n_b, n_l, e, heads))
    sums = _add_parts([parts[lo] for lo in sorted(parts)])
    if gx is not None and seq_first:
        gx = gx.transpose(1, 0, 2)
    return gx, *sums, None, None, None, None


def _add_parts(parts: list) -> list:
    """The per-chunk weight and bias gradients summed, in chunk order (deterministic)."""
    first = list(parts[0])
    for rest in parts[1:]:
        for i, r in enumerate(rest):
            if r is not None:
                first[i] += r
    return first


def _backward_on_graph(ctx, g):
    """create_graph: the block recomputed on the graph of its inputs, then the same formulas;
    the probabilities carry the forward's values (``carrying``)."""
    x, w_in, b_in, w_out, b_out = ctx.saved_tensors
    _, _, p_val, _, heads, seq_first, mask, keep, _ = ctx.meta
    nig = ctx.needs_input_grad
    if seq_first:
        x, g = x.transpose(1, 0, 2), g.transpose(1, 0, 2)
    n_b, n_l, e = x.shape
    scale = 1.0 / math.sqrt(e // heads)
    qkv = x @ w_in.T
    if b_in is not None:
        qkv = qkv + b_in
    h = qkv.reshape(n_b, n_l, 3, heads, e // heads).transpose(2, 0, 3, 1, 4)
    q, k, v = h[0], h[1], h[2]
    s = q @ np.swapaxes(k, -1, -2) * scale
    if mask is not None:
        s = s + mask
    dead = np.isneginf(s.t._data.max(axis=-1, keepdims=True)) if mask is not None else None
    if dead is not None and dead.any():  # rows with no key left: constant zeros, as forward
        s = np.where(dead, 0.0, s)
    pg = s.apply(Softmax, s.ndim - 1)
    if dead is not None and dead.any():
        pg = np.where(dead, 0.0, pg)
    p = carrying(p_val, pg)
    p_d = p if keep is None else p * keep
    att = (p_d @ v).transpose(0, 2, 1, 3).reshape(n_b * n_l, e)
    g2 = g.reshape(n_b * n_l, e)
    gwo = g2.T @ att if nig[3] else None
    gbo = g2.sum(axis=0) if nig[4] else None
    go = (g2 @ w_out).reshape(n_b, n_l, heads, e // heads).transpose(0, 2, 1, 3)
    dp = go @ np.swapaxes(v, -1, -2)
    if keep is not None:
        dp = dp * keep
    dv = np.swapaxes(p_d, -1, -2) @ go
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale
    dq, dk = ds @ k, np.swapaxes(ds, -1, -2) @ q
    gqkv = np.concatenate(
        [t.transpose(0, 2, 1, 3).reshape(n_b * n_l, e) for t in (dq, dk, dv)], axis=-1
    )
    gx = (gqkv @ w_in).reshape(n_b, n_l, e) if nig[0] else None
    if gx is not None and seq_first:
        gx = gx.transpose(1, 0, 2)
    gwi = gqkv.T @ x.reshape(n_b * n_l, e) if nig[1] else None
    gbi = gqkv.sum(axis=0) if nig[2] else None
    return gx, gwi, gbi, gwo, gbo, None, None, None, None


class SelfAttentionBlock(Primitive):
    """``forward(x, w_in, b_in | None, w_out, b_out | None, heads, seq_first, mask | None,
    keep | None) -> out``: multi-head self-attention of ``x`` ``(N, L, E)`` (``(L, N, E)`` when
    ``seq_first``, the result too), as ``nn.MultiheadAttention(E, heads, batch_first=not
    seq_first)(x, x, x, need_weights=False)[0]``. ``mask``: an additive array (``-inf`` to
    exclude; no gradient) broadcastable to the scores ``(N, heads, L, L)`` with a first axis of
    N or 1; ``keep``: the dropout multiplier (0 or ``1 / (1 - p)``) of the scores' shape."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, w_in, b_in, w_out, b_out, heads, seq_first, mask, keep):
        return _forward(ctx, x, w_in, b_in, w_out, b_out, heads, seq_first, mask, keep)

    @staticmethod
    def backward(ctx, g):
        return _backward(ctx, g)
