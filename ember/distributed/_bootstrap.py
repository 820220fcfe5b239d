"""What runs first in every rank the launcher starts (``run --rank-bootstrap``).

It gives the script torchrun's environment, runs it as ``__main__``, and turns a failure on one
rank into the end of the whole job: an uncaught exception or a non-zero exit prints the rank's
traceback and calls ``MPI_Abort`` (without it the other ranks would wait forever in their next
collective). A rank that finishes normally tells the others, so a collective still waiting for
it fails within seconds instead of hanging (see ``ExitNotices``).
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
import time
import traceback
from typing import Any

import numpy as np

from . import _mpi, work
from .reduce_op import DistBackendError

_TAG = 7
GRACE_S = 5.0  # how long a collective may wait for a rank that has already left


def torchrun_env(comm: Any, MPI: Any) -> dict[str, str]:
    """torchrun's variables for this rank, from MPI's view of the job."""
    rank, size = comm.Get_rank(), comm.Get_size()
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    local_rank, local_size = local.Get_rank(), local.Get_size()
    leader = local.bcast(rank, root=0)
    local.Free()
    leaders = sorted({r for r in comm.allgather(leader)})
    master = comm.bcast(socket.gethostname() if rank == 0 else None, root=0)
    env = {
        "RANK": rank,
        "WORLD_SIZE": size,
        "LOCAL_RANK": local_rank,
        "LOCAL_WORLD_SIZE": local_size,
        "GROUP_RANK": leaders.index(leader),
        "GROUP_WORLD_SIZE": len(leaders),
        "ROLE_NAME": "default",
        "ROLE_RANK": rank,
        "ROLE_WORLD_SIZE": size,
        "MASTER_ADDR": os.environ.get("MASTER_ADDR")
        or ("127.0.0.1" if len(leaders) == 1 else master),
        "MASTER_PORT": os.environ.get("MASTER_PORT", "29500"),
        "TORCHELASTIC_RESTART_COUNT": 0,
        "TORCHELASTIC_MAX_RESTARTS": 0,
        "TORCHELASTIC_RUN_ID": os.environ.get("TORCHELASTIC_RUN_ID", "ember"),
    }
    return {k: str(v) for k, v in env.items()}


class ExitNotices:
    """Messages "rank r has finished its script", on a communicator of their own."""

    def __init__(self, comm: Any, MPI: Any) -> None:
        self.MPI = MPI
        self.comm = comm.Dup()
        self.left: set[int] = set()
        self.me = comm.Get_rank()
        self.size = comm.Get_size()
        self._empty = np.zeros(0, np.uint8)

    def poll(self) -> None:
        st = self.MPI.Status()
        while self.comm.Iprobe(self.MPI.ANY_SOURCE, _TAG, st):
            self.comm.Recv(self._empty, st.Get_source(), _TAG)
            self.left.add(st.Get_source())

    def check(self, what: str, ranks: list[int] | None, waited: float) -> None:
        """Raise when a rank of the waiting collective has finished and the wait is long."""
        if waited < GRACE_S:
            return
        self.poll()
        gone = sorted(self.left if ranks is None else self.left.intersection(ranks))
        if gone:
            raise DistBackendError(
                f"{what} on rank {self.me} can never complete: rank(s) {gone} already finished "
                f"their script (ranks must run the same collectives; a rank that returns early or "
                f"has fewer batches leaves the others waiting)"
            )

    def finish(self) -> None:
        """Tell every rank this one is done, then wait (idle) until all are done."""
        reqs = [self.comm.Isend(self._empty, r, _TAG) for r in range(self.size) if r != self.me]
        while len(self.left) < self.size - 1:
            self.poll()
            time.sleep(0.01)
        self.MPI.Request.Waitall(reqs)
        self.comm.Free()


def _print_user_traceback(e: BaseException) -> None:
    """The traceback from the script's own frames on (not the bootstrap's or runpy's)."""
    tb = e.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename == __file__ or "runpy" in tb.tb_frame.f_code.co_filename
    ):
        tb = tb.tb_next
    traceback.print_exception(type(e), e, tb or e.__traceback__)


def _abort(comm: Any, code: int, why: str) -> None:
    sys.stdout.flush()
    print(f"[ember.distributed.run] rank {comm.Get_rank()} {why}; ending the job", file=sys.stderr)
    sys.stderr.flush()
    # mpiexec forwards each rank's output asynchronously and an abort tears the job down at
    # once: without a moment's grace a loaded machine lost the traceback (seen 2 runs in 6).
    time.sleep(0.5)
    comm.Abort(code)


def main(target: str, args: list[str], module: bool) -> None:
    """Run ``target`` (a script path, or a module name with ``module``) as this rank."""
    MPI = _mpi.mpi()
    comm = MPI.COMM_WORLD
    os.environ.update(torchrun_env(comm, MPI))
    notices = ExitNotices(comm, MPI)
    work.peer_check = notices.check
    try:
        if module:
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code not in (None, 0):
            if not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
            _abort(comm, code, f"exited with code {code}")
    except BaseException as e:
        _print_user_traceback(e)
        _abort(comm, 1, "raised an exception")
    work.peer_check = None
    notices.finish()
