"""Run large single-threaded NumPy passes on every usable core.

NumPy's copies and ufunc loops run on one core (only BLAS is multi-threaded), but they release
the GIL while they run, so cutting one big pass into per-core chunks along an axis and running the
chunks on Python threads uses the other cores (docs/performance.md, item 4).

- ``parallel_for(fn, n, work)`` calls ``fn(lo, hi)`` over ``[0, n)``: in one plain call when the
  pass is small (``work`` elements below ``MIN_WORK``: waking a thread costs tens of microseconds),
  when only one core is usable, or when called from inside a pool task (a task never waits on the
  pool, so nested calls cannot deadlock); otherwise in one chunk per core, the calling thread
  running the first chunk itself.
- ``split_axis(a)`` is the axis to cut ``a`` along: the outermost one in memory, so that every
  chunk is one block of memory (a channels-last view is cut along its batch axis too).
- ``unary_into`` / ``binary_into`` apply ``f(*chunk_inputs, out=chunk_out)`` chunk by chunk.

The pool (owned by ``ember/_runtime.py``, sized by ``set_num_threads``) is created lazily on first
use and shared by every thread of the process (DataLoader worker threads included): callers only
submit independent chunks and wait for their own.
"""

from __future__ import annotations

from collections.abc import Callable

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
    "cores",
    "parallel_for",
    "split_axis",
    "copy_into",
    "unary_into",
    "binary_into",
    "single_threaded_blas",
    "gemm_shares",
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


def parallel_for(fn: Callable[[int, int], None], n: int, work: int) -> None:
    """Call ``fn(lo, hi)`` over chunks covering ``[0, n)``, concurrently when worthwhile.

    ``work`` is the size of the whole pass in elements (it decides whether splitting pays).
    ``fn`` must write disjoint results per chunk. Exceptions raised by any chunk propagate.
    """
    if work < MIN_WORK or SETTINGS.threads < 2 or n < 2 or getattr(_in_task, "active", False):
        fn(0, n)
        return
    (lo0, hi0), *rest = _bounds(n, SETTINGS.threads)
    pool_in_use()  # (OpenBLAS back to one thread: its spinning workers would slow the chunks)
    pool = op_pool()
    futures = [pool.submit(fn, lo, hi) for lo, hi in rest]
    try:
        fn(lo0, hi0)
    finally:
        # Wait for every chunk even if ours failed: none may still write after we return.
        errors = [f.exception() for f in futures]
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

    parallel_for(run, dst.shape[ax], dst.size)


def unary_into(f: Callable, x: np.ndarray, out: np.ndarray, **kw) -> np.ndarray:
    """``f(x, out=out, **kw)`` computed in per-core chunks along ``out``'s outermost axis."""
    if out.size < MIN_WORK or out.ndim == 0:
        f(x, out=out, **kw)
        return out
    ax = split_axis(out)

    def run(lo: int, hi: int) -> None:
        s = _chunk(ax, lo, hi)
        f(x[s], out=out[s], **kw)

    parallel_for(run, out.shape[ax], out.size)
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

    parallel_for(run, out.shape[ax], out.size)
    return out


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


def gemm_shares(fn: Callable[[int, int], None], n: int, work: int) -> None:
    """``fn(lo, hi)`` over per-core shares of ``[0, n)`` (images of a batch), where every share
    runs its own GEMMs: split when the pass is big (``work`` elements, as ``parallel_for``) and
    BLAS threads can be controlled, otherwise one call. Always with single-threaded BLAS: a
    convolution's GEMMs alternate with NumPy passes that ember splits across the cores, which
    OpenBLAS's spinning workers would slow (see above; measured on the idle machine, the conv
    stack 3-32-64-128 step took 97 ms with OpenBLAS at two threads there, 54 ms at one)."""
    with single_threaded_blas():
        if (
            work < MIN_WORK
            or n < 2
            or SETTINGS.threads < 2
            or getattr(_in_task, "active", False)
            or blas_control() is None
        ):
            fn(0, n)
        else:
            parallel_for(fn, n, 1 << 62)


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
        parallel_for(run, size, 1 << 62)
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
        parallel_for(run, k, 1 << 62)
    first, *rest = (parts[lo] for lo in sorted(parts))
    for p in rest:
        first += p
    return first
