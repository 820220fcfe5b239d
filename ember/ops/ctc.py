"""Connectionist temporal classification: the per-sample negative log-likelihood.

Forward is the alpha recursion of Graves et al. (2006) in log space over the "extended" label
sequence ``blank, l1, blank, l2, ..., blank``, vectorised over the batch (one NumPy step per
time step). Backward runs the beta recursion and returns PyTorch's gradient with respect to
``log_probs``: ``exp(log_probs) - exp(log(sum_s alpha*beta) + nll - log_probs)``. That is the
gradient of the loss through a log-softmax taken over the classes (what CTC inputs are), exactly
as PyTorch's kernel returns it, not the partial derivative with respect to free log-probabilities.
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive

__all__ = ["CTCLossNLL"]

_NEG_INF = -np.inf


def _extended(targets: list[np.ndarray], blank: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Extended labels ``(N, width)`` (blank padded) and where a skip from ``s - 2`` is allowed."""
    ext = np.full((len(targets), width), blank, dtype=np.int64)
    for b, t in enumerate(targets):
        ext[b, 1 : 2 * len(t) : 2] = t
    skip = np.zeros(ext.shape, dtype=bool)
    # PyTorch's rule: a jump over s - 1 whenever labels s and s - 2 differ (never between two
    # blank slots; a target that uses the blank index itself is treated as any other label).
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return ext, skip


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved ``k`` places right along the last axis (``-inf`` enters)."""
    out = np.full_like(a, _NEG_INF)
    out[:, k:] = a[:, :-k]
    return out


def _shift_left(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(a, _NEG_INF)
    out[:, :-k] = a[:, k:]
    return out


def _alphas(lp_ext: np.ndarray, skip: np.ndarray, ext_lens: np.ndarray) -> np.ndarray:
    """Forward variables ``log alpha[t, b, s]`` of every time step (past a sample's length they
    run on harmlessly: only ``alpha[input_length - 1]`` is read)."""
    steps, batch, width = lp_ext.shape
    alpha = np.full((steps, batch, width), _NEG_INF, dtype=lp_ext.dtype)
    alpha[0, :, 0] = lp_ext[0, :, 0]
    alpha[0, :, 1] = np.where(ext_lens > 1, lp_ext[0, :, 1], _NEG_INF)
    for t in range(1, steps):
        prev = alpha[t - 1]
        acc = np.logaddexp(prev, _shift(prev, 1))
        acc = np.where(skip, np.logaddexp(acc, _shift(prev, 2)), acc)
        alpha[t] = acc + lp_ext[t]
    return alpha


def _betas(
    lp_ext: np.ndarray, skip: np.ndarray, in_lens: np.ndarray, ext_lens: np.ndarray
) -> np.ndarray:
    """Backward variables ``log beta[t, b, s]``, each sample starting at its own last step."""
    steps, batch, width = lp_ext.shape
    beta = np.full((steps, batch, width), _NEG_INF, dtype=lp_ext.dtype)
    rows = np.arange(batch)
    # skip_next[s]: a path may jump from s to s + 2.
    skip_next = np.zeros_like(skip)
    skip_next[:, :-2] = skip[:, 2:]
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            nxt = beta[t + 1]
            acc = np.logaddexp(nxt, _shift_left(nxt, 1))
            acc = np.where(skip_next, np.logaddexp(acc, _shift_left(nxt, 2)), acc)
            beta[t] = acc + lp_ext[t]
        last = in_lens - 1 == t
        if last.any():
            b = rows[last]
            beta[t, b] = _NEG_INF
            e = ext_lens[b]
            beta[t, b, e - 1] = lp_ext[t, b, e - 1]
            has_two = e > 1
            beta[t, b[has_two], e[has_two] - 2] = lp_ext[t, b[has_two], e[has_two] - 2]
        beta[t, in_lens - 1 < t] = _NEG_INF
    return beta


def _torch_last_step_quirk(lcab, ab, ext, in_lens, ext_lens) -> None:
    """Match PyTorch when a target's last label is the blank index (a misuse, but accepted):
    PyTorch's kernel then keeps only the label slot's term at the last step, not the sum with
    the final blank slot's."""
    rows = np.flatnonzero((in_lens > 0) & (ext_lens > 1))
    if rows.size == 0:
        return
    e = ext_lens[rows]
    hit = ext[rows, e - 2] == ext[rows, e - 1]
    rows, e = rows[hit], e[hit]
    t = in_lens[rows] - 1
    lcab[t, rows, ext[rows, e - 1]] = ab[t, rows, e - 2]


