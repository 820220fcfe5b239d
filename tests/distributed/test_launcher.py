"""The launcher: torchrun's environment, ``-m`` targets, the mpiexec command line, and jobs
that fail (a rank raises, exits, dies, returns early or hangs) ending quickly, never hanging."""

import argparse
import subprocess
import sys
import time

import pytest

from ember.distributed import run as launcher

from ._launch import ROOT, SCRIPTS, env, launch, results, run


def test_torchrun_environment_and_arguments():
    out = results(launch("hello.py", 2, "--lr", "0.1", "x"))
    by_rank = {o["rank"]: o for o in out}
    assert sorted(by_rank) == [0, 1]
    for r, o in by_rank.items():
        assert o["RANK"] == str(r) and o["LOCAL_RANK"] == str(r)
        assert o["WORLD_SIZE"] == "2" and o["LOCAL_WORLD_SIZE"] == "2"
        assert o["GROUP_RANK"] == "0" and o["MASTER_ADDR"] == "127.0.0.1"
        assert o["MASTER_PORT"] == "29500" and o["TORCHELASTIC_RUN_ID"]
        assert o["argv"] == ["--lr", "0.1", "x"]


def test_module_target_and_bootstrap_under_plain_mpiexec():
    mpiexec = launcher.find_mpiexec()
    cmd = [mpiexec, "-n", "2", sys.executable, "-m", "ember.distributed.run", "--rank-bootstrap"]
    cmd += ["-m", "tests.distributed.scripts.hello", "a"]
    out = results(run(cmd, {"MPIEXEC_TIMEOUT": "60"}))
    assert sorted(o["rank"] for o in out) == [0, 1]
    assert all(o["argv"] == ["a"] and o["WORLD_SIZE"] == "2" for o in out)


def _opts(**kw):
    base = dict(n=2, timeout=None, hostfile=None, hosts=None, ppn=None, no_bind=False)
    base.update(module=False, target="train.py", args=["--x"])
    base.update(kw)
    return argparse.Namespace(**base)


def test_mpich_command_line(monkeypatch):
    monkeypatch.setattr(launcher, "_cores", lambda: 2)
    e = {}
    cmd = launcher.mpiexec_command(_opts(timeout=7), "mpiexec", "mpich", e)
    # mpiexec's own timeout is a backstop after the launcher's (it ends the job at 7 s itself)
    backstop = str(7 + launcher._BACKSTOP_S)
    assert cmd[:3] == ["mpiexec", "-bind-to", "core"] and e["MPIEXEC_TIMEOUT"] == backstop
    assert cmd[-4:] == ["ember.distributed.run", "--rank-bootstrap", "train.py", "--x"]
    cmd = launcher.mpiexec_command(_opts(n=4, hosts="a,b", ppn=2), "mpiexec", "mpich", {})
    assert "-bind-to" not in cmd and cmd[1:5] == ["-hosts", "a,b", "-ppn", "2"]
    cmd = launcher.mpiexec_command(_opts(module=True, target="pkg.train"), "m", "mpich", {})
    assert cmd[-3:] == ["-m", "pkg.train", "--x"]


def test_open_mpi_command_line(monkeypatch):
    monkeypatch.setattr(launcher, "_cores", lambda: 2)
    monkeypatch.setattr(launcher.os, "geteuid", lambda: 0)
    cmd = launcher.mpiexec_command(_opts(n=4, timeout=5), "mpirun", "openmpi", {})
    assert "--allow-run-as-root" in cmd and "--oversubscribe" in cmd
    assert cmd[cmd.index("--timeout") + 1] == str(5 + launcher._BACKSTOP_S)
    assert cmd.count("-x") == 3
    cmd = launcher.mpiexec_command(_opts(hostfile="hf"), "mpirun", "openmpi", {})
    assert cmd[cmd.index("--hostfile") + 1] == "hf" and "--oversubscribe" not in cmd


def test_thread_budget_per_rank(monkeypatch):
    monkeypatch.setattr(launcher, "_cores", lambda: 8)
    got = launcher.thread_env(3, {"MKL_NUM_THREADS": "5"})
    assert got == {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "5"}
    assert launcher.thread_env(16, {})["OMP_NUM_THREADS"] == "1"


def test_flavour_of_the_installed_mpiexec():
    assert launcher.flavour(launcher.find_mpiexec()) == "mpich"


# Time from the moment rank 1 misbehaves to the job's end. Each bound sits far below what would
# happen without the mechanism under test (the job's own 60 s timeout, or rank 1's 3600 s
# sleep), yet leaves a loaded machine ample room: the ends observed idle are ~1 s (~6 s exit0).
TEARDOWN_S = 30


@pytest.mark.parametrize(
    "how, rc, says",
    [
        ("raise", 1, "rank 1 raised an exception; ending the job"),  # MPI_Abort from bootstrap
        ("exit3", 3, "rank 1 exited with code 3; ending the job"),  # the code is kept
        ("kill", 9, ""),  # os._exit, no Python teardown: mpiexec ends the job with its code
        ("exit0", 1, "already finished their script"),  # rank 0's wait notices (after ~5 s)
    ],
)
def test_failing_rank_ends_the_job(how, rc, says):
    proc = launch("fail.py", 2, how, job_timeout=60)
    took = time.time() - proc.outputs[1]["failing_at"]
    assert proc.returncode == rc, proc.stderr
    assert says in proc.stderr, proc.stderr
    assert list(proc.outputs) == [1], proc.outputs  # rank 0's second all_reduce never ended
    assert took < TEARDOWN_S, took
    if how == "raise":
        assert "rank 1 failed on purpose" in proc.stderr and "fail.py" in proc.stderr


def test_process_group_timeout_names_the_collective():
    proc = launch("fail.py", 2, "pg_timeout", job_timeout=60)
    assert proc.returncode == 1
    assert "DistBackendError: all_reduce timed out after 1 s" in proc.stderr
    assert list(proc.outputs) == [1]  # the second all_reduce timed out, not the first
    assert time.time() - proc.outputs[1]["failing_at"] < TEARDOWN_S  # rank 1 sleeps 30 s


def test_timeout_ends_a_hung_job():
    proc = launch("fail.py", 2, "sleep", job_timeout=2)
    assert proc.returncode == launcher.TIMED_OUT, proc.stderr
    assert "ran past --timeout 2 s" in proc.stderr
    assert list(proc.outputs) == [1]
    assert time.time() - proc.outputs[1]["failing_at"] < TEARDOWN_S  # rank 1 sleeps 3600 s


def test_world_size_mismatch_names_the_launcher():
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "hello.py")],
        cwd=ROOT,
        env={**env(), "WORLD_SIZE": "2", "RANK": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "RuntimeError" in proc.stderr and "python -m ember.distributed.run" in proc.stderr


def test_import_without_mpi4py():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import ember, ember.distributed as d\n"
        "assert not d.is_available() and not d.is_gloo_available()\n"
        "assert 'mpi4py' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "try:\n"
        "    d.init_process_group('gloo')\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    proc = run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'ember[distributed]'" in proc.stdout


def test_import_ember_does_not_import_mpi():
    code = "import sys, ember, ember.distributed; print('mpi4py' in sys.modules)"
    proc = run([sys.executable, "-c", code])
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr
