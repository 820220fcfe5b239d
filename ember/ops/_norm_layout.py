"""Per-channel work on (N, C, *S) data as wide 2-D views, for batch norm.

Batch norm's passes are "scale and shift every element by its channel's value" and "sum every
channel". On an (N, C, L) view with a ``(C, 1)`` operand NumPy runs one short inner loop per
(sample, channel) row, and the per-row overhead dominates for small L (measured on
(32, 32, 256) float32: 80 us for a broadcast multiply against 22 us for the same work on
(N, C * L) rows with the channel values expanded to one (C * L,) row). So the data is seen as
``(rows, width)`` with ``width`` a whole number of channel patterns, per-channel vectors are
expanded once to a ``(width,)`` row, and per-channel sums are column sums folded back to (C,).

Two layouts: contiguous NC* (width = C * L, each channel's L values in a run) and channels-last
(conv outputs are NCHW views of NHWC memory, see ember.ops.conv; 2-D inputs are the same case):
width = R * C, R positions of all C channels. Neither view copies; an operand stored otherwise
(an incoming gradient, say) is copied into the layout once.

Sums are BLAS products with a ones vector (a GEMV reads the data once at memory speed, about
twice as fast as NumPy's column reduction here) and products summed per channel are ``vecdot``
over runs of L in the NC* layout. In that layout a block of channels is a block of columns, and
every per-channel quantity of a block depends on its columns alone, so batch norm runs each
direction of a big input as one task per block of channels on ember's pool
(``for_channel_blocks``).
"""

from __future__ import annotations

from math import gcd, prod

import numpy as np

from .._scratch import scratch
from ._parallel import parallel_for
from ._util import ones_vector
from .shape import _hidden_channels_last

__all__ = ["ChannelLayout"]

# Rows of a channels-last view hold about this many elements (a power-of-two count of positions).
_LAST_WIDTH = 4096
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Bytes of output per block of ``affine`` (the block stays in L2 between its two passes). 1 MB,
# not 256 KB: with small blocks two threads spend their time handing the GIL over between the
# blocks' NumPy calls. BatchNorm2d(64) eval on (32, 64, 32, 32) channels-last, idle, two threads
# split / one: 0.85 / 1.43 ms with 1 MB blocks, 1.20 / 1.38 with 256 KB; training fwd+bwd
# there 5.9 / 5.9 against 7.3 / 6.0.
_AFFINE_BLOCK_BYTES = 1 << 20
# BLAS sums a run in a few running totals, whose rounding grows with the run (see
# ops/_spatial_mean.py): longer runs of one channel keep NumPy's reductions.
_MAX_RUN = 1 << 16