class CTCLossNLL(Primitive):
    """``forward(log_probs (T,N,C), targets list of int arrays, input_lengths (N,), blank,
    zero_infinity)`` returns the per-sample negative log-likelihood ``(N,)``: ``inf`` when no
    alignment exists, or 0 (with a zero gradient) under ``zero_infinity``.
    """

    # PyTorch has no double backward for CTC loss (_ctc_loss_backward): the same error here.
    double_backward_error = (
        RuntimeError,
        "derivative for aten::_ctc_loss_backward is not implemented",
    )

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, blank, zero_infinity):
        steps, batch, _ = log_probs.shape
        ext_lens = np.array([2 * len(t) + 1 for t in targets], dtype=np.int64)
        ext, skip = _extended(targets, blank, int(ext_lens.max()))
        lp_ext = np.take_along_axis(log_probs, np.broadcast_to(ext, (steps, *ext.shape)), 2)
        # Positions past each sample's extended length never take part.
        valid = np.arange(ext.shape[1])[None, :] < ext_lens[:, None]
        lp_ext = np.where(valid, lp_ext, _NEG_INF)
        alpha = _alphas(lp_ext, skip, ext_lens)
        rows = np.arange(batch)
        last = alpha[input_lengths - 1, rows]
        end = last[rows, ext_lens - 1]
        before = np.where(ext_lens > 1, last[rows, np.maximum(ext_lens - 2, 0)], _NEG_INF)
        nll = -np.logaddexp(end, before)
        # An empty input explains only an empty target.
        empty = input_lengths == 0
        nll[empty] = np.where(ext_lens[empty] == 1, 0.0, np.inf)
        ctx.save_for_backward(log_probs)
        ctx.meta = (lp_ext, skip, ext, alpha, input_lengths, ext_lens, nll, zero_infinity)
        if zero_infinity:
            nll = np.where(np.isinf(nll), 0.0, nll)
        return nll.astype(log_probs.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (log_probs,) = ctx.saved_tensors
        lp_ext, skip, ext, alpha, in_lens, ext_lens, nll, zero_infinity = ctx.meta
        steps, batch, classes = log_probs.shape
        beta = _betas(lp_ext, skip, in_lens, ext_lens)
        ab = alpha + beta  # log(alpha * beta), per extended position
        # log sum over the positions holding class c, at every (t, b): a scatter of logaddexp.
        lcab = np.full(log_probs.shape, _NEG_INF, dtype=log_probs.dtype)
        for s in range(ext.shape[1]):
            c = ext[:, s]
            cur = lcab[:, np.arange(batch), c]
            lcab[:, np.arange(batch), c] = np.logaddexp(cur, ab[:, :, s])
        _torch_last_step_quirk(lcab, ab, ext, in_lens, ext_lens)
        finite = np.isfinite(nll)
        with np.errstate(invalid="ignore", over="ignore"):
            grad = np.exp(log_probs) - np.exp(lcab + nll[None, :, None] - log_probs)
        # A sample with no alignment (nll = inf) has no gradient: NaN over its real steps, as
        # PyTorch, or zeros with zero_infinity. Steps past a sample's length get zeros.
        bad = np.nan if not zero_infinity else 0.0
        grad = np.where(finite[None, :, None], grad, bad)
        live = np.arange(steps)[:, None] < in_lens[None, :]
        grad = np.where(live[:, :, None], grad, 0.0)
        return (grad * g[None, :, None]).astype(log_probs.dtype, copy=False), None, None, None, None
