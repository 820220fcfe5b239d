"""``ember.distributed``: PyTorch's ``torch.distributed`` over MPI (mpi4py).

Start a job with ``python -m ember.distributed.run -n N script.py`` (or ``ember-run``), then in
the script ``init_process_group("gloo")`` and use the collectives. ``backend`` ``"gloo"`` and
``"mpi"`` are both served by MPI. Importing this package does not import mpi4py; calls that need
it raise a RuntimeError naming ``pip install 'ember[distributed]'``.
"""

from __future__ import annotations

from . import constants
from ._mpi import available as _available
from .collectives import (
    all_reduce,
    barrier,
    broadcast,
    monitored_barrier,
    reduce,
    reduce_scatter_tensor,
)
from .gather import all_gather, all_gather_into_tensor, all_to_all_single, gather, scatter
from .object_collectives import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    scatter_object_list,
)
from .p2p import irecv, isend, recv, send
from .process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_initialized,
    is_torchelastic_launched,
    new_group,
)
from .reduce_op import DistBackendError, DistError, ReduceOp
from .work import Work

# DDP's first gradient bucket holds 1 MiB when bucket_cap_mb is not given (as PyTorch).
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024


def is_available() -> bool:
    """Whether ember.distributed can run: mpi4py is installed."""
    return _available()


def is_mpi_available() -> bool:
    return _available()


def is_gloo_available() -> bool:
    """True when MPI is available: MPI serves ``backend="gloo"``."""
    return _available()


def is_nccl_available() -> bool:
    return False


def is_ucc_available() -> bool:
    return False


def is_xccl_available() -> bool:
    return False


def is_backend_available(backend: str) -> bool:
    return backend.lower() in (Backend.GLOO, Backend.MPI) and _available()


__all__ = [
    "Backend",
    "DistBackendError",
    "DistError",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "constants",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_available",
    "is_backend_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "is_ucc_available",
    "is_xccl_available",
    "isend",
    "monitored_barrier",
    "new_group",
    "recv",
    "reduce",
    "reduce_scatter_tensor",
    "scatter",
    "scatter_object_list",
    "send",
]
