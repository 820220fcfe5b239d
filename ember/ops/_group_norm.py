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
thread, thread CPU, load 3-4: contiguous 12.7-16.8 -> 9.3-9.4 ms, channels-last 17.6-22.1 ->
8.8-10.2 ms; PyTorch 4-7.6 ms). Samples are taken in blocks of about ``BLOCK`` elements (3-D
ufunc calls, batched GEMVs): one sample per call cost ~30 NumPy calls a sample, GroupNorm(8, 32)
on (32, 32, 16, 16) 1.74 ms against 1.05-1.10 in blocks (1.16 on the (N, C * L) rows).
Samples run in per-core runs on ``parallel_for``; the weight and bias gradients are summed per
sample and the partial rows added in sample order (the same bits however the samples split).
"""

from __future__ import annotations

import numpy as np

from .._scratch import scratch
from . import _blockwise
from ._blockwise import BLAS_DTYPES as _BLAS_DTYPES
from ._blockwise import MAX_BLAS_RUN as _MAX_BLAS_RUN
from ._blockwise import each_block
from ._util import ones_vector

__all__ = ["usable", "sample_forward", "sample_backward"]

# Elements per block of samples (ops/_blockwise.py says why this size; tests make it small).
BLOCK = _blockwise.BLOCK
# Elements per sample from which contiguous input runs here (see ``usable``).
MIN_SAMPLE = 1 << 12


def usable(x: np.ndarray, last: bool) -> bool:
    """Whether group norm of ``x`` runs here: channels-last (``last``) or with big samples."""
    if x.size == 0 or x.ndim < 2:
        return False
    return last or (x.flags.c_contiguous and x.size // x.shape[0] >= MIN_SAMPLE)


class _Layout:
    """The per-sample blocks of one input: (N, C, L) or, channels-last, (N, L, C); the methods
    take a block of ``m`` samples, (m, C, L) or (m, L, C), and give per-channel (m, C)."""

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
        """Per-channel sums of a block of samples."""
        ax = 1 if self.last else 2
        if self.blas:
            ones = ones_vector(a.shape[ax], a.dtype)
            return np.matmul(ones, a) if self.last else a @ ones
        return np.add.reduce(a, axis=ax)

    def dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-channel sums of ``a * b``, without the product array."""
        if self.last:
            return np.einsum("nmk,nmk->nk", a, b)
        return np.vecdot(a, b) if self.blas else np.einsum("nkm,nkm->nk", a, b)

    def vec(self, v: np.ndarray) -> np.ndarray:
        """Per-channel values (m, C) (or (C,)) broadcastable over a block of samples."""
        if v.ndim == 1:
            return v if self.last else v[:, None]
        return v[:, None, :] if self.last else v[:, :, None]


def _per_group(v: np.ndarray, groups: int) -> np.ndarray:
    """Per-channel values (m, C) summed over each group's channels: (m, groups)."""
    return v.reshape(v.shape[0], groups, -1).sum(axis=2)


def _per_channel(v: np.ndarray, c: int) -> np.ndarray:
    """Per-group values (m, groups) repeated over each group's channels: (m, C)."""
    return v.repeat(c // v.shape[1], axis=1)


def _each_block(fn, n: int, sample: int) -> None:
    """``fn(i, lo, hi)`` for blocks ``i`` of samples ``lo:hi`` of about ``BLOCK`` elements (at
    least one sample), in per-core runs of blocks when big."""
    each_block(fn, n, sample, BLOCK)


def sample_forward(x: np.ndarray, groups: int, weight, bias, eps: float, last: bool) -> tuple:
    """Group norm of ``x``: ``(y, invstd, mean, var)``, ``y`` in ``x``'s layout (from the
    scratch pool), the statistics ``(N * groups, 1)`` as ``_norm_rows.rows_forward``'s."""
    lay = _Layout(x, last)
    x3 = lay.blocks(x)
    n, c = x.shape[0], x.shape[1]
    cnt = x.dtype.type(x.size // (n * groups))
    y3 = scratch.get(x3.shape, x.dtype)
    stats = np.empty((3, n, groups), x.dtype)  # invstd, mean, var

    def forward_block(_i: int, a: int, b: int) -> None:
        xs, ys = x3[a:b], y3[a:b]
        mean = _per_group(lay.sums(xs), groups) / cnt
        xc = np.subtract(xs, lay.vec(_per_channel(mean, c)), out=ys)
        var = _per_group(lay.dots(xc, xc), groups) / cnt
        inv = 1.0 / np.sqrt(var + eps)
        sc = _per_channel(inv, c)
        ys *= lay.vec(sc if weight is None else sc * weight)
        if bias is not None:
            ys += lay.vec(bias)
        stats[0, a:b], stats[1, a:b], stats[2, a:b] = inv, mean, var

    _each_block(forward_block, n, x.size // n)
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
    step = max(1, BLOCK // max(1, x.size // n))
    partial = np.empty((2, -(-n // step), c), x.dtype)  # per-block weight and bias gradients

    def backward_block(i: int, a: int, b: int) -> None:
        gs, xs = g3[a:b], x3[a:b]
        inv = _per_channel(invstd[a:b], c)
        xc = xs - lay.vec(_per_channel(mean[a:b], c))  # (a block-sized temporary)
        gsum = lay.sums(gs)
        gxc = lay.sums(np.multiply(gs, xc, out=gx3[a:b] if need[0] else None))
        partial[0, i], partial[1, i] = (gxc * inv).sum(axis=0), gsum.sum(axis=0)
        if not need[0]:
            return
        w = 1 if weight is None else weight
        m1 = _per_channel(_per_group(gsum * w, groups) / cnt, c)  # mean(g * w)
        c2 = inv * inv * _per_channel(_per_group(gxc * w, groups) / cnt, c)
        out = np.multiply(gs, lay.vec(inv * w), out=gx3[a:b])
        xc *= lay.vec(-inv * c2)
        out += xc
        out -= lay.vec(inv * m1)

    _each_block(backward_block, n, x.size // n)
    gx = lay.nd(gx3) if need[0] else None
    gw = partial[0].sum(axis=0) if need[1] else None
    gb = partial[1].sum(axis=0) if need[2] else None
    return gx, gw, gb
