"""Embedding lookup: a row gather whose backward sums the output gradients of equal indices.

The backward sorts the indices once and sums each run of equal indices with
``np.add.reduceat`` (no ``np.add.at``, which is slow), then writes the sums into the rows.
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
        order = np.argsort(flat, kind="stable")
        sorted_idx = flat[order]
        rows, starts = np.unique(sorted_idx, return_index=True)
        grad = np.zeros(shape, g.dtype)
        if rows.size:
            sums = np.add.reduceat(g2[order], starts, axis=0)
            if by_freq:
                counts = np.diff(np.append(starts, sorted_idx.shape[0]))
                sums /= counts[:, None].astype(g.dtype)
            grad[rows] = sums
        if padding_idx >= 0:
            grad[padding_idx] = 0
        return grad, None, None, None


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
