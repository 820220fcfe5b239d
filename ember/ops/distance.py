"""``pdist``: the p-norm distance between every pair of rows of a matrix.

One primitive rather than a composite of ``norm`` ops: PyTorch's gradient is 0 for a pair at
distance 0 (duplicate rows), where the composite's ``x / ||x||`` would give NaN.
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive

__all__ = ["Pdist"]


def _distances(diff: np.ndarray, p: float) -> np.ndarray:
    a = np.abs(diff)
    if p == 0:
        return (a != 0).sum(1).astype(diff.dtype)
    if p == np.inf:
        return a.max(1, initial=0)
    if p == 1:
        return a.sum(1)
    if p == 2:
        return np.sqrt((a * a).sum(1))
    return (a**p).sum(1) ** (1.0 / p)


def _grad(diff: np.ndarray, dist: np.ndarray, p: float) -> np.ndarray:
    """d dist / d diff for each pair, 0 where the distance is 0 (PyTorch's convention)."""
    if p == 0:
        return np.zeros_like(diff)
    if p == 1:
        return np.sign(diff)
    d = dist[:, None]
    live = d > 0
    safe = np.where(live, d, 1)
    if p == np.inf:
        hit = np.abs(diff) == d
        return np.where(live & hit, np.sign(diff), 0)
    if p == 2:
        return np.where(live, diff / safe, 0)
    # sign(diff) * |diff|^(p-1) / dist^(p-1), and 0 where diff == 0 (where |diff|^(p-1) is
    # infinite for p < 1): PyTorch's values.
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(diff != 0, np.abs(diff) ** (p - 1), 0)
    return np.where(live, np.sign(diff) * mag / safe ** (p - 1), 0)


class Pdist(Primitive):
    """``forward(x (N, M), p)`` returns the ``N * (N - 1) / 2`` distances ``||x[i] - x[j]||_p``
    for ``i < j``, row-major (PyTorch's order)."""

    # PyTorch has no double backward for pdist (_pdist_backward): the same error here.
    double_backward_error = (
        NotImplementedError,
        "the derivative for '_pdist_backward' is not implemented.",
    )

    @staticmethod
    def forward(ctx, x, p):
        i, j = np.triu_indices(x.shape[0], 1)
        diff = x[i] - x[j]
        dist = _distances(diff, p)
        ctx.meta = (i, j, diff, dist, p, x.shape)
        return dist

    @staticmethod
    def backward(ctx, g):
        i, j, diff, dist, p, shape = ctx.meta
        gd = _grad(diff, dist, p) * g[:, None]
        out = np.zeros(shape, dtype=gd.dtype)
        np.add.at(out, i, gd)
        np.subtract.at(out, j, gd)
        return out, None
