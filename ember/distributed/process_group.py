"""Process groups over MPI: ``init_process_group``, ``new_group`` and the rank queries.

The launcher (``python -m ember.distributed.run`` or any ``mpiexec``) has already started and
connected the processes, so ``init_process_group`` only checks that MPI's world matches what the
caller expects and takes a private duplicate of ``MPI.COMM_WORLD``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from . import _mpi
from .constants import default_pg_timeout

__all__ = [
    "Backend",
    "ProcessGroup",
    "GroupMember",
    "group",
    "init_process_group",
    "destroy_process_group",
    "is_initialized",
    "get_rank",
    "get_world_size",
    "get_backend",
    "new_group",
    "is_torchelastic_launched",
    "get_process_group_ranks",
    "get_global_rank",
    "get_group_rank",
]

LAUNCHER = "python -m ember.distributed.run -n N script.py"


class Backend(str):
    """A backend name. ``gloo`` and ``mpi`` are both served by MPI; ``nccl`` is not built in."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    MPI = "mpi"
    NCCL = "nccl"
    UCC = "ucc"
    XCCL = "xccl"

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {name!r}")
        return str.__new__(cls, _check_backend(name))


def _check_backend(name: str | None) -> str:
    """The MPI-served backend name for ``name`` (``gloo`` or ``mpi``), or torch's errors."""
    if name is None:
        return Backend.GLOO
    parts = [p.split(":")[-1].strip().lower() for p in name.split(",")]
    served = [p for p in parts if p in (Backend.GLOO, Backend.MPI)]
    if not served:
        if Backend.NCCL in parts:
            raise RuntimeError("Distributed package doesn't have NCCL built in")
        # PyTorch raises AssertionError for a backend it does not know.
        raise AssertionError(f"Unknown backend type {name}: ember serves 'gloo' and 'mpi' over MPI")
    return Backend.MPI if Backend.MPI in served else Backend.GLOO


class ProcessGroup:
    """A set of ranks with its own MPI communicator (``torch.distributed.ProcessGroup``)."""

    def __init__(self, comm: Any, ranks: list[int], backend: str, timeout: timedelta) -> None:
        self._comm = comm
        self._ranks = ranks  # global rank of each group rank
        self._backend = backend
        self._timeout = timeout

    def rank(self) -> int:
        return self._comm.Get_rank()

    def size(self) -> int:
        return len(self._ranks)

    def name(self) -> str:
        return self._backend

    def set_timeout(self, timeout: timedelta) -> None:
        self._timeout = timeout

    def group_rank(self, global_rank: int) -> int:
        """The rank in this group of global rank ``global_rank``."""
        try:
            return self._ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"Global rank {global_rank} is not part of group {self}") from None

    def __repr__(self) -> str:
        return f"<ember.distributed.ProcessGroup {self._backend} ranks={self._ranks}>"


class GroupMember:
    """``GroupMember.WORLD`` (the default group) and ``NON_GROUP_MEMBER``."""

    NON_GROUP_MEMBER = -100

    class _World:
        def __get__(self, obj: Any, cls: Any) -> ProcessGroup | None:
            return _STATE.world

    WORLD = _World()


class group:  # noqa: N801 - PyTorch's name
    """``group.WORLD``: the default process group (None before ``init_process_group``)."""

    WORLD = GroupMember._World()


class _State:
    world: ProcessGroup | None = None
    groups: list = []


