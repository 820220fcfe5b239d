"""Process-wide runtime state, in one place: threads, BLAS control and the global switches.

Floor 1 (imports nothing from ember). What lives here:

- ``SETTINGS.threads``: how many threads one op uses: ember's op pool cuts a big pass (a big
  GEMM included) into that many chunks. ``set_num_threads`` changes it; ``get_num_threads``
  reports it. It starts at the number of cores this process may run on, as PyTorch's does.
- the op thread pool that runs the chunks of big passes (``ops/_parallel.py`` cuts them), made
  on first use and rebuilt at the new size when the thread count changes.
- the BLAS thread policy: NumPy's bundled OpenBLAS, found through ``ctypes`` when ember is
  imported, runs one thread per call; ember splits the big GEMMs over its own threads
  (see "BLAS threads" below).
- the switches PyTorch programs set and read back: the default device, float32 matmul precision,
  deterministic algorithms (ember's CPU ops are deterministic whatever they say, so these are
  recorded and reported, never acted on).

The other process-wide objects (the scratch pool, the small caches, the default dtype and
generator, grad mode) live with the code that uses them and are reported by :func:`status`;
``docs/architecture.md`` lists them all.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "SETTINGS",
    "usable_cores",
    "get_num_threads",
    "set_num_threads",
    "op_pool",
    "blas_control",
    "single_threaded_blas",
    "BLAS_POLICY",
    "status",
]


def usable_cores() -> int:
    """The number of cores this process may run on (its affinity mask, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not every platform has affinity masks
        return os.cpu_count() or 1


class _Settings:
    """The mutable process-wide switches (one instance: ``SETTINGS``)."""

    __slots__ = (
        "threads",
        "interop_threads",
        "default_device",
        "matmul_precision",
        "deterministic",
        "deterministic_warn_only",
    )

    def __init__(self) -> None:
        self.threads = usable_cores()
        self.interop_threads = self.threads
        self.default_device: Any = None  # None: cpu
        self.matmul_precision = "highest"
        self.deterministic = False
        self.deterministic_warn_only = False


SETTINGS = _Settings()

# ---- threads and the op pool ---------------------------------------------------------------
_pool: Any = None  # a ThreadPoolExecutor, made on first use (keeps `import ember` light)
_pool_lock = threading.Lock()
IN_TASK = threading.local()  # .active is True inside a pool worker thread


def _mark_worker() -> None:
    IN_TASK.active = True


def op_pool() -> Any:
    """The thread pool that runs the chunks of big passes (``SETTINGS.threads`` workers)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                from concurrent.futures import ThreadPoolExecutor

                _pool = ThreadPoolExecutor(
                    max_workers=SETTINGS.threads,
                    thread_name_prefix="ember-ops",
                    initializer=_mark_worker,
                )
    return _pool


def _drop_pool() -> None:
    """The thread count changed: the next big pass starts a pool of the new size."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False)  # its running chunks finish; their callers still wait on them


def get_num_threads() -> int:
    """The number of threads ember (and BLAS) use for one op."""
    return SETTINGS.threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for one op: ember's op pool cuts big passes and big GEMMs into ``n``
    chunks (each GEMM chunk a one-thread BLAS call: see ``BLAS_POLICY``)."""
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    n = int(n)
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    SETTINGS.threads = n
    _drop_pool()


# ---- BLAS threads --------------------------------------------------------------------------
# The policy: NumPy's OpenBLAS runs ONE thread per call, process-wide, from `import ember` on, and
# ember splits the GEMMs big enough to gain from two cores (ops/_parallel.py: MIN_GEMM
# multiply-adds) into one-thread BLAS calls on its own op pool. OpenBLAS's workers busy-wait
# for work for a while after every threaded call; on a loaded machine they fight the main thread
# (and ember's pool) for the cores. Measured on 2 cores at load average 4-7 (docs/performance.md,
# item 9): LSTM training 203 -> 55 ms, GRU 394 -> 73 ms, MultiheadAttention 156 -> 30 ms, LeNet
# 209 -> 24 ms, a 512^3 matmul 65 -> 1.5 ms with OpenBLAS at one thread. ember's pool threads
# sleep while they wait, so splitting big GEMMs itself keeps both cores for them without spinning.
BLAS_POLICY = "one OpenBLAS thread per call; ember splits GEMMs of >= 2**24 multiply-adds"
_SET_GET = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)
_blas: tuple | None | bool = False  # False: not looked up yet; None: not available
_blas_lock = threading.RLock()
_blas_depth = 0
_blas_prev = 0


def _find_blas() -> tuple | None:
    """``(set_num_threads, get_num_threads)`` of the OpenBLAS that NumPy ships, or None."""
    import ctypes

    import numpy as np

    root = os.path.dirname(np.__file__)  # (os.listdir: importing glob costs ~0.5 ms at import)
    paths = [
        os.path.join(d, name)
        for d in (os.path.join(os.path.dirname(root), "numpy.libs"), os.path.join(root, ".dylibs"))
        if os.path.isdir(d)
        for name in os.listdir(d)
        if "openblas" in name
    ]
    if len(paths) != 1:
        return None
    try:
        lib = ctypes.CDLL(paths[0])
    except OSError:
        return None
    for set_name, get_name in _SET_GET:
        set_fn, get_fn = getattr(lib, set_name, None), getattr(lib, get_name, None)
        if set_fn is not None and get_fn is not None:
            set_fn.argtypes, set_fn.restype = [ctypes.c_int], None
            get_fn.argtypes, get_fn.restype = [], ctypes.c_int
            return set_fn, get_fn
    return None


def blas_control() -> tuple | None:
    """NumPy's OpenBLAS ``(set_num_threads, get_num_threads)``, or None when not recognised."""
    global _blas
    if _blas is False:
        with _blas_lock:
            if _blas is False:
                _blas = _find_blas()
    return _blas  # type: ignore[return-value]


def _apply_blas_policy() -> None:
    """OpenBLAS at one thread (see the policy above); nothing without a recognised OpenBLAS."""
    ctl = blas_control()
    if ctl is not None:
        ctl[0](1)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """OpenBLAS at one thread inside the block (nested and concurrent blocks share one setting,
    the outermost restores it). Yields whether BLAS threads could be controlled."""
    global _blas_depth, _blas_prev
    ctl = blas_control()
    if ctl is None:
        yield False
        return
    set_fn, get_fn = ctl
    with _blas_lock:
        if _blas_depth == 0:
            _blas_prev = get_fn()
            set_fn(1)
        _blas_depth += 1
    try:
        yield True
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                set_fn(_blas_prev)


# ---- debugging -----------------------------------------------------------------------------
def status() -> dict:
    """A snapshot of every piece of process-wide state, for debugging."""
    import sys

    ctl = _blas if _blas not in (False, None) else None
    out: dict = {
        "threads": SETTINGS.threads,
        "usable_cores": usable_cores(),
        "blas": "not looked up yet" if _blas is False else ("OpenBLAS" if ctl else "unknown"),
        "blas_threads": ctl[1]() if ctl else None,
        "blas_policy": BLAS_POLICY if ctl else "BLAS left as found; GEMMs not split",
        "default_device": str(SETTINGS.default_device or "cpu"),
        "float32_matmul_precision": SETTINGS.matmul_precision,
        "deterministic_algorithms": SETTINGS.deterministic,
    }
    # The objects owned by other files, reported only when they have been loaded.
    mods = sys.modules
    if "ember._dtype" in mods:
        out["default_dtype"] = str(mods["ember._dtype"].get_default_dtype())
    if "ember._scratch" in mods:
        pool = mods["ember._scratch"].scratch
        out["scratch_arrays"] = len(pool._arrays)
        out["scratch_bytes"] = sum(a.nbytes for a in pool._arrays)
    out["op_pool_started"] = _pool is not None
    if "ember.autograd.grad_mode" in mods:
        out["grad_enabled"] = mods["ember.autograd.grad_mode"].STATE.enabled
    if "ember.serialization._allowlist" in mods:
        out["safe_globals"] = len(getattr(mods["ember.serialization._allowlist"], "_USER", ()))
    return out


# Applied when ember is imported (~0.5 ms: NumPy has loaded its OpenBLAS already), before any
# GEMM runs. A process that needs OpenBLAS's own threads back can call blas_control()[0](n).
_apply_blas_policy()
