"""Group norm sample by sample, in the input's own layout: the first-order forward and backward
of ``ember.ops.norm.GroupNorm`` for contiguous (N, C, *S) input with big samples and for
channels-last input ((N, C, *S) stored as (N, *S, C); PyTorch keeps that layout for 4-D and 5-D
input, which ``_norm_rows``' (N, C * L) rows would copy and lose).

A sample is a (C, L) block (contiguous) or an (L, C) block (channels-last), a group ``C /
groups`` of its channels. All the per-group statistics come from per-channel sums (GEMVs with
a ones vector, folded to groups), and every scale or shift is per channel, one (C,) vector
broadcast over the positions: the backward ``gx = invstd * (g * w - mean(g * w) - xc * invstd^2
* mean(g * w * xc))`` becomes ``g * A + xc * B + C`` with three per-channel vectors, its means
taken from the channel sums of ``g`` and ``g * xc`` times ``w``. So the backward makes six
passes over a sample and the forward four, where the (N, C * L) rows with (C * L,) weight rows
took eleven and six (GroupNorm(8, 64) on (32, 64, 32, 32) float32, forward and backward, one
thread, process CPU, load ~3.5: channels-last 18.7-19.8 -> 9.7-9.8 ms).
Samples run in per-core runs on ``parallel_for``; the weight and bias gradients are summed per
sample and the partial rows added in sample order (the same bits however the samples split).
"""

from __future__ import annotations

import numpy as np

from .._scratch import scratch
from ._parallel import parallel_for
from ._util import ones_vector

__all__ = ["usable", "sample_forward", "sample_backward"]