_STATE = _State()


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def _check_world(size: int, me: int, world_size: int, rank: int) -> None:
    """Raise if MPI's world differs from what the caller or the environment expects: a script
    meant for N processes but started alone must not train silently as a world of 1."""
    want_size = world_size if world_size != -1 else _env_int("WORLD_SIZE")
    want_rank = rank if rank != -1 else _env_int("RANK")
    how = (
        f"ember's processes are started and connected by an MPI launcher: run `{LAUNCHER}` "
        "(or `mpiexec -n N python -m ember.distributed.run --rank-bootstrap script.py`)"
    )
    if want_size is not None and want_size != size:
        raise RuntimeError(
            f"init_process_group: world_size {want_size} was asked for but MPI started {size} "
            f"process(es) (this is rank {me} of {size}); {how}"
        )
    if want_rank is not None and want_rank != me:
        raise RuntimeError(
            f"init_process_group: rank {want_rank} was asked for but MPI made this process rank "
            f"{me} of {size}; {how}"
        )


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job's default process group (MPI's world).

    ``backend`` ``"gloo"``, ``"mpi"`` or None (all served by MPI); ``init_method`` is accepted
    and unused (the launcher connected the processes); ``world_size`` and ``rank`` (or the
    ``WORLD_SIZE``/``RANK`` environment) must agree with MPI's; ``timeout`` (default 30 min)
    bounds every wait of a collective.
    """
    if _STATE.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if init_method is not None and store is not None:
        raise AssertionError("Cannot specify both init_method and store.")  # torch's type
    name = _check_backend(backend)
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout}"
        )
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    _check_world(size, me, world_size, rank)
    _STATE.world = ProcessGroup(world.Dup(), list(range(size)), name, timeout or default_pg_timeout)


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not destroyed)."""
    return _STATE.world is not None


def default_group() -> ProcessGroup:
    if _STATE.world is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _STATE.world


def resolve(g: Any) -> ProcessGroup | None:
    """The group a call works on: the default for None, None for a group this rank is not in."""
    if g is None or g is GroupMember.WORLD:
        return default_group()
    if isinstance(g, ProcessGroup):
        return g
    if g == GroupMember.NON_GROUP_MEMBER:
        default_group()
        return None
    raise ValueError(
        f"Group {g} is not registered, please create group with ember.distributed.new_group API"
    )


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free ``group`` (default: every group, after which ``init_process_group`` may run again)."""
    if group is None or group is _STATE.world:
        if _STATE.world is None:
            raise AssertionError("Process group cannot be None")  # torch's type
        for pg in [*_STATE.groups, _STATE.world]:
            pg._comm.Free()
        _STATE.groups = []
        _STATE.world = None
        return
    if isinstance(group, ProcessGroup) and group in _STATE.groups:
        _STATE.groups.remove(group)
        group._comm.Free()


def get_rank(group: Any = None) -> int:
    """This process's rank in ``group`` (-1 if it is not a member)."""
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: Any = None) -> int:
    """The number of processes in ``group`` (-1 if this process is not a member)."""
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: Any = None) -> str:
    """The backend name of ``group``: ``"gloo"`` or ``"mpi"``."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return Backend(pg._backend)


def new_group(
    ranks: list[int] | None = None,
    timeout: timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    use_local_synchronization: bool = False,
    group_desc: str | None = None,
    device_id: Any = None,
    sort_ranks: bool = True,
) -> ProcessGroup | int:
    """A group of the given global ranks. Every rank of the world must call it (as in PyTorch);
    ranks outside the group get ``GroupMember.NON_GROUP_MEMBER``."""
    world = default_group()
    n = world.size()
    members = list(range(n)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        members = sorted(members)
    for r in members:
        if not 0 <= r < n:
            raise ValueError(f"new_group: rank {r} is not in the world of size {n}")
    if len(set(members)) != len(members):
        raise ValueError(f"new_group: ranks {members} contain duplicates")
    name = world._backend if backend is None else _check_backend(backend)
    comm = world._comm.Create(world._comm.Get_group().Incl(members))  # collective on all
    if comm == _mpi.mpi().COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, members, name, timeout or world._timeout)
    _STATE.groups.append(pg)
    return pg


def get_process_group_ranks(group: Any) -> list[int]:
    """The global ranks of ``group``, in group-rank order."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Group is not registered (this rank is not a member)")
    return list(pg._ranks)


def get_global_rank(group: Any, group_rank: int) -> int:
    """The global rank of ``group_rank`` in ``group``."""
    ranks = get_process_group_ranks(group)
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return ranks[group_rank]


def get_group_rank(group: Any, global_rank: int) -> int:
    """The rank in ``group`` of global rank ``global_rank``."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Group is not registered (this rank is not a member)")
    return pg.group_rank(global_rank)


def is_torchelastic_launched() -> bool:
    """Whether this process was started by ember's launcher (torchrun's counterpart)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None
