"""The launcher: ``python -m ember.distributed.run -n N script.py args...`` (or ``ember-run``).

torchrun's counterpart over MPI. It finds ``mpiexec`` (the one installed next to this Python
first: the ``mpich`` wheel puts it there), adds the flags MPICH or Open MPI need on this machine,
gives each rank a share of the cores for its BLAS threads, and starts every rank through
``--rank-bootstrap``, which sets torchrun's environment and ends the whole job when one rank
fails. Under a cluster's own launcher, use the bootstrap directly::

    mpiexec -n 8 python -m ember.distributed.run --rank-bootstrap train.py --epochs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ._mpi import INSTALL_HINT

__all__ = ["main", "find_mpiexec", "mpiexec_command"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m ember.distributed.run",
        description="Start N ember processes of one data-parallel job (torchrun over MPI).",
    )
    ap.add_argument(
        "-n",
        "--nproc-per-node",
        "--nproc_per_node",
        dest="n",
        type=int,
        default=1,
        help="number of processes (with --hosts/--hostfile: in total)",
    )
    ap.add_argument("--timeout", type=float, default=None, help="end the job after S seconds")
    ap.add_argument("--hostfile", default=None, help="MPI hostfile for several machines")
    ap.add_argument("--hosts", default=None, help="comma-separated host names")
    ap.add_argument("--ppn", type=int, default=None, help="processes per host (with --hosts)")
    ap.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: found)")
    ap.add_argument("--no-bind", action="store_true", help="do not bind ranks to cores")
    ap.add_argument("--standalone", action="store_true", help="accepted, as torchrun's")
    ap.add_argument("--nnodes", default="1", help="torchrun's; several nodes need --hosts")
    ap.add_argument("--rank-bootstrap", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("-m", dest="module", action="store_true", help="target is a module name")
    ap.add_argument("target", help="the script (or module, with -m) every rank runs")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    return ap


def find_mpiexec(explicit: str | None = None) -> str:
    """``explicit``, else the mpiexec next to this Python (or in its environment's scripts
    directory: where the ``mpich`` wheel installs it), else the one on PATH."""
    if explicit:
        return explicit
    for d in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (d / "mpiexec").exists():
            return str(d / "mpiexec")
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise SystemExit(f"ember.distributed.run: no mpiexec found; {INSTALL_HINT}")
    return found


def flavour(mpiexec: str) -> str:
    """``"openmpi"`` or ``"mpich"`` (MPICH, Intel MPI and other Hydra launchers)."""
    try:
        out = subprocess.run(
            [mpiexec, "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return "openmpi" if "Open MPI" in out or "OpenRTE" in out or "prte" in out else "mpich"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def thread_env(n: int, env: dict) -> dict:
    """One BLAS/OpenMP thread budget per rank: the cores divided among the ranks, unless set."""
    share = str(max(1, _cores() // n))
    return {v: env.get(v) or share for v in _THREAD_VARS}


def mpiexec_command(opts: argparse.Namespace, mpiexec: str, kind: str, env: dict) -> list[str]:
    """The mpiexec command line for ``opts`` (also updates ``env`` for the job)."""
    n = opts.n
    one_host = opts.hostfile is None and opts.hosts is None
    cmd = [mpiexec]
    if kind == "mpich":
        if opts.hostfile:
            cmd += ["-f", opts.hostfile]
        if opts.hosts:
            cmd += ["-hosts", opts.hosts]
        if opts.ppn:
            cmd += ["-ppn", str(opts.ppn)]
        if one_host and not opts.no_bind and n <= _cores():
            cmd += ["-bind-to", "core"]
        if opts.timeout:  # a backstop: the launcher itself ends the job at --timeout
            env["MPIEXEC_TIMEOUT"] = str(int(max(1, opts.timeout)) + _BACKSTOP_S)
    else:
        if os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
        if opts.hostfile:
            cmd += ["--hostfile", opts.hostfile]
        if opts.hosts:
            cmd += ["--host", opts.hosts]
        if opts.ppn:
            cmd += ["--map-by", f"ppr:{opts.ppn}:node"]
        if one_host and n > _cores():
            cmd += ["--oversubscribe", "--bind-to", "none"]
        elif opts.no_bind:
            cmd += ["--bind-to", "none"]
        if opts.timeout:  # a backstop, as for MPICH
            cmd += ["--timeout", str(int(max(1, opts.timeout)) + _BACKSTOP_S)]
        for v in _THREAD_VARS:  # Open MPI forwards only the variables it is told to
            cmd += ["-x", v]
    cmd += ["-n", str(n), sys.executable, "-m", "ember.distributed.run", "--rank-bootstrap"]
    cmd += ["-m", opts.target] if opts.module else [opts.target]
    return cmd + list(opts.args)


def main(argv: list[str] | None = None) -> int:
    opts = _parser().parse_args(argv)
    if opts.rank_bootstrap:
        from ._bootstrap import main as bootstrap

        bootstrap(opts.target, list(opts.args), opts.module)
        return 0
    if opts.n < 1:
        raise SystemExit("ember.distributed.run: -n must be at least 1")
    if opts.nnodes not in ("1", "1:1") and opts.hosts is None and opts.hostfile is None:
        raise SystemExit(
            "ember.distributed.run: several nodes are given with --hosts or --hostfile "
            "(and -n counts the processes of all of them)"
        )
    mpiexec = find_mpiexec(opts.mpiexec)
    env = dict(os.environ)
    env.update(thread_env(opts.n, env))
    cmd = mpiexec_command(opts, mpiexec, flavour(mpiexec), env)
    return _run_job(cmd, env, opts.timeout)


# mpiexec's own timeout is only a backstop, this many seconds after --timeout: MPICH's hydra
# sometimes returned 0 for a job it had ended on its timeout (seen under load).
_BACKSTOP_S = 15
TIMED_OUT = 124  # the exit code of a job ended by --timeout (as coreutils' timeout)


def _run_job(cmd: list[str], env: dict, timeout: float | None) -> int:
    """Run mpiexec; past ``timeout`` seconds end the job and return ``TIMED_OUT``."""
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(
            f"[ember.distributed.run] the job ran past --timeout {timeout:g} s; ending it",
            file=sys.stderr,
            flush=True,
        )
        proc.terminate()  # mpiexec ends every rank on SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return TIMED_OUT


def console() -> None:
    """The ``ember-run`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
