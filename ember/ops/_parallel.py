"""Run large single-threaded NumPy passes on every usable core.

NumPy's copies and ufunc loops run on one core (only BLAS is multi-threaded), but they release
the GIL while they run, so cutting one big pass into per-core chunks along an axis and running the
chunks on Python threads uses the other cores (docs/performance.md, item 4).

- ``parallel_for(fn, n, work)`` calls ``fn(lo, hi)`` over ``[0, n)``: in one plain call when the
  pass is small (``work`` elements below ``MIN_WORK``) or only one thread is used; otherwise in
  one chunk per thread, the chunks run concurrently on the pool (the calling thread running the
  first itself) or one after the other in the calling thread, whichever each call site measured
  faster on this machine (see "when to use the second core"); from inside a pool task always
  one after the other (a task never waits on the pool, so nested calls cannot deadlock).
- ``split_axis(a)`` is the axis to cut ``a`` along: the outermost one in memory, so that every
  chunk is one block of memory (a channels-last view is cut along its batch axis too).
- ``unary_into`` / ``binary_into`` apply ``f(*chunk_inputs, out=chunk_out)`` chunk by chunk.

The pool (owned by ``ember/_runtime.py``, sized by ``set_num_threads``) is created lazily on first
use and shared by every thread of the process (DataLoader worker threads included): callers only
submit independent chunks and wait for their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._runtime import (
    IN_TASK,
    SETTINGS,
    blas_control,
    op_pool,
    pool_in_use,
    single_threaded_blas,
)

__all__ = [
    "MIN_WORK",
    "blocks",
    "cores",
    "parallel_for",
    "split_axis",
    "copy_into",
    "unary_into",
    "binary_into",
    "binary_split",
    "single_threaded_blas",
    "gemm_shares",
    "share_blocks",
    "matmul",
    "matmul_reduce",
]

# Elements below which a pass runs as one plain call. Measured on 2 cores: a float32 ufunc pass
# of 64k elements takes ~15-30 us, about what a thread hand-off costs, so splitting only pays
# clearly from a few hundred thousand elements; 2**17 keeps every MLP/LeNet-sized pass inline.
MIN_WORK = 1 << 19

_in_task = IN_TASK  # .active is True inside a pool worker thread


def cores() -> int:
    """The number of chunks a big pass is cut into: ``ember.get_num_threads()``."""
    return SETTINGS.threads


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, near-equal, non-empty ranges covering ``[0, n)``."""
    parts = min(parts, n)
    q, r = divmod(n, parts)
    out, lo = [], 0
    for i in range(parts):
        hi = lo + q + (i < r)
        out.append((lo, hi))
        lo = hi
    return out


# ---- when to use the second core -------------------------------------------------------------
# A hand-off to a pool thread costs what the machine makes it cost, which varies 10x: on a 2-vCPU
# Firecracker VM (Sapphire Rapids, guest halt-polling off) a submit/result round trip took ~75-85
# us when the worker's vCPU had gone idle (~10-20 us on one vCPU or back to back), on the 2-core
# AMD EPYC VM far less; and both cores running halves of one pass share the memory bandwidth. So
# no fixed threshold is right on both: LeNet's training step ran 6.4-6.6 ms at 2 threads on the
# Xeon against 5.2 ms at 1 (each of its six splits lost: e.g. max-pool's backward 131 us in one
# call, 284 us split; the 6->16 conv backward 1.45 ms against 1.73), while the same splits took
# it from 1.82x to 1.34x of PyTorch's time on the EPYC. Hence each call site times itself: above
# MIN_WORK a pass is always cut into the same per-core chunks (so results never depend on the
# choice), and the chunks run either in the calling thread or concurrently on the pool,
# whichever measured faster for that site and shape: the median of its last WINDOW calls each
# way (after WARMUP calls in the calling thread, untimed: LeNet's first calls ran 1.5-2x slower,
# which made the first trials favour whichever way ran later; then 2*TRIALS calls alternate),
# the calling thread's CPU time for a call run in it
# (a call preempted by other processes would count their time: on the loaded machine wall
# times of a 1.4 ms call ranged 1.3-9.5 ms and flipped the choice every few dozen calls) and
# the wall time for a split one (what the caller waited). Once decided, one call runs the
# other way EXPLORE_S seconds later, then twice as long after each time the choice holds (up to
# EXPLORE_MAX_S), so the choice follows the machine's load at a small cost: an exploring split
# of LeNet's layers cost 0.1-4 ms (OpenBLAS's workers, back to two threads while the pool is
# idle, spinning on the other core), so exploring every 32-1024 calls instead cost ~0.2 ms a
# 5 ms step over the first thousand steps; and from a 0.5 s gap, the conv stack (15 sites that
# split, each exploring call 1-11 ms slower) ran ~3% slower over its first seconds than always
# split. Splitting must win by MARGIN: it spends more CPU time (the hand-off) for the same
# result, and costs the measured call does not show (the next op reads what the other core
# wrote; LeNet's 6->16 conv backward measured 10% faster split, yet the step ran slower).
# A site whose calls take this long in one thread always splits once measured: a hand-off costs
# at most ~0.15 ms here, and the choice between the ways flipped with noise there (the fused
# self-attention backward, ~5 ms in one thread: split 3.1-3.3 ms in one process, 4.7-5.1 ms in
# the window of another, while always splitting ran the whole step 5.0-5.3 ms against 6.0-7.0).
ALWAYS_SPLIT_S = 2e-3
WARMUP = 3  # first calls, run in this thread and not timed: they fault in fresh pages
TRIALS = 3
WINDOW = 5
EXPLORE_S = 2.0
EXPLORE_MAX_S = 32.0
MARGIN = 0.8
# None: each site measures; True / False: always / never concurrently (tests force the split).
SPLIT: bool | None = None
_MAX_SITES = 4096  # distinct (site, shape) keys kept; the table is cleared beyond that

_wall = time.perf_counter  # (tests inject fake clocks)
_cpu = time.thread_time


class _Site:
    """One call site's (and shape's) recent times, run in the calling thread and split."""

    __slots__ = ("calls", "here", "split", "use_split", "gap", "next")

    def __init__(self) -> None:
        self.calls = 0
        self.here: list[float] = []
        self.split: list[float] = []
        self.use_split = False
        self.gap = EXPLORE_S  # seconds from the next exploring call to the one after
        self.next = 0.0  # when the next exploring call runs (after the trials)

    def choose(self, now: float) -> bool:
        """Whether this call (at time ``now``, seconds) runs its chunks concurrently."""
        c = self.calls - WARMUP
        self.calls += 1
        if len(self.here) < TRIALS or len(self.split) < TRIALS:
            self.next = now + EXPLORE_S
            return c % 2 == 1  # trials: in this thread first, then alternating
        if now < self.next:
            return self.use_split
        self.next = now + self.gap
        self.gap = min(2 * self.gap, EXPLORE_MAX_S)
        return not self.use_split

    def record(self, split: bool, seconds: float, now: float) -> None:
        times = self.split if split else self.here
        times.append(seconds)
        if len(times) > WINDOW:
            del times[0]
        if len(self.here) >= TRIALS and len(self.split) >= TRIALS:
            if split != self.use_split and (
                seconds < MARGIN * _median(self.here)
                if split
                else MARGIN * seconds <= _median(self.split)
            ):  # an exploring call won: explore again at once (the median takes 3 to turn)
                self.gap, self.next = EXPLORE_S, now
            here = _median(self.here)
            if here >= ALWAYS_SPLIT_S:  # big enough: split from now on, no more exploring
                self.use_split, self.next = True, float("inf")
                return
            use = _median(self.split) < MARGIN * here
            if use != self.use_split:  # the machine changed: look again soon
                self.use_split, self.gap, self.next = use, EXPLORE_S, now + EXPLORE_S


def _median(v: list[float]) -> float:
    s = sorted(v)
    h = len(s) // 2
    return s[h] if len(s) % 2 else 0.5 * (s[h - 1] + s[h])


_SITES: dict = {}


def _site(key: tuple) -> _Site:
    site = _SITES.get(key)
    if site is None:
        if len(_SITES) >= _MAX_SITES:
            _SITES.clear()
        site = _SITES[key] = _Site()
    return site


