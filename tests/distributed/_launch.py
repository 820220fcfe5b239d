"""Running multi-process jobs from the tests: every job through ember's launcher, under a hard
timeout, with the results read from the per-rank files the ranks write (``scripts/_result.py``;
not from stdout, where mpiexec may interleave the ranks' lines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"

# The job's own timeout (the launcher ends a stuck job) and, above it, the test's hard limit.
JOB_TIMEOUT_S = 60
HARD_TIMEOUT_S = 90


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["OPENBLAS_NUM_THREADS"] = "1"
    e["OMP_NUM_THREADS"] = "1"
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(k, None)
    return e


def launch(
    script: str, n: int, *args: str, job_timeout: float = JOB_TIMEOUT_S, extra_env: dict = None
) -> subprocess.CompletedProcess:
    """``python -m ember.distributed.run -n n --timeout job_timeout scripts/script args``."""
    cmd = [sys.executable, "-m", "ember.distributed.run", "-n", str(n)]
    cmd += ["--timeout", str(job_timeout), str(SCRIPTS / script), *args]
    return run(cmd, extra_env)


def run(
    cmd: list, extra_env: dict = None, cwd: Path = ROOT, timeout: float = HARD_TIMEOUT_S
) -> subprocess.CompletedProcess:
    """Run ``cmd`` to its end; ``proc.outputs`` maps each rank that emitted a result to it."""
    e = env()
    e.update(extra_env or {})
    with tempfile.TemporaryDirectory(prefix="ember-results-") as out:
        e["EMBER_TEST_RESULTS"] = out
        proc = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
        files = Path(out).glob("*.json")  # complete files only: each was renamed into place
        proc.outputs = {int(f.stem): json.loads(f.read_text("utf-8")) for f in files}
    return proc


def results(proc: subprocess.CompletedProcess) -> list:
    """The results the ranks emitted, in rank order, after checking the job succeeded."""
    assert proc.returncode == 0, f"job failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert proc.outputs, f"no result emitted:\n{proc.stdout}\n{proc.stderr}"
    return [proc.outputs[r] for r in sorted(proc.outputs)]
