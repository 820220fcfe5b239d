"""The fused recurrent layers' big GEMMs, overlapped with their time loop on ember's op pool.

A time loop is a chain of small steps on one core (its GEMMs are too small to split, and two
Python loops on two threads contend for the GIL at every NumPy call: measured, an LSTM whose
batch was split between two threads ran 1.2-1.3x slower). The GEMMs over the whole sequence
only need some of its steps, so one pool task runs them chunk by chunk beside the loop, each a
BLAS call that holds no GIL for ~0.3-1 ms:

- :class:`StepGrads` (backward): the recurrent weight gradient ``sum_t dg[t].T @ h_{t-1}``,
  the bias gradient ``sum_t ones @ dg[t]`` and, for a layer with its input projection, the
  input and ``W_ih`` gradients, from each finished chunk of gate gradients;
- :class:`StepInputs` (forward): the input projection ``x[t] @ W_ih.T + b``, ahead of the loop.

Without a second core (or for short sequences) each is one whole-sequence GEMM, as before.
See docs/performance.md ("Recurrent layers keep the second core busy").
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future

import numpy as np

from .._runtime import IN_TASK, SETTINGS, blas_control, op_pool, pool_in_use
from .._scratch import scratch
from ._parallel import MIN_WORK, matmul, matmul_reduce
from ._util import ones_vector

__all__ = ["StepGrads", "StepInputs"]

# Steps per chunk handed to the pool: a sixth of the sequence (the last chunk's GEMM runs after
# the loop, unhidden), at least 4 steps (each chunk costs a thread hand-off, ~20-50 us).
_CHUNKS = 6
_MIN_CHUNK = 4


def _overlap(work: int, n: int) -> bool:
    """Whether to overlap: a second core, controllable BLAS, a long and big enough sequence,
    and not already inside a pool task (a task never waits on the pool)."""
    return (
        SETTINGS.threads > 1
        and n >= 2 * _MIN_CHUNK
        and work >= MIN_WORK
        and blas_control() is not None
        and not getattr(IN_TASK, "active", False)
    )


class StepGrads:
    """``(sum_t dg[t].T @ prev[t], sum_t ones @ dg[t])`` over a backward time loop (and the
    input projection's gradients when given ``inputs``).

    ``prev[t]`` is the state before step ``t``: ``first`` for the first step of the forward
    order (``head``), else the neighbouring entry of ``seq``. Call :meth:`done` after each step
    of the loop (which runs in the opposite order of the forward), then :meth:`finish`.
    ``want_w``/``want_b`` say which of the two sums are needed (the other is None).
    The loop must run with single-threaded BLAS while chunks may be running (see
    ``overlapping``): OpenBLAS's thread count is process-wide.
    """

    def __init__(
        self, dg, seq, first, reverse: bool, want_w: bool, want_b: bool, inputs: tuple = ()
    ) -> None:
        self.dg, self.seq, self.first, self.reverse = dg, seq, first, reverse
        self.want_w, self.want_b = want_w, want_b
        # inputs: (x (T,B,I) C-contiguous or None, w_ih (G,I) or None) of a layer that makes
        # its own input projection: also the gradients of x (dg @ w_ih) and w_ih (dg.T @ x).
        self.x, self.w_ih = inputs if inputs else (None, None)
        n = dg.shape[0]
        self.dx = None
        if self.w_ih is not None:
            self.dx = scratch.get(dg.shape[:-1] + self.w_ih.shape[-1:], dg.dtype)
        self.head = n - 1 if reverse else 0
        wanted = want_w or want_b or self.x is not None or self.w_ih is not None
        self.overlapping = wanted and _overlap(dg.size, n)
        self.chunk = max(_MIN_CHUNK, -(-n // _CHUNKS))
        # Finished steps not yet handed over: [lo, hi). The loop runs from n-1 down (forward
        # layer) or from 0 up (reverse layer), so the range grows at one end.
        self.lo = self.hi = 0 if reverse else n
        # Handed-over chunks wait in `pending`; one pool task at a time (`_drain`) works through
        # them, so the loop keeps a core of its own; finish() shares out what is left.
        self.pending: deque = deque()
        self.lock = threading.Lock()
        self.draining = False
        self.runners: list[Future] = []
        self.parts: dict = {}  # range start -> partial sums (added in order: deterministic)
        if self.overlapping:
            pool_in_use()

    def done(self, t: int) -> None:
        """Step ``t`` is finished: ``dg[t]`` holds its final value."""
        if not self.overlapping:
            return
        if self.reverse:
            self.hi = t + 1
        else:
            self.lo = t
        if self.hi - self.lo >= self.chunk:
            with self.lock:
                self.pending.append((self.lo, self.hi))
                start, self.draining = not self.draining, True
            if start:
                self.runners.append(op_pool().submit(self._drain))
            self.lo = self.hi = t + 1 if self.reverse else t

    def _drain(self) -> None:
        """Compute handed-over chunks until none is left (on the pool, or in finish())."""
        while True:
            with self.lock:
                if not self.pending:
                    self.draining = False
                    return
                a, b = self.pending.popleft()
            self.parts[a] = self._partial(a, b)

    def _partial(self, a: int, b: int) -> tuple:
        """The two sums over steps ``[a, b)``, the head step's weight term excepted."""
        g = self.dg.shape[-1]
        dg = self.dg[a:b].reshape(-1, g)
        dw = db = None
        if self.want_w:
            lo, hi = max(a, 1), b  # the steps with a predecessor in `seq`...
            if self.reverse:
                lo, hi = a, min(b, self.dg.shape[0] - 1)  # ...or a successor, for reverse
            if hi > lo:
                prev = self.seq[lo + 1 : hi + 1] if self.reverse else self.seq[lo - 1 : hi - 1]
                p = self.seq.shape[-1]
                dw = self.dg[lo:hi].reshape(-1, g).T @ prev.reshape(-1, p)
        if self.want_b:
            db = ones_vector(dg.shape[0], dg.dtype) @ dg
        dwi = None
        if self.w_ih is not None:
            np.matmul(dg, self.w_ih, out=self.dx[a:b].reshape(dg.shape[0], -1))
        if self.x is not None:
            dwi = dg.T @ self.x[a:b].reshape(dg.shape[0], -1)
        return dw, db, dwi

    def finish(self) -> tuple:
        """``(dw, db, dx, dw_ih)`` (the last two None without ``inputs``): waits for the pool's
        chunks and adds the rest."""
        if not self.overlapping:
            return self._whole() + self._whole_inputs()
        if self.hi > self.lo:
            with self.lock:
                self.pending.append((self.lo, self.hi))
        while True:  # this thread takes chunks too, until none is left to start
            with self.lock:
                if not self.pending:
                    break
                a, b = self.pending.popleft()
            self.parts[a] = self._partial(a, b)
        for f in self.runners:
            f.result()  # (the chunk in flight; raises what a chunk raised)
        parts = [self.parts[a] for a in sorted(self.parts)]
        dw = self.dg[self.head].T @ self.first if self.want_w else None
        sums = [dw, None, None]
        for part in parts:
            for j in (0, 1, 2):
                if part[j] is not None:
                    sums[j] = part[j] if sums[j] is None else sums[j] + part[j]
        return sums[0], sums[1], self.dx, sums[2]

    def _whole_inputs(self) -> tuple:
        """``(dx, dw_ih)`` as whole-sequence GEMMs (split across cores by ember)."""
        g = self.dg.shape[-1]
        dg = self.dg.reshape(1, -1, g)
        dwi = None
        if self.w_ih is not None:
            matmul(dg, self.w_ih[None], self.dx.reshape(dg.shape[:2] + (-1,)))
        if self.x is not None:
            dwi = matmul_reduce(dg.transpose(0, 2, 1), self.x.reshape(1, dg.shape[1], -1))[0]
        return self.dx, dwi

    def _whole(self) -> tuple:
        """Both sums as whole-sequence GEMMs (ember splits the big one across cores)."""
        dg, n, g = self.dg, self.dg.shape[0], self.dg.shape[-1]
        dw = db = None
        if self.want_w:
            dw = dg[self.head].T @ self.first
            if n > 1:
                p = self.seq.shape[-1]
                a, b = (dg[:-1], self.seq[1:]) if self.reverse else (dg[1:], self.seq[:-1])
                a3 = a.reshape(1, -1, g).transpose(0, 2, 1)
                dw += matmul_reduce(a3, b.reshape(1, -1, p))[0]
        if self.want_b:
            g2 = dg.reshape(-1, g)
            db = ones_vector(g2.shape[0], g2.dtype) @ g2
        return dw, db


class StepInputs:
    """The input projection of a forward time loop, ``gates[t] = x[t] @ w_t + bias``, computed
    chunk by chunk on ember's op pool ahead of the loop (the mirror of :class:`StepGrads`).

    The first chunk is computed at once, the others by one pool task in the loop's order; call
    :meth:`wait` before each step. Without a second core (or for short sequences) it is one
    whole-sequence GEMM. The loop must run with single-threaded BLAS (see :class:`StepGrads`).
    """

    def __init__(self, gates, x, w_t, bias, reverse: bool) -> None:
        self.gates, self.x, self.w_t, self.bias = gates, x, w_t, bias
        n = gates.shape[0]
        self.overlapping = _overlap(gates.size, n)
        self.events: dict = {}
        self.error: BaseException | None = None
        if not self.overlapping:
            self._fill(0, n, whole=True)
            return
        c = max(_MIN_CHUNK, -(-n // _CHUNKS))
        ranges = [(a, min(a + c, n)) for a in range(0, n, c)]
        if reverse:
            ranges.reverse()
        # The step each range starts with in the loop's order -> set once its rows are ready.
        later = [(a, b, b - 1 if reverse else a) for a, b in ranges[1:]]
        self.events = {key: threading.Event() for _, _, key in later}
        pool_in_use()
        self._fill(*ranges[0])
        self.task = op_pool().submit(self._run, later)

    def _fill(self, a: int, b: int, whole: bool = False) -> None:
        g = self.gates.shape[-1]
        g2 = self.gates[a:b].reshape(-1, g)
        x2 = self.x[a:b].reshape(g2.shape[0], -1)
        if whole:  # (ember splits a big GEMM across the cores)
            matmul(x2[None], self.w_t[None], g2[None])
        else:
            np.matmul(x2, self.w_t, out=g2)
        if self.bias is not None:
            g2 += self.bias

    def _run(self, ranges: list) -> None:
        try:
            for a, b, key in ranges:
                self._fill(a, b)
                self.events[key].set()
        except BaseException as e:  # the loop must not wait forever: wake it to raise
            self.error = e
            for ev in self.events.values():
                ev.set()

    def wait(self, t: int) -> None:
        """Before step ``t``: wait until ``gates[t]`` holds its projection."""
        ev = self.events.get(t)
        if ev is not None:
            ev.wait()
            if self.error is not None:
                raise self.error