def parallel_for(
    fn: Callable[[int, int], None],
    n: int,
    work: int,
    site: object = None,
    whole: bool = False,
) -> None:
    """Call ``fn(lo, hi)`` over chunks covering ``[0, n)``, concurrently when that pays here.

    ``work`` is the size of the whole pass in elements: below ``MIN_WORK`` (or on one thread, or
    ``n < 2``) one call ``fn(0, n)``; otherwise one chunk per thread (``blocks(n, work)``), run
    on the pool or in this thread, as measured faster for this call site and shape (see above;
    from inside a pool task always in this thread: a task never waits on the pool). In this
    thread the chunks run one after the other, or as one call ``fn(0, n)`` if ``whole``: pass
    it only when ``fn(0, n)`` gives bit for bit what the chunks give (elementwise passes, or
    reductions that keep to ``blocks(n, work)`` themselves). ``site`` names the call site
    (default: ``fn``'s code). ``fn`` must write disjoint results per chunk. Exceptions raised by
    any chunk propagate.
    """
    if work < MIN_WORK or SETTINGS.threads < 2 or n < 2:
        fn(0, n)
        return
    bounds = _bounds(n, SETTINGS.threads)
    # OpenBLAS back to one thread for a while, whichever way this pass runs: its workers spin on
    # the other core after every threaded GEMM and slow a big pass run in this thread too (on
    # the idle Xeon LeNet's 6->16 conv forward took 770 us of CPU beside them, 510 us without;
    # the split way, which set OpenBLAS to one thread, looked 1.5x faster than it was).
    pool_in_use()
    if getattr(_in_task, "active", False) or SPLIT is False:
        _run_here(fn, bounds, whole)
        return
    if SPLIT:
        _run_split(fn, bounds)
        return
    st = _site((fn.__code__ if site is None else site, n, work, len(bounds)))
    if st.calls < WARMUP:
        st.calls += 1
        _run_here(fn, bounds, whole)
        return
    t0 = _wall()
    if st.choose(t0):
        _run_split(fn, bounds)
        t1 = _wall()
        st.record(True, t1 - t0, t1)
    else:
        c0 = _cpu()
        _run_here(fn, bounds, whole)
        st.record(False, _cpu() - c0, _wall())


def blocks(n: int, work: int) -> list[tuple[int, int]]:
    """The chunks ``parallel_for(fn, n, work)`` cuts ``[0, n)`` into when it cuts it (else one):
    a reduction that sums per-block partials over these, in order, gets the same bits however
    the chunks run."""
    if work < MIN_WORK or SETTINGS.threads < 2 or n < 2:
        return [(0, n)]
    return _bounds(n, SETTINGS.threads)


