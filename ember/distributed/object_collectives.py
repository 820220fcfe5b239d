"""Collectives of picklable Python objects: ``all_gather_object``, ``broadcast_object_list``,
``gather_object``, ``scatter_object_list``.

Objects travel pickled, as in PyTorch: only exchange objects between ranks you trust (unpickling
runs code). Sizes go first, then the bytes, both through the timed waits of every collective.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ._buffers import root_rank
from .process_group import ProcessGroup, resolve
from .work import wait_requests

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "scatter_object_list"]


def _dump(obj: Any) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)


def _load(b: np.ndarray) -> Any:
    return pickle.loads(b.tobytes())


def _run(pg: ProcessGroup, req: Any, what: str) -> None:
    wait_requests([req], pg._timeout, what, None, pg._ranks)


def _displs(sizes: np.ndarray) -> list[int]:
    return [0, *np.cumsum(sizes)[:-1].tolist()]


def _allgather_bytes(pg: ProcessGroup, data: np.ndarray, what: str) -> list[np.ndarray]:
    n = pg.size()
    sizes = np.zeros(n, np.int64)
    _run(pg, pg._comm.Iallgather(np.array([data.size], np.int64), sizes), what)
    out = np.empty(int(sizes.sum()), np.uint8)
    _run(pg, pg._comm.Iallgatherv(data, [out, (sizes.tolist(), _displs(sizes))]), what)
    return np.split(out, np.cumsum(sizes)[:-1])


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """Every rank's ``obj``, in rank order, into ``object_list`` (one slot per rank)."""
    pg = resolve(group)
    if pg is None:
        return
    parts = _allgather_bytes(pg, _dump(obj), "all_gather_object")
    for i, b in enumerate(parts):
        object_list[i] = _load(b)


def broadcast_object_list(
    object_list: list,
    src: int | None = None,
    group: Any = None,
    device: Any = None,
    group_src: int | None = None,
) -> None:
    """Replace ``object_list``'s items on every rank with those of rank ``src``."""
    pg = resolve(group)
    if pg is None:
        return
    if src is None and group_src is None:
        src = 0
    root = root_rank(pg, src, group_src, "broadcast_object_list")
    me = pg.rank() == root
    data = _dump(list(object_list)) if me else None
    size = np.array([0 if data is None else data.size], np.int64)
    _run(pg, pg._comm.Ibcast(size, root), "broadcast_object_list")
    if not me:
        data = np.empty(int(size[0]), np.uint8)
    _run(pg, pg._comm.Ibcast(data, root), "broadcast_object_list")
    if not me:
        items = _load(data)
        if len(items) != len(object_list):
            raise RuntimeError(
                f"broadcast_object_list: rank {pg._ranks[root]} sent {len(items)} objects but "
                f"this rank's list has {len(object_list)} slots"
            )
        object_list[:] = items


def gather_object(
    obj: Any,
    object_gather_list: list | None = None,
    dst: int | None = None,
    group: Any = None,
    group_dst: int | None = None,
) -> None:
    """Rank ``dst`` gets every rank's ``obj`` in ``object_gather_list`` (rank order)."""
    pg = resolve(group)
    if pg is None:
        return
    if dst is None and group_dst is None:
        dst = 0
    root = root_rank(pg, dst, group_dst, "gather_object")
    me = pg.rank() == root
    if me and object_gather_list is None:
        raise ValueError("Argument ``object_gather_list`` must be specified on destination rank.")
    if not me and object_gather_list is not None:
        raise ValueError(
            "Argument ``object_gather_list`` must NOT be specified on non-destination ranks."
        )
    data = _dump(obj)
    n = pg.size()
    sizes = np.zeros(n, np.int64) if me else None
    _run(pg, pg._comm.Igather(np.array([data.size], np.int64), sizes, root), "gather_object")
    out = np.empty(int(sizes.sum()), np.uint8) if me else None
    recv = [out, (sizes.tolist(), _displs(sizes))] if me else None
    _run(pg, pg._comm.Igatherv(data, recv, root), "gather_object")
    if me:
        for i, b in enumerate(np.split(out, np.cumsum(sizes)[:-1])):
            object_gather_list[i] = _load(b)


def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list: list | None = None,
    src: int | None = None,
    group: Any = None,
    group_src: int | None = None,
) -> None:
    """Rank i gets ``scatter_object_input_list[i]`` of rank ``src`` in
    ``scatter_object_output_list[0]``."""
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    pg = resolve(group)
    if pg is None:
        return
    if src is None and group_src is None:
        src = 0
    root = root_rank(pg, src, group_src, "scatter_object_list")
    me = pg.rank() == root
    n = pg.size()
    if me:
        if scatter_object_input_list is None or len(scatter_object_input_list) != n:
            raise ValueError(
                f"scatter_object_list: rank {pg._ranks[root]} must pass one object per rank ({n})"
            )
        parts = [_dump(o) for o in scatter_object_input_list]
        sizes = np.array([p.size for p in parts], np.int64)
        send = [np.concatenate(parts), (sizes.tolist(), _displs(sizes))]
    else:
        sizes, send = None, None
    size = np.zeros(1, np.int64)
    _run(pg, pg._comm.Iscatter(sizes, size, root), "scatter_object_list")
    data = np.empty(int(size[0]), np.uint8)
    _run(pg, pg._comm.Iscatterv(send, data, root), "scatter_object_list")
    scatter_object_output_list[0] = _load(data)
