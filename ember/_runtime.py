"""Process-wide runtime state, in one place: threads, BLAS control and the global switches.

Floor 1 (imports nothing from ember). What lives here:

- ``SETTINGS.threads``: how many threads one op uses: ember's op pool cuts a big pass (a big
  GEMM included) into that many chunks. ``set_num_threads`` changes it; ``get_num_threads``
  reports it. It starts at the number of cores this process may run on, as PyTorch's does.
- the op thread pool that runs the chunks of big passes (``ops/_parallel.py`` cuts them), made
  on first use and rebuilt at the new size when the thread count changes.
- the BLAS thread policy: NumPy's bundled OpenBLAS, found through ``ctypes`` when ember is
  imported, runs one thread per call while other processes use the machine and
  ``get_num_threads()`` while it is otherwise idle; ember splits the big GEMMs over its own
  threads (see "BLAS threads" below).
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
    "openblas_library",
    "single_threaded_blas",
    "follow_the_load",
    "machine_cpu_seconds",
    "pool_in_use",
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
# The policy: NumPy's OpenBLAS gets the cores other processes leave idle. It runs ONE thread per
# call from `import ember` on, and up to `get_num_threads()` while the rest of the machine is
# idle (`follow_the_load`, looked at twice a second from the GEMM helper); ember splits the GEMMs
# big enough to gain from two cores (ops/_parallel.py: MIN_GEMM multiply-adds) into one-thread
# BLAS calls on its own op pool. OpenBLAS's workers busy-wait for a while after every threaded
# call; while other processes want the cores they fight the main thread (and ember's pool) for
# them. Measured on 2 cores (docs/performance.md, item 9): at load average 4-7 one thread made
# LSTM training 203 -> 55 ms, GRU 394 -> 73 ms, MultiheadAttention 156 -> 30 ms, LeNet 209 -> 24
# ms; on the idle machine two threads made the MLP 784-256-256-10 b64 step 1.8x -> 1.3x of
# PyTorch's time (its GEMMs are below MIN_GEMM). ember's pool threads sleep while they wait.
BLAS_POLICY = (
    "OpenBLAS threads: get_num_threads() while other processes use < 25% of the machine and "
    "ember cuts no big pass into chunks, else 1; "
    "ember splits GEMMs of >= 2**24 multiply-adds"
)
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


_lib: Any = False  # the OpenBLAS library (ctypes.CDLL); False: not looked up yet


def openblas_library() -> Any:
    """The OpenBLAS that NumPy ships, as a ``ctypes.CDLL`` (looked up once), or None when there
    is not exactly one such library beside NumPy."""
    global _lib
    if _lib is False:
        import ctypes

        import numpy as np

        root = os.path.dirname(np.__file__)  # (os.listdir: importing glob costs ~0.5 ms)
        paths = [
            os.path.join(d, name)
            for d in (
                os.path.join(os.path.dirname(root), "numpy.libs"),
                os.path.join(root, ".dylibs"),
            )
            if os.path.isdir(d)
            for name in os.listdir(d)
            if "openblas" in name
        ]
        try:
            _lib = ctypes.CDLL(paths[0]) if len(paths) == 1 else None
        except OSError:
            _lib = None
    return _lib


def _find_blas() -> tuple | None:
    """``(set_num_threads, get_num_threads)`` of the OpenBLAS that NumPy ships, or None."""
    import ctypes

    lib = openblas_library()
    if lib is None:
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
    """OpenBLAS at one thread until ``follow_the_load`` has seen the machine idle (see the
    policy above); nothing without a recognised OpenBLAS."""
    ctl = blas_control()
    if ctl is not None:
        ctl[0](1)
    _Load.threads, _Load.t = 1, 0.0


# Other processes' share of the machine from which OpenBLAS is kept at one thread, and how often
# (seconds) follow_the_load looks at it.
OTHERS_BUSY = 0.25
_LOOK_EVERY = 0.5


class _Load:
    """The last look at the machine: time, this process's CPU time, all processes' CPU time, and
    the OpenBLAS thread count set then."""

    t = 0.0
    own = 0.0
    machine = float("nan")
    threads = 1
    pool_used = -1e9  # when ember's op pool last ran a split pass (time.monotonic())


def machine_cpu_seconds() -> float:
    """CPU seconds all processes have used since boot (``/proc/stat``; NaN elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait


def follow_the_load() -> None:
    """Set OpenBLAS's threads to ``get_num_threads()`` when other processes used less than
    ``OTHERS_BUSY`` of the machine since the last look, else to one. Called before threaded-size
    GEMMs; looks at most every ``_LOOK_EVERY`` s (a ``/proc/stat`` read, ~20 us) and never inside
    a ``single_threaded_blas`` block. Without ``/proc/stat`` OpenBLAS stays at one thread."""
    import time

    now = time.monotonic()
    if now - _Load.t < _LOOK_EVERY or _blas_depth:
        return
    own, machine = time.process_time(), machine_cpu_seconds()
    wall = now - _Load.t
    others = (machine - _Load.machine - (own - _Load.own)) / (wall * usable_cores())
    _Load.t, _Load.own, _Load.machine = now, own, machine
    # (NaN: not measured -> 1.) Nor while ember cuts big passes into chunks: a step that mixes
    # GEMMs with split NumPy passes (convolutions) ran 54 -> 97 ms with two OpenBLAS threads.
    idle = others < OTHERS_BUSY and now - _Load.pool_used > _LOOK_EVERY
    want = SETTINGS.threads if idle else 1
    ctl = blas_control()
    if want != _Load.threads and ctl is not None:
        with _blas_lock:
            if not _blas_depth:
                ctl[0](want)
                _Load.threads = want


def pool_in_use() -> None:
    """ember is about to run a big pass cut into per-thread chunks (on its op pool or in the
    calling thread): OpenBLAS back to one thread (its spinning workers would compete with the
    chunks) until ``follow_the_load`` sees no such pass for a while."""
    import time

    _Load.pool_used = time.monotonic()
    if _Load.threads != 1:
        ctl = blas_control()
        with _blas_lock:
            if ctl is not None and not _blas_depth:
                ctl[0](1)
                _Load.threads = 1


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