def in_blocks(
    fn: Callable[[int, int], None], item_bytes: int, block_bytes: int
) -> Callable[[int, int], None]:
    """``fn(a, b)`` over ``[a, b)`` cut into blocks of about ``block_bytes`` (of items of
    ``item_bytes`` each, at least one a block): a chunk's work then stays in cache."""
    step = max(1, block_bytes // max(item_bytes, 1))

    def run(a: int, b: int) -> None:
        for lo in range(a, b, step):
            fn(lo, min(b, lo + step))

    return run


def _run_here(fn: Callable[[int, int], None], bounds: list, whole: bool) -> None:
    """The chunks in the calling thread: one call over all if ``whole``, else in order."""
    if whole:
        fn(bounds[0][0], bounds[-1][1])
        return
    for lo, hi in bounds:
        fn(lo, hi)


def _run_split(fn: Callable[[int, int], None], bounds: list[tuple[int, int]]) -> None:
    """The chunks on the pool, the calling thread running the first itself, then any chunk
    no worker has started yet (a worker that cannot get a core, or is slow to wake, costs a
    hand-off's overhead instead of the whole wait: split calls of LeNet's conv backward took
    up to 50 ms on the loaded machine without this)."""
    (lo0, hi0), *rest = bounds
    pool = op_pool()
    futures = [pool.submit(fn, lo, hi) for lo, hi in rest]
    errors: list = []
    try:
        fn(lo0, hi0)
        for f, (lo, hi) in zip(futures, rest):
            if f.cancel():
                fn(lo, hi)
    finally:
        # Wait for every started chunk even if ours failed: none may still write after we
        # return (a chunk not yet started is cancelled).
        for f in futures:
            if not f.cancel():
                errors.append(f.exception())
    for e in errors:
        if e is not None:
            raise e


def split_axis(a: np.ndarray) -> int:
    """The axis to cut ``a`` along: the one with the largest stride (outermost in memory)."""
    if a.ndim == 0:
        return 0
    st = [abs(s) if n > 1 else -1 for s, n in zip(a.strides, a.shape)]
    return st.index(max(st))


def _chunk(ax: int, lo: int, hi: int) -> tuple:
    return (slice(None),) * ax + (slice(lo, hi),)


def copy_into(dst: np.ndarray, src: np.ndarray, axis: int | None = None) -> None:
    """``dst[...] = src`` (same shapes) in per-core chunks along ``axis`` (default: ``dst``'s
    outermost axis in memory)."""
    if dst.size < MIN_WORK or dst.ndim == 0:
        np.copyto(dst, src)
        return
    ax = split_axis(dst) if axis is None else axis

    def run(lo: int, hi: int) -> None:
        s = _chunk(ax, lo, hi)
        np.copyto(dst[s], src[s])

    parallel_for(run, dst.shape[ax], dst.size, whole=True)


def unary_into(f: Callable, x: np.ndarray, out: np.ndarray, **kw) -> np.ndarray:
    """``f(x, out=out, **kw)`` computed in per-core chunks along ``out``'s outermost axis."""
    if out.size < MIN_WORK or out.ndim == 0:
        f(x, out=out, **kw)
        return out
    ax = split_axis(out)

    def run(lo: int, hi: int) -> None:
        s = _chunk(ax, lo, hi)
        f(x[s], out=out[s], **kw)

    parallel_for(run, out.shape[ax], out.size, f, whole=True)
    return out


def binary_into(f: Callable, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``f(a, b, out=out)`` for same-shape ``a``, ``b``, ``out``, in per-core chunks."""
    if out.size < MIN_WORK or out.ndim == 0:
        f(a, b, out=out)
        return out
    ax = split_axis(out)

    def run(lo: int, hi: int) -> None:
        s = _chunk(ax, lo, hi)
        f(a[s], b[s], out=out[s])

    parallel_for(run, out.shape[ax], out.size, f, whole=True)
    return out


def binary_split(f: np.ufunc, a: Any, b: Any) -> Any:
    """``f(a, b)`` for a binary ufunc, with the result of a big pass computed in per-core chunks
    (as measured faster per site, see ``parallel_for``): the same dtype, layout and values as
    ``f(a, b)``. Only arrays of one float or complex dtype, or such an array and a Python
    number, are cut; anything else (and anything small) is the plain call."""
    # (the common small call returns at once: this runs for every add and multiply)
    if (a.size if type(a) is np.ndarray else 0) < MIN_WORK and (
        b.size if type(b) is np.ndarray else 0
    ) < MIN_WORK:
        return f(a, b)
    if not _splittable(a, b):
        return f(a, b)
    arrays = [a] if type(b) is not np.ndarray else [a, b]
    try:  # NumPy's own output allocation, so the layout is the one f(a, b) would give
        it = np.nditer(
            [*arrays, None],
            flags=["zerosize_ok"],
            op_flags=[["readonly"]] * len(arrays) + [["writeonly", "allocate"]],
            op_dtypes=[a.dtype] * (len(arrays) + 1),
        )
    except ValueError:  # shapes that do not broadcast: NumPy's own error
        return f(a, b)
    out = it.operands[-1]
    ax = split_axis(out)
    va = np.broadcast_to(a, out.shape)
    vb = np.broadcast_to(b, out.shape) if len(arrays) == 2 else b

    def run(lo: int, hi: int) -> None:
        s = _chunk(ax, lo, hi)
        f(va[s], vb[s] if len(arrays) == 2 else vb, out=out[s])

    parallel_for(run, out.shape[ax], out.size, f, whole=True)
    return out


def _splittable(a: Any, b: Any) -> bool:
    """Whether ``binary_split`` may cut ``f(a, b)``: a big float/complex array ``a`` with an
    array of its dtype or a real Python number (NumPy keeps ``a``'s dtype for those)."""
    if type(a) is not np.ndarray or SETTINGS.threads < 2 or a.dtype.kind not in "fc":
        return False
    if type(b) is np.ndarray:  # (two 0-d arrays give NumPy a scalar: left to the plain call)
        return b.dtype == a.dtype and max(a.size, b.size) >= MIN_WORK and a.ndim + b.ndim > 0
    return type(b) in (int, float) and a.size >= MIN_WORK and a.ndim > 0


# ---- BLAS: ember splits the big GEMMs over its own threads --------------------------------------
# OpenBLAS's worker threads spin on the other core for ~0.1-0.2 s after every threaded GEMM, so
# a NumPy pass cut into per-core chunks right after a GEMM gains nothing (measured: a col2im pass
# 7.4 ms in 2 chunks when the workers sleep, 19-21 ms right after a GEMM, 17 ms unsplit). So
# ember runs NumPy's OpenBLAS at one thread while other processes use the machine
# (ember/_runtime.py, docs/performance.md item 9), and a big GEMM is cut into per-core
# one-thread GEMMs here. The splits still hold
# `single_threaded_blas()` around their work: a program that gave OpenBLAS its threads back
# does not get two kinds of threads fighting inside one op. Without a recognised OpenBLAS,
# GEMMs stay whole.
# Multiply-adds from which a GEMM is split across threads (OpenBLAS itself threads from 2**18).
MIN_GEMM = 1 << 24


def gemm_shares(fn: Callable[[int, int], None], n: int, work: int, whole: bool = False) -> None:
    """``fn(lo, hi)`` over per-core shares of ``[0, n)`` (images of a batch), where every share
    runs its own GEMMs: the shares of ``share_blocks(n, work)``, run as ``parallel_for`` runs
    its chunks (``whole`` as there). Always with single-threaded BLAS: a
    convolution's GEMMs alternate with NumPy passes that ember splits across the cores, which
    OpenBLAS's spinning workers would slow (see above; measured on the idle machine, the conv
    stack 3-32-64-128 step took 97 ms with OpenBLAS at two threads there, 54 ms at one)."""
    with single_threaded_blas():
        if blas_control() is None:
            fn(0, n)
        else:
            parallel_for(fn, n, work, whole=whole)


def share_blocks(n: int, work: int) -> list[tuple[int, int]]:
    """The shares ``gemm_shares(fn, n, work)`` cuts ``[0, n)`` into (see ``blocks``)."""
    return blocks(n, work) if blas_control() is not None else [(0, n)]


def _split_gemm(m: int, k: int, n: int) -> bool:
    return (
        m * k * n >= MIN_GEMM
        and SETTINGS.threads > 1
        and not getattr(_in_task, "active", False)
        and blas_control() is not None
    )


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` for ``(G, M, K) @ (G, K, N)``; big products are cut along
    the longer of M and N into per-core GEMMs with single-threaded BLAS."""
    g, m, k = a.shape
    n = b.shape[-1]
    if not _split_gemm(m, k, n):
        if g == 1:
            np.matmul(a[0], b[0], out=out[0])
        else:
            np.matmul(a, b, out=out)
        return out
    if m >= n:

        def run(lo: int, hi: int) -> None:
            np.matmul(a[:, lo:hi], b, out=out[:, lo:hi])

        size = m
    else:

        def run(lo: int, hi: int) -> None:
            np.matmul(a, b[..., lo:hi], out=out[..., lo:hi])

        size = n
    with single_threaded_blas():
        parallel_for(run, size, 1 << 62, (run.__code__, g, m, k, n))
    return out


def matmul_reduce(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ``(G, M, K) @ (G, K, N)`` with a long inner ``K`` (weight gradients): big
    products sum per-core partial GEMMs over chunks of K (single-threaded BLAS each)."""
    g, m, k = a.shape
    n = b.shape[-1]
    if not _split_gemm(m, k, n):
        return np.matmul(a[0], b[0])[None] if g == 1 else np.matmul(a, b)
    parts: dict = {}

    def run(lo: int, hi: int) -> None:
        parts[lo] = np.matmul(a[..., lo:hi], b[:, lo:hi])

    with single_threaded_blas():
        parallel_for(run, k, 1 << 62, (run.__code__, g, m, n))
    first, *rest = (parts[lo] for lo in sorted(parts))
    for p in rest:
        first += p
    return first
