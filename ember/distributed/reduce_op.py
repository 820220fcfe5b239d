"""``ReduceOp``: how a collective combines the ranks' tensors, and its MPI counterpart."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["ReduceOp", "DistError", "DistBackendError"]


class DistError(RuntimeError):
    """A distributed operation failed (``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The communication backend failed or timed out (``torch.distributed.DistBackendError``)."""


class RedOpType(enum.IntEnum):
    """The reduction kinds, numbered as PyTorch numbers them."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ``BAND``, ``BOR``, ``BXOR``.

    ``AVG`` is a sum divided by the group size (floating tensors only). ``PREMUL_SUM`` is not
    offered.
    """

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


_BITWISE = (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR)


def check_op(op: Any) -> RedOpType:
    """``op`` as a RedOpType, or torch's TypeError for anything else."""
    if isinstance(op, RedOpType):
        return op
    if getattr(op, "__name__", None) == "PREMUL_SUM" or str(op).endswith("PREMUL_SUM"):
        raise NotImplementedError("ember.distributed does not offer ReduceOp.PREMUL_SUM")
    raise TypeError(f"op must be a ember.distributed.ReduceOp (e.g. ReduceOp.SUM), got {op!r}")


def mpi_op(MPI: Any, op: RedOpType, is_bool: bool) -> Any:
    """The MPI operation for ``op``; on bool data (sent as 0/1 bytes) sums are ORs and products
    ANDs, as PyTorch's bool reductions."""
    if is_bool:
        if op in (RedOpType.SUM, RedOpType.MAX, RedOpType.BOR, RedOpType.AVG):
            return MPI.BOR
        if op in (RedOpType.PRODUCT, RedOpType.MIN, RedOpType.BAND):
            return MPI.BAND
        return MPI.BXOR
    return {
        RedOpType.SUM: MPI.SUM,
        RedOpType.AVG: MPI.SUM,
        RedOpType.PRODUCT: MPI.PROD,
        RedOpType.MIN: MPI.MIN,
        RedOpType.MAX: MPI.MAX,
        RedOpType.BAND: MPI.BAND,
        RedOpType.BOR: MPI.BOR,
        RedOpType.BXOR: MPI.BXOR,
    }[op]
