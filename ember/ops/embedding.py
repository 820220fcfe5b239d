"""Embedding lookup: a row gather whose backward sums the output gradients of equal indices.

The backward sorts the indices once and adds the rows of each run of equal indices level by
level (first occurrences, then second ones, ...) with whole-array gathers and scatters (no
``np.add.at``, which is slow).
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive, on_graph
from .indexing import add_into_zeros

__all__ = ["Embedding", "embedding_renorm_"]


class Embedding(Primitive):
    """``weight[indices]``: ``forward(weight, indices, padding_idx, scale_grad_by_freq)``.

    ``padding_idx`` (or -1 for none, a non-negative row otherwise) receives no gradient;
    ``scale_grad_by_freq`` divides each row's gradient by its count in ``indices``.
    The gradient is linear in ``g``: under create_graph it is one recorded scatter-add.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.meta = (weight.shape, indices, padding_idx, scale_grad_by_freq)
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        shape, indices, padding_idx, by_freq = ctx.meta
        flat = indices.reshape(-1)
        if on_graph(g):
            return _backward_on_graph(g, shape, flat, padding_idx, by_freq), None, None, None
        g2 = g.reshape(flat.shape[0], shape[1])
        if by_freq:
            grad = _frequency_scaled_grad(g2, flat, shape)
        else:
            grad = _summed_rows(g2, flat, shape)
        if padding_idx >= 0:
            grad[padding_idx] = 0
        return grad, None, None, None


def _summed_rows(g2: np.ndarray, flat: np.ndarray, shape: tuple) -> np.ndarray:
    """The dense ``shape`` gradient: each used row the sum of its rows of ``g2``, added in the
    order they occur onto zeros (PyTorch's CPU kernel: the same bits, and +0.0 for a -0.0).

    Rows are summed level by level: every used row gets its first occurrence, then the rows
    seen twice or more their second, and so on (a few levels for token ids). ``np.add.reduceat``
    over sorted rows took 25 of this op's 33 ms for (64, 128) ids into (30000, 256) (its runs
    are mostly one row long), and summed long runs in another order."""
    order = np.argsort(flat, kind="stable")  # (stable: equal ids keep their order)
    ids = flat[order]
    first = np.empty(ids.shape, np.bool_)
    first[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    rows = ids[starts]
    grad = np.zeros(shape, g2.dtype)
    if not rows.size:
        return grad
    part = np.take(g2, order[starts], axis=0)
    part += g2.dtype.type(0)  # (0 + g: -0.0 gives +0.0)
    grad[rows] = part
    lengths = np.diff(starts, append=ids.shape[0])
    more = np.flatnonzero(lengths > 1)
    k = 1
    while more.size:
        grad[rows[more]] += np.take(g2, order[starts[more] + k], axis=0)
        k += 1
        more = more[lengths[more] > k]
    return grad


def _frequency_scaled_grad(g2: np.ndarray, flat: np.ndarray, shape: tuple) -> np.ndarray:
    """``scale_grad_by_freq``: each used row's summed gradient divided by its count."""
    order = np.argsort(flat, kind="stable")
    sorted_idx = flat[order]
    rows, starts = np.unique(sorted_idx, return_index=True)
    grad = np.zeros(shape, g2.dtype)
    if rows.size:
        sums = np.add.reduceat(g2[order], starts, axis=0)
        counts = np.diff(np.append(starts, sorted_idx.shape[0]))
        sums /= counts[:, None].astype(g2.dtype)
        grad[rows] = sums
    return grad


def _backward_on_graph(g, shape: tuple, flat: np.ndarray, padding_idx: int, by_freq: bool):
    """Embedding's gradient as a recorded scatter-add of the rows of ``g`` (create_graph)."""
    g2 = g.reshape(flat.shape[0], shape[1])
    if by_freq:
        _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        g2 = g2 / counts[inverse.reshape(-1)][:, None].astype(g.dtype)
    if padding_idx >= 0:
        g2 = g2 * (flat != padding_idx)[:, None].astype(g.dtype)
    return add_into_zeros(shape, (flat,), g2)


def embedding_renorm_(weight: np.ndarray, indices: np.ndarray, max_norm: float, p: float) -> None:
    """Rescale, in place, the rows of ``weight`` used by ``indices`` whose p-norm exceeds
    ``max_norm`` to norm ``max_norm`` (PyTorch's ``max_norm / (norm + 1e-7)`` factor)."""
    rows = np.unique(indices)
    if rows.size == 0:
        return
    sub = weight[rows]
    if p == 2:
        norms = np.sqrt((sub * sub).sum(axis=1))
    elif p == float("inf"):
        norms = np.abs(sub).max(axis=1)
    else:
        norms = (np.abs(sub) ** p).sum(axis=1) ** (1.0 / p)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
        weight[rows[big]] = sub[big] * scale[:, None]
