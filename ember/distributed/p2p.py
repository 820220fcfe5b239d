"""Point-to-point messages: ``send``, ``recv``, ``isend``, ``irecv``."""

from __future__ import annotations

from typing import Any

from . import _mpi
from ._buffers import bump, check_tensor, move_buffer
from .process_group import ProcessGroup, resolve
from .work import Work

__all__ = ["send", "recv", "isend", "irecv"]


def _peer(pg: ProcessGroup, rank: int | None, group_rank: int | None, what: str) -> int:
    if rank is not None and group_rank is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    if rank is None and group_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    r = pg.group_rank(int(rank)) if group_rank is None else int(group_rank)
    if r == pg.rank():
        raise ValueError(
            f"Invalid {what} rank: {what} rank should not be the same as the rank of the current "
            "process."
        )
    return r


def isend(
    tensor: Any,
    dst: int | None = None,
    group: Any = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; ``wait()`` the returned Work."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "destination")
    buf, _ = move_buffer(tensor)
    return Work(
        [pg._comm.Isend(buf, peer, tag)],
        "send",
        pg._timeout,
        outputs=[tensor],
        ranks=[pg._ranks[peer]],
    )


def irecv(
    tensor: Any,
    src: int | None = None,
    group: Any = None,
    tag: int = 0,
    group_src: int | None = None,
) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None)."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    MPI = _mpi.mpi()
    peer = (
        MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "source")
    )
    buf, back = move_buffer(tensor, copy_in=False)
    req = pg._comm.Irecv(buf, peer, tag)
    status = MPI.Status()

    def finish() -> None:
        got = status.Get_count(MPI.BYTE)
        if got != buf.nbytes:  # MPI accepts a shorter message; PyTorch's tensors must match
            raise RuntimeError(
                f"recv: the message from rank {pg._ranks[status.Get_source()]} has {got} bytes "
                f"but the receiving tensor {tuple(tensor.shape)} {tensor.dtype} holds {buf.nbytes}"
            )
        back()
        bump(tensor)

    ranks = [] if peer == MPI.ANY_SOURCE else [pg._ranks[peer]]  # any sender may still come
    return Work([req], "recv", pg._timeout, finish, [tensor], status, ranks)


def send(
    tensor: Any,
    dst: int | None = None,
    group: Any = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the message is delivered or buffered)."""
    w = isend(tensor, dst, group, tag, group_dst)
    if w is not None:
        w.wait()


def recv(
    tensor: Any,
    src: int | None = None,
    group: Any = None,
    tag: int = 0,
    group_src: int | None = None,
) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's
    rank (-1 if this rank is not in ``group``)."""
    pg = resolve(group)
    w = irecv(tensor, src, group, tag, group_src)
    if w is None:
        return -1
    sender = w.source_rank()
    return pg._ranks[sender] if group_src is None else sender
