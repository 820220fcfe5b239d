"""The benchmark harness records the load average with every row and flags busy runs (no timing
is asserted: only what is recorded and printed)."""

from __future__ import annotations

from benchmarks import harness
from benchmarks.bench_infer import CASES as INFER_CASES


def _case() -> harness.Case:
    return harness.Case("trivial", lambda: lambda: None, lambda: lambda: None, rounds=2)


def test_rows_record_load_before_and_after(monkeypatch):
    loads = iter([0.25, 7.5])
    monkeypatch.setattr(harness, "load_average", lambda: next(loads))
    monkeypatch.setattr(harness, "WARM_S", 0.0)
    r = harness.run_case(_case())
    assert (r.load_before, r.load_after) == (0.25, 7.5)
    assert r.ratio > 0 and r.ember_s > 0 and r.torch_s > 0
    assert isinstance(r.cpu_ratio, float)


def test_busy_rows_are_flagged(monkeypatch, capsys):
    # By other processes' share of the machine when measured (the benchmark's own threads raise
    # the load average: a high load with few others is not busy), else by the load average.
    monkeypatch.setattr(harness, "_cores", lambda: 2)
    rows = [
        harness.Result("quiet row", 1e-3, 1e-3, 1.0, None, 1.0, 0.2, 1.9, 0.05),
        harness.Result("loaded row", 1e-3, 1e-3, 1.0, 0.5, 1.0, 0.5, 1.9, 0.6),
        harness.Result("unmeasured row", 1e-3, 1e-3, 1.0, None, 1.0, 0.5, 6.0),
    ]
    harness.print_table(rows)
    lines = capsys.readouterr().out.splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln.startswith(("quiet", "loaded", "unmeasured"))}
    assert "BUSY" not in row["quiet"]
    assert row["loaded"].rstrip().endswith("BUSY") and row["unmeasured"].rstrip().endswith("BUSY")
    assert "2 of 3 rows ran on a busy machine" in "\n".join(lines)


def test_others_share_counts_other_processes_only(monkeypatch):
    # Machine CPU grew by 1.5 s over 1 s of wall on 2 cores, 0.5 s of it ours: others used half.
    monkeypatch.setattr(harness, "_cores", lambda: 2)
    clock = iter([10.0, 11.0])
    own = iter([3.0, 3.5])
    machine = iter([100.0, 101.5])
    monkeypatch.setattr(harness.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(harness.time, "process_time", lambda: next(own))
    monkeypatch.setattr(harness, "machine_cpu_seconds", lambda: next(machine))
    start = (
        harness.time.perf_counter(),
        harness.time.process_time(),
        harness.machine_cpu_seconds(),
    )
    assert harness._others_share(start) == 0.5


def test_load_average_is_the_os_figure():
    import os

    assert harness.load_average() >= 0 or not hasattr(os, "getloadavg")


def test_inference_case_builds_and_agrees():
    # The batch-1 inference case runs the same model in both libraries: same output shape.
    (case,) = INFER_CASES
    e, t = case.make_ember()(), case.make_torch()()
    assert tuple(e.shape) == tuple(t.shape) == (1, 10)
    assert not e.requires_grad and not t.requires_grad
