"""Running multi-process jobs from the tests: every job through ember's launcher, under a hard
timeout, with the results read from the ``RESULT {json}`` lines the ranks print."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def run(cmd: list, extra_env: dict = None) -> subprocess.CompletedProcess:
    e = env()
    e.update(extra_env or {})
    return subprocess.run(
        cmd, cwd=ROOT, env=e, capture_output=True, text=True, timeout=HARD_TIMEOUT_S
    )


def results(proc: subprocess.CompletedProcess) -> list:
    """The JSON payloads of every ``RESULT`` line, after checking the job succeeded."""
    assert proc.returncode == 0, f"job failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    out = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert out, f"no RESULT line:\n{proc.stdout}\n{proc.stderr}"
    return out
