"""Reductions, broadcast and barriers: ``all_reduce``, ``reduce``, ``broadcast``,
``reduce_scatter_tensor``, ``barrier``, ``monitored_barrier``.

Every call starts MPI's non-blocking form and either returns a ``Work`` (``async_op=True``) or
waits for it under the group's timeout. Results land in the given tensors in place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from . import _mpi
from ._buffers import (
    agree,
    bump,
    check_op_dtype,
    check_tensor,
    dtype_code,
    launch,
    move_buffer,
    reduce_buffer,
    root_rank,
    shape_str,
)
from .process_group import resolve
from .reduce_op import RedOpType, ReduceOp, check_op, mpi_op
from .work import Work, wait_requests

__all__ = [
    "all_reduce",
    "reduce",
    "broadcast",
    "reduce_scatter_tensor",
    "barrier",
    "monitored_barrier",
]


def _finish_reduce(buf: np.ndarray, writeback: Any, op: RedOpType, n: int, t: Any) -> Any:
    def finish() -> None:
        if op is RedOpType.AVG:
            np.divide(buf, n, out=buf)
        writeback()
        bump(t)

    return finish


def all_reduce(
    tensor: Any, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``tensor`` over every rank of ``group``; every rank gets the result in place."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    op = check_op(op)
    check_op_dtype(op, tensor)
    agree(pg, "all_reduce", elements=tensor.numel(), dtype=dtype_code(tensor), op=int(op))
    MPI = _mpi.mpi()
    buf, back = reduce_buffer(tensor)
    req = pg._comm.Iallreduce(MPI.IN_PLACE, buf, mpi_op(MPI, op, tensor._data.dtype == np.bool_))
    finish = _finish_reduce(buf, back, op, pg.size(), tensor)
    return launch([req], "all_reduce", pg, finish, async_op, [tensor])


def reduce(
    tensor: Any,
    dst: int | None = None,
    op: Any = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Reduce ``tensor`` over ``group`` into rank ``dst``'s tensor (the others keep theirs)."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = root_rank(pg, dst, group_dst, "reduce")
    op = check_op(op)
    check_op_dtype(op, tensor)
    agree(pg, "reduce", elements=tensor.numel(), dtype=dtype_code(tensor), op=int(op), dst=root)
    MPI = _mpi.mpi()
    mop = mpi_op(MPI, op, tensor._data.dtype == np.bool_)
    buf, back = reduce_buffer(tensor)
    if pg.rank() == root:
        req = pg._comm.Ireduce(MPI.IN_PLACE, buf, mop, root)
        finish = _finish_reduce(buf, back, op, pg.size(), tensor)
    else:
        req = pg._comm.Ireduce(buf, None, mop, root)
        finish = None
    return launch([req], "reduce", pg, finish, async_op, [tensor])


def broadcast(
    tensor: Any,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = root_rank(pg, src, group_src, "broadcast")
    agree(pg, "broadcast", elements=tensor.numel(), dtype=dtype_code(tensor), src=root)
    buf, back = move_buffer(tensor)

    def finish() -> None:
        back()
        bump(tensor)

    req = pg._comm.Ibcast(buf, root)
    return launch([req], "broadcast", pg, finish, async_op, [tensor])


def reduce_scatter_tensor(
    output: Any, input: Any, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``input`` (the group size times ``output``'s elements) over ``group``; rank i gets
    the i-th block of the result in ``output``."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    n = pg.size()
    if input.numel() != n * output.numel():
        raise RuntimeError(
            f"reduce_scatter_tensor: input tensor must hold the group size ({n}) times the output "
            f"tensor's elements, got input {shape_str(input.shape)} and output "
            f"{shape_str(output.shape)}"
        )
    if input.dtype is not output.dtype:
        raise RuntimeError(
            f"reduce_scatter_tensor: input ({input.dtype}) and output ({output.dtype}) dtypes "
            "differ"
        )
    op = check_op(op)
    check_op_dtype(op, input)
    agree(
        pg, "reduce_scatter_tensor", elements=output.numel(), dtype=dtype_code(output), op=int(op)
    )
    MPI = _mpi.mpi()
    send, _ = reduce_buffer(input)
    recv, back = reduce_buffer(output)
    mop = mpi_op(MPI, op, input._data.dtype == np.bool_)
    req = pg._comm.Ireduce_scatter_block(send, recv, mop)
    finish = _finish_reduce(recv, back, op, n, output)
    return launch([req], "reduce_scatter_tensor", pg, finish, async_op, [output])


def barrier(
    group: Any = None, async_op: bool = False, device_ids: Any = None, timeout: Any = None
) -> Work | None:
    """Wait until every rank of ``group`` has reached the barrier."""
    pg = resolve(group)
    if pg is None:
        return None
    w = Work([pg._comm.Ibarrier()], "barrier", timeout or pg._timeout, ranks=pg._ranks)
    if async_op:
        return w
    w.wait()
    return None


_MONITOR_TAG = 32766  # below MPI's guaranteed upper bound for tags (32767)


def monitored_barrier(
    group: Any = None, timeout: timedelta | None = None, wait_all_ranks: bool = False
) -> None:
    """A barrier in which rank 0 checks in every other rank and names those that did not arrive
    within ``timeout`` (all of them with ``wait_all_ranks``)."""
    pg = resolve(group)
    if pg is None:
        return
    limit = timeout or pg._timeout
    comm, n, me = pg._comm, pg.size(), pg.rank()
    token = np.zeros(1, np.uint8)
    if me != 0:
        wait_requests(
            [comm.Isend(token, 0, _MONITOR_TAG)], limit, "monitored_barrier", None, pg._ranks
        )
        wait_requests(
            [comm.Irecv(token, 0, _MONITOR_TAG)], limit, "monitored_barrier", None, pg._ranks
        )
        return
    missing = _check_in(comm, n, limit, wait_all_ranks)
    if missing:
        ms = int(_seconds(limit) * 1000)
        who = ", ".join(str(pg._ranks[r]) for r in missing)
        if wait_all_ranks:
            raise RuntimeError(f"Ranks {who} failed to pass monitoredBarrier in {ms} ms")
        raise RuntimeError(f"Rank {who} failed to pass monitoredBarrier in {ms} ms")
    for r in range(1, n):
        wait_requests([comm.Isend(token, r, _MONITOR_TAG)], limit, "monitored_barrier")


def _seconds(t: Any) -> float:
    return t.total_seconds() if isinstance(t, timedelta) else float(t)


def _check_in(comm: Any, n: int, limit: Any, wait_all: bool) -> list[int]:
    """Rank 0's side: receive every other rank's token; the ranks that stayed away."""
    import time

    tokens = [np.zeros(1, np.uint8) for _ in range(n)]
    reqs = {r: comm.Irecv(tokens[r], r, _MONITOR_TAG) for r in range(1, n)}
    deadline = time.monotonic() + _seconds(limit)
    for r in range(1, n):
        while not reqs[r].Test():
            if time.monotonic() > deadline:
                late = [q for q in range(r, n) if not reqs[q].Test()]
                for q in late:
                    reqs[q].Cancel()
                return late if wait_all else late[:1]
    return []
