"""The benchmark harness: the same work in ember and PyTorch, timed in alternating rounds.

The machine is noisy (see docs/performance.md), so each round times one ember
sample then one torch sample, and the figure that counts is the median of the per-round ratios
ember/torch. Absolute medians are printed too.

Each side runs untimed for at least ``WARM_S`` right before its sample in every round, so that
each library is timed in its own steady state, as a user running only that library sees it:
after one library's work its thread pool keeps spinning for a while (OpenBLAS's workers spin for
~0.1 s after a threaded GEMM, PyTorch's OpenMP workers too) and slows the other library's sample
that follows. Measured on the MLP (2026-11-27 UTC, 10-call samples): with no warm-up both sides ran
2-3x slower than alone (ember 1.3-1.6 ms, torch 2.1-2.3 ms, ratio 0.62-0.73); with one warm-up
call the ratio swung between 0.66 and 0.92; with 150 ms of warm-up both ran at their solo speed
(ember ~0.77 ms, torch ~0.85-0.91 ms) and the ratio settled at 0.87-0.88.

Wall-clock ratios are only trustworthy on an idle machine, so every row records what other
processes used of the machine while it ran (``others``: their CPU time over the row's wall time
and all cores, from ``/proc/stat`` minus this process's own CPU time) and the 1-minute load average
before and after it. A row is flagged ``BUSY`` when other processes used more than a quarter of the
machine (where ``/proc/stat`` is missing: when the load average exceeds half the cores; the load
average alone cannot tell: the benchmark's own two threads raise it to ~2). The table also prints
the ratio of process CPU time (``time.process_time``), which waiting for a core does not inflate
(spinning threads still do), as a second, load-robust opinion.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from ember._runtime import machine_cpu_seconds  # the same /proc/stat reading as ember's

__all__ = ["Case", "run_case", "print_table", "load_average", "busy"]


@dataclass
class Case:
    """One benchmark: each ``make_*`` builds its inputs once and returns the callable to time.

    ``inner`` calls of the callable make one sample (for very short work).
    """

    name: str
    make_ember: Callable[[], Callable[[], object]]
    make_torch: Callable[[], Callable[[], object]]
    inner: int = 1
    rounds: int = 30
    target: float | None = None  # the target ratio, printed for reference


@dataclass
class Result:
    name: str
    ember_s: float
    torch_s: float
    ratio: float
    target: float | None
    cpu_ratio: float = float("nan")  # median per-round ratio of process CPU time
    load_before: float = float("nan")  # 1-minute load average before the row
    load_after: float = float("nan")
    others: float = float("nan")  # share of the machine other processes used during the row


# Untimed work before each sample (see the module docstring).
WARM_S = 0.15


def both_libs(make: Callable) -> tuple[Callable, Callable]:
    """(make_ember, make_torch): ``make(lib)`` with ember, and with torch, imported on call."""

    def ember_side():
        import ember

        return make(ember)

    def torch_side():
        import torch

        return make(torch)

    return ember_side, torch_side


def _warm(fn: Callable[[], object]) -> None:
    t0 = time.perf_counter()
    fn()
    while time.perf_counter() - t0 < WARM_S:
        fn()


def _sample(fn: Callable[[], object], inner: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per call."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    t1 = time.perf_counter()
    return (t1 - t0) / inner, (time.process_time() - c0) / inner


def load_average() -> float:
    """The machine's 1-minute load average (NaN where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy(load: float) -> bool:
    """Whether a load average means other work competed for the cores (above half of them)."""
    return load > 0.5 * _cores()


# Share of the machine (all cores) that other processes may use before a row is flagged.
OTHERS_BUSY = 0.25


def row_busy(r: Result) -> bool:
    """Whether other work competed with a row: by ``others`` when measured, else by load."""
    if r.others == r.others:  # not NaN
        return r.others > OTHERS_BUSY
    return busy(r.load_before) or busy(r.load_after)


def run_case(case: Case, rounds: int | None = None) -> Result:
    """Time ``case`` in alternating rounds; returns medians and the median per-round ratio."""
    fe = case.make_ember()
    ft = case.make_torch()
    for _ in range(3):  # warm up both (allocations, caches, lazy imports)
        fe()
        ft()
    te, tt, ratios, cpu_ratios = [], [], [], []
    load_before = load_average()
    start = (time.perf_counter(), time.process_time(), machine_cpu_seconds())
    for _ in range(rounds or case.rounds):
        _warm(fe)
        a, ca = _sample(fe, case.inner)
        _warm(ft)
        b, cb = _sample(ft, case.inner)
        te.append(a)
        tt.append(b)
        ratios.append(a / b)
        cpu_ratios.append(ca / cb if cb > 0 else float("nan"))
    return Result(
        case.name,
        statistics.median(te),
        statistics.median(tt),
        statistics.median(ratios),
        case.target,
        statistics.median(cpu_ratios),
        load_before,
        load_average(),
        _others_share(start),
    )


def _others_share(start: tuple) -> float:
    """Other processes' CPU time since ``start`` over the wall time and all cores."""
    wall, own, machine = (
        time.perf_counter() - start[0],
        time.process_time() - start[1],
        machine_cpu_seconds() - start[2],
    )
    return max(0.0, (machine - own) / (wall * _cores())) if wall > 0 else float("nan")


def _fmt(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.1f} us"
    return f"{s * 1e3:8.2f} ms"


def print_table(results: list[Result]) -> None:
    """One row per result; ``others`` is the share of the machine other processes used during
    the row, ``load`` the 1-minute load average before/after it."""
    print(
        f"{'benchmark':58s} {'ember':>11s} {'torch':>11s} {'ratio':>7s} {'cpu':>6s} "
        f"{'target':>7s} {'others':>6s} {'load':>11s}"
    )
    for r in results:
        tgt = f"{r.target:.2f}" if r.target else ""
        flag = "  BUSY" if row_busy(r) else ""
        print(
            f"{r.name:58s} {_fmt(r.ember_s)} {_fmt(r.torch_s)} {r.ratio:7.2f} "
            f"{r.cpu_ratio:6.2f} {tgt:>7s} {r.others:6.2f} "
            f"{r.load_before:5.2f}/{r.load_after:<5.2f}{flag}"
        )
    n_busy = sum(row_busy(r) for r in results)
    if n_busy:
        print(
            f"{n_busy} of {len(results)} rows ran on a busy machine (other processes used more "
            f"than {OTHERS_BUSY:.0%} of {_cores()} cores): their wall-clock ratios are "
            "unreliable; the cpu column (process CPU time ratio) is less affected."
        )
