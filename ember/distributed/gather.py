"""Collectives that move blocks between ranks: ``all_gather``, ``all_gather_into_tensor``,
``gather``, ``scatter``, ``all_to_all_single``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _mpi
from ._buffers import (
    agree,
    bump,
    check_tensor,
    check_tensor_list,
    dtype_code,
    launch,
    move_buffer,
    raw,
    root_rank,
    shape_str,
)
from .process_group import ProcessGroup, resolve
from .work import Work, wait_requests

__all__ = ["all_gather", "all_gather_into_tensor", "gather", "scatter", "all_to_all_single"]


def _check_blocks(what: str, ts: list, like: Any, n: int) -> None:
    """PyTorch's checks of a per-rank tensor list: length, then each shape and dtype."""
    if len(ts) != n:
        raise RuntimeError(
            f"{what}: invalid tensor list (expected length {n}, the group size, got {len(ts)})"
        )
    for i, t in enumerate(ts):
        if t.shape != like.shape:
            raise RuntimeError(
                f"{what}: invalid tensor size at index {i} (expected "
                f"{shape_str(like.shape)}, got {shape_str(t.shape)})"
            )
        if t.dtype is not like.dtype:
            raise RuntimeError(
                f"{what}: invalid tensor type at index {i} (expected {like.dtype}, got {t.dtype})"
            )


def _stacked(n: int, like: Any) -> np.ndarray:
    return np.empty((n, *like._data.shape), like._data.dtype)


def _scatter_into(ts: list, blocks: np.ndarray) -> Any:
    def finish() -> None:
        for t, b in zip(ts, blocks):
            np.copyto(t._data, b)
            bump(t)

    return finish


def all_gather(tensor_list: Any, tensor: Any, group: Any = None, async_op: bool = False):
    """Every rank gets every rank's ``tensor``: rank i's lands in ``tensor_list[i]``."""
    outs = check_tensor_list(tensor_list, "tensor_list")
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    _check_blocks("all_gather", outs, tensor, pg.size())
    agree(pg, "all_gather", elements=tensor.numel(), dtype=dtype_code(tensor))
    send, _ = move_buffer(tensor)
    blocks = _stacked(pg.size(), tensor)
    req = pg._comm.Iallgather(send, raw(blocks))
    return launch([req], "all_gather", pg, _scatter_into(outs, blocks), async_op, outs)


def all_gather_into_tensor(
    output_tensor: Any, input_tensor: Any, group: Any = None, async_op: bool = False
) -> Work | None:
    """Every rank's ``input_tensor`` concatenated (or stacked) in rank order into
    ``output_tensor``."""
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    pg = resolve(group)
    if pg is None:
        return None
    _check_total("all_gather_into_tensor", output_tensor, input_tensor, pg.size())
    what = "all_gather_into_tensor"
    agree(pg, what, elements=input_tensor.numel(), dtype=dtype_code(input_tensor))
    send, _ = move_buffer(input_tensor)
    recv, back = move_buffer(output_tensor, copy_in=False)

    def finish() -> None:
        back()
        bump(output_tensor)

    req = pg._comm.Iallgather(send, recv)
    return launch([req], "all_gather_into_tensor", pg, finish, async_op, [output_tensor])


def _check_total(what: str, big: Any, small: Any, n: int) -> None:
    if big.numel() != n * small.numel():
        raise RuntimeError(
            f"{what}: the output tensor {shape_str(big.shape)} must hold the group size ({n}) "
            f"times the input tensor {shape_str(small.shape)}"
        )
    if big.dtype is not small.dtype:
        raise RuntimeError(f"{what}: tensors must have the same dtype ({big.dtype}, {small.dtype})")


def _root_list(
    pg: ProcessGroup, root: int, lst: Any, arg: str, side: str, like: Any, what: str
) -> list | None:
    """Check the tensor list only the root passes (``gather_list``/``scatter_list``)."""
    if pg.rank() == root:
        if not lst:
            raise ValueError(f"Argument ``{arg}`` must be specified on {side} rank.")
        lst = check_tensor_list(lst, arg)
        _check_blocks(what, lst, like, pg.size())
        return lst
    if lst:
        raise ValueError(f"Argument ``{arg}`` must NOT be specified on non-{side} ranks.")
    return None