# Elements per sample from which contiguous input runs here (smaller samples: many per block of
# _norm_rows, whose per-call overhead is shared by the samples of a block).
MIN_SAMPLE = 1 << 12
# BLAS sums a run in a few running totals whose rounding grows with the run (see
# ops/_norm_layout.py): longer runs keep NumPy's pairwise reductions.
_MAX_BLAS_RUN = 1 << 16
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def usable(x: np.ndarray, last: bool) -> bool:
    """Whether group norm of ``x`` runs here: channels-last (``last``) or with big samples."""
    if x.size == 0 or x.ndim < 2:
        return False
    return last or (x.flags.c_contiguous and x.size // x.shape[0] >= MIN_SAMPLE)


class _Layout:
    """The per-sample blocks of one input: (N, C, L) or, channels-last, (N, L, C)."""

    __slots__ = ("shape", "last", "blas")

    def __init__(self, x: np.ndarray, last: bool) -> None:
        self.shape, self.last = x.shape, last
        ln = x.size // max(1, x.shape[0] * x.shape[1])
        self.blas = x.dtype in _BLAS_DTYPES and ln <= _MAX_BLAS_RUN

    def blocks(self, a: np.ndarray) -> np.ndarray:
        """``a`` (shaped as the input) as its per-sample blocks (a copy if stored otherwise)."""
        n, c = self.shape[0], self.shape[1]
        if self.last:
            return np.moveaxis(a, 1, -1).reshape(n, -1, c)
        return a.reshape(n, c, -1)

    def nd(self, a3: np.ndarray) -> np.ndarray:
        """Per-sample blocks back as (N, C, *S), viewing the same memory."""
        if self.last:
            return np.moveaxis(a3.reshape(self.shape[0], *self.shape[2:], self.shape[1]), -1, 1)
        return a3.reshape(self.shape)

    def sums(self, a: np.ndarray) -> np.ndarray:
        """Per-channel sums (C,) of one sample's block."""
        if self.last:
            if self.blas:
                return ones_vector(a.shape[0], a.dtype) @ a
            return np.add.reduce(a, axis=0)
        if self.blas:
            return a @ ones_vector(a.shape[1], a.dtype)
        return np.add.reduce(a, axis=1)

    def dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-channel sums of ``a * b`` (C,), without the product array."""
        if self.last:
            return np.einsum("mk,mk->k", a, b)
        return np.vecdot(a, b) if self.blas else np.einsum("km,km->k", a, b)

    def vec(self, v: np.ndarray) -> np.ndarray:
        """A per-channel (C,) vector broadcastable over a sample's block."""
        return v if self.last else v[:, None]


def _per_group(v: np.ndarray, groups: int) -> np.ndarray:
    """A (C,) vector summed over each group's channels: (groups,)."""
    return v.reshape(groups, -1).sum(axis=1)


def _per_channel(v: np.ndarray, c: int) -> np.ndarray:
    """A (groups,) vector repeated over each group's channels: (C,)."""
    return v.repeat(c // v.shape[0])


def _run(fn, n: int, work: int) -> None:
    """``fn(s)`` for every sample, in per-core runs of samples when big."""

    def samples(lo: int, hi: int) -> None:
        for s in range(lo, hi):
            fn(s)

    parallel_for(samples, n, work, site=fn.__code__)


def sample_forward(x: np.ndarray, groups: int, weight, bias, eps: float, last: bool) -> tuple:
    """Group norm of ``x``: ``(y, invstd, mean, var)``, ``y`` in ``x``'s layout (from the
    scratch pool), the statistics ``(N * groups, 1)`` as ``_norm_rows.rows_forward``'s."""
    lay = _Layout(x, last)
    x3 = lay.blocks(x)
    n, c = x.shape[0], x.shape[1]
    cnt = x.dtype.type(x.size // (n * groups))
    y3 = scratch.get(x3.shape, x.dtype)
    stats = np.empty((3, n, groups), x.dtype)  # invstd, mean, var

    def forward_sample(s: int) -> None:
        xs, ys = x3[s], y3[s]
        mean = _per_group(lay.sums(xs), groups) / cnt
        xc = np.subtract(xs, lay.vec(_per_channel(mean, c)), out=ys)
        var = _per_group(lay.dots(xc, xc), groups) / cnt
        inv = 1.0 / np.sqrt(var + eps)
        a = _per_channel(inv, c)
        ys *= lay.vec(a if weight is None else a * weight)
        if bias is not None:
            ys += lay.vec(bias)
        stats[0, s], stats[1, s], stats[2, s] = inv, mean, var

    _run(forward_sample, n, x.size)
    st = stats.reshape(3, -1, 1)
    return lay.nd(y3), st[0], st[1], st[2]


def sample_backward(g, x, mean, invstd, groups: int, weight, need: tuple, last: bool) -> tuple:
    """Gradients of ``sample_forward``: ``(gx, gw, gb)`` (the input gradient in ``x``'s layout,
    per-channel weight and bias gradients) for the ``need`` flags; None where not needed."""
    lay = _Layout(x, last)
    x3, g3 = lay.blocks(x), lay.blocks(g)
    n, c = x.shape[0], x.shape[1]
    cnt = x.dtype.type(x.size // (n * groups))
    mean, invstd = mean.reshape(n, groups), invstd.reshape(n, groups)
    gx3 = scratch.get(x3.shape, x.dtype) if need[0] else None
    partial = np.empty((2, n, c), x.dtype)  # per-sample weight and bias gradients

    def backward_sample(s: int) -> None:
        gs, xs = g3[s], x3[s]
        inv = _per_channel(invstd[s], c)
        xc = xs - lay.vec(_per_channel(mean[s], c))  # (a sample-sized temporary)
        gsum = lay.sums(gs)
        gxc = lay.sums(np.multiply(gs, xc, out=gx3[s] if need[0] else None))
        partial[0, s], partial[1, s] = gxc * inv, gsum
        if not need[0]:
            return
        w = 1 if weight is None else weight
        m1 = _per_channel(_per_group(gsum * w, groups) / cnt, c)  # mean(g * w)
        c2 = inv * inv * _per_channel(_per_group(gxc * w, groups) / cnt, c)
        out = np.multiply(gs, lay.vec(inv * w), out=gx3[s])
        xc *= lay.vec(-inv * c2)
        out += xc
        out -= lay.vec(inv * m1)

    _run(backward_sample, n, x.size)
    gx = lay.nd(gx3) if need[0] else None
    gw = partial[0].sum(axis=0) if need[1] else None
    gb = partial[1].sum(axis=0) if need[2] else None
    return gx, gw, gb