class ChannelLayout:
    """The 2-D view scheme of one (N, C, *S) shape: ``view``, ``expand``, ``sum``/``dot``,
    ``new`` (an output in the same layout) and ``nd`` (back to (N, C, *S)); ``part`` and
    ``for_channel_blocks`` cut the work by blocks of channels. ``expand``, ``sum`` and ``dot``
    work on a ``part`` as on the whole (they take and give the part's channels only)."""

    __slots__ = ("shape", "last", "rows", "width", "reps")

    def __init__(self, x: np.ndarray) -> None:
        self.shape = x.shape
        n, c = x.shape[0], x.shape[1]
        s = prod(x.shape[2:])
        self.last = x.ndim == 2 or s == 1 or _hidden_channels_last(x)
        if self.last:
            m = n * s
            pow2 = 1 << max(0, (_LAST_WIDTH // max(c, 1)).bit_length() - 1)
            self.reps = gcd(m, pow2) if m else 1  # positions per row
            self.width = self.reps * c
        else:
            self.reps = s  # values per channel in a row
            self.width = c * s
        self.rows = n * s * c // self.width if self.width else 0

    def _nhwc_shape(self) -> tuple:
        return (self.shape[0], *self.shape[2:], self.shape[1])

    def view(self, a: np.ndarray) -> np.ndarray:
        """``a`` (shaped like the input) as (rows, width); a copy only if stored otherwise."""
        if self.last:
            a = np.moveaxis(a, 1, -1)
        return a.reshape(self.rows, self.width)

    def nd(self, a2: np.ndarray) -> np.ndarray:
        """A (rows, width) array back as (N, C, *S), viewing the same memory."""
        if self.last:
            return np.moveaxis(a2.reshape(self._nhwc_shape()), -1, 1)
        return a2.reshape(self.shape)

    def new(self, dtype: np.dtype) -> np.ndarray:
        """An uninitialised (rows, width) scratch array (``nd`` of it has the input's layout)."""
        return scratch.get((self.rows, self.width), dtype)

    def expand(self, v: np.ndarray) -> np.ndarray:
        """A per-channel (C,) vector as the matching (width,) row."""
        return np.tile(v, self.reps) if self.last else v.repeat(self.reps)  # (method: 1.2 us less)

    def fold(self, cols: np.ndarray) -> np.ndarray:
        """Column totals (width,) summed per channel to (C,)."""
        if self.last:
            return cols.reshape(self.reps, -1).sum(axis=0)
        return cols.reshape(-1, self.reps).sum(axis=1)

    def _runs(self, a2: np.ndarray) -> np.ndarray | None:
        """An NC* (rows, k * L) part as (rows, k, L) runs, when BLAS can reduce it; else None."""
        if self.last or a2.size == 0 or a2.dtype not in _BLAS_DTYPES or self.reps > _MAX_RUN:
            return None
        return a2.reshape(self.rows, -1, self.reps)

    def sum(self, a2: np.ndarray) -> np.ndarray:
        """Per-channel sums of a (rows, width) array (or of a ``part``)."""
        runs = self._runs(a2)
        if runs is not None:  # (rows, k, L) @ ones(L), then ones(rows) @ (rows, k)
            per_row = runs @ ones_vector(self.reps, a2.dtype)
            return ones_vector(self.rows, a2.dtype) @ per_row
        if self.last and a2.size and a2.dtype in _BLAS_DTYPES:
            return self.fold(ones_vector(self.rows, a2.dtype) @ a2)
        return self.fold(np.einsum("mk->k", a2))

    def dot(self, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        """Per-channel sums of ``a2 * b2``, without the product array."""
        ra, rb = self._runs(a2), self._runs(b2)
        if ra is not None and rb is not None and a2.dtype == b2.dtype:
            return ones_vector(self.rows, a2.dtype) @ np.vecdot(ra, rb)
        return self.fold(np.einsum("mk,mk->k", a2, b2))

    def part(self, a2: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Channels ``lo:hi`` of a (rows, width) array: a block of columns (NC* only; the
        channels-last layout has one block, the whole array)."""
        if self.last:
            return a2
        return a2[:, lo * self.reps : hi * self.reps]

    def affine(self, x2: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """``out = x2 * a + b`` for (rows, width) arrays and (width,) rows ``a`` and ``b``: in
        blocks of about ``_AFFINE_BLOCK_BYTES`` so that the add finds the product in cache, in
        per-core runs of blocks when the data is big (``parallel_for``).

        Two whole-array passes streamed ``out`` through memory twice: BatchNorm2d(64) eval on
        (32, 64, 32, 32) float32, no_grad, one thread, thread CPU (load ~2): channels-last
        1.21 -> 1.14-1.18 ms, contiguous 0.96 -> 0.88 ms (PyTorch 0.65-0.8; its one fused pass
        against NumPy's two, the multiply alone 0.78 ms). Blocks of 128 KB-1 MB measured the
        same, 32 KB 1.40 ms, the whole array 1.24 ms."""
        step = max(1, _AFFINE_BLOCK_BYTES // max(1, self.width * out.itemsize))
        nblocks = -(-self.rows // step)

        def affine_blocks(first: int, last: int) -> None:
            for i in range(first, last):
                r = slice(i * step, (i + 1) * step)
                yb = np.multiply(x2[r], a, out=out[r])
                yb += b

        parallel_for(affine_blocks, nblocks, self.rows * self.width)

    def affine_backward(self, g2, x2, a, mean, need: tuple) -> tuple:
        """The backward of ``affine`` with ``b`` depending on ``mean`` (eval batch norm): the
        input gradient ``g2 * a`` and the per-channel sums of ``g2 * (x2 - mean)`` and of
        ``g2``, for the ``need`` flags (each None when not needed); ``a``, ``mean``: (width,)
        rows. Block by block as ``affine`` (the centred block stays in a cached temporary:
        whole-array passes wrote it to memory; BatchNorm2d(64) eval on (32, 64, 32, 32)
        channels-last float32, forward and backward, one thread, thread CPU, load ~3: 7.2-7.4
        -> 6.3-6.6 ms, PyTorch 5.1-6.2), per-block sums added in block order."""
        step = max(1, _AFFINE_BLOCK_BYTES // max(1, self.width * g2.itemsize))
        nblocks = -(-self.rows // step)
        c = self.shape[1]
        gx = self.new(g2.dtype) if need[0] else None
        partial = np.zeros((2, nblocks, c), g2.dtype)

        def affine_backward_blocks(first: int, last: int) -> None:
            tmp = np.empty((min(step, self.rows), self.width), g2.dtype) if need[1] else None
            for i in range(first, last):
                r = slice(i * step, (i + 1) * step)
                gb = g2[r]
                if need[0]:
                    np.multiply(gb, a, out=gx[r])
                if need[1]:
                    xc = np.subtract(x2[r], mean, out=tmp[: gb.shape[0]])
                    partial[0, i] = self._block_dot(gb, xc)
                if need[2]:
                    partial[1, i] = self._block_dot(gb, None)

        parallel_for(affine_backward_blocks, nblocks, self.rows * self.width)
        dot = partial[0].sum(axis=0) if need[1] else None
        total = partial[1].sum(axis=0) if need[2] else None
        return gx, dot, total

    def _block_dot(self, a: np.ndarray, b) -> np.ndarray:
        """Per-channel sums of ``a * b`` (of ``a`` if ``b`` is None) over a block of rows."""
        if not self.last and a.dtype in _BLAS_DTYPES and self.reps <= _MAX_RUN:
            ra = a.reshape(a.shape[0], -1, self.reps)
            if b is None:
                return (ra @ ones_vector(self.reps, a.dtype)).sum(axis=0)
            return np.vecdot(ra, b.reshape(ra.shape)).sum(axis=0)
        if b is None:
            return self.fold(np.einsum("mk->k", a))
        return self.fold(np.einsum("mk,mk->k", a, b))

    def for_channel_blocks(self, fn) -> None:
        """``fn(lo, hi)`` over blocks of channels covering all C: one pool task per block (NC*
        layout) when the data is big enough for ``parallel_for`` to split a single pass.

        Not from fewer elements although each block runs four to seven passes: on the 2-core
        machine a hand-off costs ~100 us and both cores ran their halves ~40% slower than one
        core alone (shared memory bandwidth), so BatchNorm2d training on (32, 32, 16, 16) took
        1.3-1.4 ms split against 0.8 ms in one thread (0.83 against 0.66 ms with the passes of
        docs/performance.md item 21); (32, 64, 16, 16) 1.8 against 2.0 ms, (32, 64, 32,
        32) 6.0 against 9.0 ms."""
        c = self.shape[1]
        if self.last:
            fn(0, c)
            return
        parallel_for(fn, c, self.rows * self.width)