def gather(
    tensor: Any,
    gather_list: list | None = None,
    dst: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Rank ``dst`` gets every rank's ``tensor`` in ``gather_list`` (rank order)."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    if dst is None and group_dst is None:
        dst = 0
    root = root_rank(pg, dst, group_dst, "gather")
    outs = _root_list(pg, root, gather_list, "gather_list", "destination", tensor, "gather")
    agree(pg, "gather", elements=tensor.numel(), dtype=dtype_code(tensor), dst=root)
    send, _ = move_buffer(tensor)
    blocks = _stacked(pg.size(), tensor) if outs is not None else None
    req = pg._comm.Igather(send, None if blocks is None else raw(blocks), root)
    finish = None if outs is None else _scatter_into(outs, blocks)
    return launch([req], "gather", pg, finish, async_op, outs or [])


def scatter(
    tensor: Any,
    scatter_list: list | None = None,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Rank i gets ``scatter_list[i]`` of rank ``src`` in ``tensor``."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    if src is None and group_src is None:
        src = 0
    root = root_rank(pg, src, group_src, "scatter")
    ins = _root_list(pg, root, scatter_list, "scatter_list", "source", tensor, "scatter")
    agree(pg, "scatter", elements=tensor.numel(), dtype=dtype_code(tensor), src=root)
    blocks = None if ins is None else np.stack([t._data for t in ins])
    recv, back = move_buffer(tensor, copy_in=False)

    def finish() -> None:
        back()
        bump(tensor)

    req = pg._comm.Iscatter(None if blocks is None else raw(blocks), recv, root)
    return launch([req], "scatter", pg, finish, async_op, [tensor])


def _splits(sizes: Any, rows: int, n: int, name: str) -> list[int]:
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise RuntimeError(
                f"all_to_all_single: dim 0 of the {name} tensor ({rows}) must divide evenly by "
                f"the group size ({n})"
            )
        return [rows // n] * n
    sizes = [int(s) for s in sizes]
    if len(sizes) != n or sum(sizes) != rows:
        raise RuntimeError(
            f"all_to_all_single: {name}_split_sizes {sizes} must have one entry per rank ({n}) "
            f"summing to dim 0 of the {name} tensor ({rows})"
        )
    return sizes


def all_to_all_single(
    output: Any,
    input: Any,
    output_split_sizes: list | None = None,
    input_split_sizes: list | None = None,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Split ``input`` along dim 0 and send block i to rank i; ``output`` receives every rank's
    block for this rank, in rank order."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    n = pg.size()
    if input.dtype is not output.dtype:
        raise RuntimeError("all_to_all_single: input and output tensors must have the same dtype")
    if input.dim() == 0 or input.dim() != output.dim() or input.shape[1:] != output.shape[1:]:
        raise RuntimeError(
            f"all_to_all_single: input {shape_str(input.shape)} and output "
            f"{shape_str(output.shape)} differ beyond dim 0"
        )
    row = int(np.prod(input.shape[1:]))
    sin = _splits(input_split_sizes, input.shape[0], n, "input")
    sout = _splits(output_split_sizes, output.shape[0], n, "output")
    _agree_splits(pg, sin, sout, row, dtype_code(input))
    send, _ = move_buffer(input)
    recv, back = move_buffer(output, copy_in=False)
    req = pg._comm.Ialltoallv(_counts(send, sin, row), _counts(recv, sout, row))

    def finish() -> None:
        back()
        bump(output)

    return launch([req], "all_to_all_single", pg, finish, async_op, [output])


def _agree_splits(pg: ProcessGroup, sin: list, sout: list, row: int, dtype: int) -> None:
    """Every rank must expect from each peer as many rows as that peer sends it."""
    sent_to_me = np.empty(pg.size(), np.int64)
    req = pg._comm.Ialltoall(np.array(sin, np.int64), sent_to_me)
    wait_requests([req], pg._timeout, "all_to_all_single", None, pg._ranks)
    agree(pg, "all_to_all_single", row_elements=row, dtype=dtype)
    bad = np.array([int(np.any(sent_to_me != np.array(sout)))], np.int64)
    req = pg._comm.Iallreduce(_mpi.mpi().IN_PLACE, bad, _mpi.mpi().MAX)
    wait_requests([req], pg._timeout, "all_to_all_single", None, pg._ranks)
    if bad[0]:
        raise RuntimeError(
            f"all_to_all_single: the split sizes do not match between the ranks (this rank "
            f"expects {sout} rows and its peers send it {sent_to_me.tolist()})"
        )


def _counts(buf: np.ndarray, splits: list[int], row: int) -> list:
    counts = [s * row for s in splits]
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    return [buf.reshape(-1), (counts, displs)]
