"""Tensors as contiguous NumPy buffers MPI can read and write, and the checks every call makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._dtype_names import type_name
from .._tensor import Tensor
from .process_group import ProcessGroup, default_group
from .reduce_op import RedOpType
from .work import Work, wait_requests

_NOTHING: Callable[[], None] = lambda: None


def check_tensor(t: Any, name: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type ember.Tensor "
            f"but got {type(t)} instead."
        )
    return t


def check_tensor_list(ts: Any, name: str) -> list:
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type List[ember.Tensor]."
        )
    return list(ts)


def shape_str(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_op_dtype(op: RedOpType, t: Tensor) -> None:
    """PyTorch's refusals: bitwise ops need integers, AVG needs a floating type."""
    dt = t.dtype
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and (
        dt.is_floating_point or dt.is_complex
    ):
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op is RedOpType.AVG and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {type_name(dt)}"
        )
    if op in (RedOpType.MIN, RedOpType.MAX) and dt.is_complex:
        raise RuntimeError(f"ReduceOp.{op.name} is not defined for complex tensors")


def reduce_buffer(t: Tensor) -> tuple[np.ndarray, Callable[[], None]]:
    """A contiguous buffer to reduce ``t`` in, and the function that writes it back.

    float16 is reduced in float32 (MPI has no portable half-precision sum) and bool as 0/1 bytes.
    """
    a = t._data
    direct = a.flags.c_contiguous and a.flags.writeable
    if a.dtype == np.float16:
        buf = a.astype(np.float32)
    elif a.dtype == np.bool_:
        if direct:
            return a.view(np.uint8), _NOTHING
        buf = a.astype(np.uint8)
    elif direct:
        return a, _NOTHING
    else:
        buf = np.ascontiguousarray(a)
    return buf, lambda: np.copyto(a, buf, casting="unsafe")


def move_buffer(t: Tensor, copy_in: bool = True) -> tuple[np.ndarray, Callable[[], None]]:
    """A contiguous buffer holding ``t``'s bytes (for collectives that only move data)."""
    a = t._data
    if a.flags.c_contiguous and a.flags.writeable:
        return raw(a), _NOTHING
    buf = np.ascontiguousarray(a) if copy_in else np.empty(a.shape, a.dtype)
    return raw(buf), lambda: np.copyto(a, buf)


def raw(a: np.ndarray) -> np.ndarray:
    """``a`` viewed with an element type every MPI moves (half floats and bools as integers)."""
    if a.dtype == np.float16:
        return a.view(np.uint16)
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return a


def bump(*ts: Tensor) -> None:
    """Count an in-place write, so autograd notices a saved tensor a collective overwrote."""
    for t in ts:
        t._vc[0] += 1


def root_rank(pg: ProcessGroup, rank: int | None, group_rank: int | None, what: str) -> int:
    """The group rank of the root given as a global ``rank`` or a ``group_rank``."""
    if rank is not None and group_rank is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    if rank is None and group_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    if group_rank is not None or pg is default_group():
        r = int(rank if group_rank is None else group_rank)  # the world's ranks are its own
    else:
        r = pg.group_rank(int(rank))
    if not 0 <= r < pg.size():
        raise RuntimeError(f"{what}: invalid root rank: {r}")
    return r


def launch(
    reqs: list,
    what: str,
    pg: ProcessGroup,
    finish: Callable[[], None],
    async_op: bool,
    outputs: list,
) -> Work | None:
    """Wrap started MPI requests: a ``Work`` for ``async_op``, else wait for them here."""
    w = Work(reqs, what, pg._timeout, finish, outputs, ranks=pg._ranks)
    if async_op:
        return w
    w.wait()
    return None


def agree(pg: ProcessGroup, what: str, **items: int) -> None:
    """Raise on every rank unless every rank passed the same ``items`` (sizes, dtype, op, root).

    MPI itself would not notice all of these mismatches: an all_reduce of 3 elements on one
    rank and 4 on another silently reduces 3. One tiny all-reduce (MAX of the values and of
    their negatives) tells every rank the smallest and largest value of each item.
    """
    from . import _mpi

    vals = np.array(list(items.values()), np.int64)
    buf = np.concatenate([vals, -vals])
    MPI = _mpi.mpi()
    wait_requests(
        [pg._comm.Iallreduce(MPI.IN_PLACE, buf, MPI.MAX)], pg._timeout, what, None, pg._ranks
    )
    k = len(vals)
    hi, lo = buf[:k], -buf[k:]
    bad = [
        f"{name} from {lo[i]} to {hi[i]} (this rank: {vals[i]})"
        for i, name in enumerate(items)
        if hi[i] != lo[i]
    ]
    if bad:
        raise RuntimeError(
            f"{what}: the ranks called it with different arguments: " + "; ".join(bad)
        )


def dtype_code(t: Tensor) -> int:
    """A number that differs between the NumPy dtypes of tensors."""
    return t._data.dtype.num
