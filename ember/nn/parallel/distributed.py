"""``DistributedDataParallel``: one model replica per process, gradients averaged over the
ranks during backward, so every rank takes the same optimizer step."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ...autograd.grad_mode import STATE
from ...distributed.process_group import resolve
from ...distributed.work import wait_requests
from ..modules.module import Module
from ._reducer import Reducer

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
_DEFAULT_BUCKET_CAP_MB = 25


def _refuse(name: str, value: Any, default: Any) -> None:
    if value is not default and value != default:
        raise NotImplementedError(
            f"DistributedDataParallel: {name}={value!r} is not supported by ember"
        )


def broadcast_coalesced(tensors: list, pg: Any, what: str) -> None:
    """Overwrite ``tensors`` with group rank 0's values: one broadcast of all their bytes."""
    if not tensors:
        return
    arrays = [t._data for t in tensors]
    flat = np.concatenate([np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in arrays])
    req = pg._comm.Ibcast(flat, 0)
    wait_requests([req], pg._timeout, what, None, pg._ranks)
    off = 0
    for t, a in zip(tensors, arrays):
        n = a.nbytes
        np.copyto(a, flat[off : off + n].view(a.dtype).reshape(a.shape))
        t._vc[0] += 1
        off += n


def _check_same_model(params: list, pg: Any) -> None:
    """Raise on every rank when the ranks' parameter shapes differ (before any broadcast,
    which would otherwise fail or hang)."""
    mine = [(tuple(p.shape), str(p.dtype)) for p in params]
    every = [None] * pg.size()
    dist.all_gather_object(every, mine, group=pg)
    ref = every[0]
    for r, theirs in enumerate(every):
        if len(theirs) != len(ref):
            raise RuntimeError(
                f"DDP expects same model across all ranks, but Rank {pg._ranks[0]} has "
                f"{len(ref)} params, while rank {pg._ranks[r]} has inconsistent {len(theirs)} "
                "params."
            )
        for i, (a, b) in enumerate(zip(ref, theirs)):
            if a != b:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but parameter {i} has shape/dtype "
                    f"{b} on rank {pg._ranks[r]} and {a} on rank {pg._ranks[0]}."
                )


class DistributedDataParallel(Module):
    """Data parallelism across processes, as ``torch.nn.parallel.DistributedDataParallel``.

    At construction (``init_sync``) the ranks check they hold the same model, then rank 0's
    parameters and buffers are copied to all. Each forward (with grad enabled) arms the
    gradient reduction and, with ``forward_sync_buffers``, copies rank 0's buffers again; the
    backward averages the gradients over the ranks in buckets of ``bucket_cap_mb`` MiB (the
    first 1 MiB by default), started as soon as a bucket's gradients are final. ``no_sync()``
    accumulates gradients locally. ``find_unused_parameters`` lets parameters without a
    gradient count as zero; without it such a parameter raises PyTorch's error at the next
    forward. ``gradient_as_bucket_view`` makes each ``.grad`` a view of its bucket (one copy
    fewer). ``state_dict()`` keys carry the ``module.`` prefix.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool | None = None,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        delay_all_reduce_named_params: Any = None,
        param_to_hook_all_reduce: Any = None,
        mixed_precision: Any = None,
        device_mesh: Any = None,
        skip_all_reduce_unused_params: bool = False,
        bucket_cap_mb_list: Any = None,
        batched_grad_copy: bool = False,
        forward_sync_buffers: bool | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("delay_all_reduce_named_params", delay_all_reduce_named_params),
            ("param_to_hook_all_reduce", param_to_hook_all_reduce),
            ("mixed_precision", mixed_precision),
            ("device_mesh", device_mesh),
            ("bucket_cap_mb_list", bucket_cap_mb_list),
        ):
            _refuse(name, value, None)
        _refuse("skip_all_reduce_unused_params", skip_all_reduce_unused_params, False)
        if device_ids is not None or output_device is not None:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                "{device(type='cpu')}."
            )
        self.module = module
        self.process_group = resolve(process_group)
        self.dim = dim
        self.device_ids = None
        self.output_device = None
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.forward_sync_buffers, init_buffers = _buffer_policy(
            broadcast_buffers, forward_sync_buffers
        )
        self.broadcast_buffers = self.forward_sync_buffers
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap * _MB)
        limits = [self.bucket_bytes_cap]
        if bucket_cap_mb is None:
            limits = [dist._DEFAULT_FIRST_BUCKET_BYTES, self.bucket_bytes_cap]
        pg = self.process_group
        all_params = list(module.parameters())
        _check_same_model(all_params, pg)
        if init_sync:
            broadcast_coalesced(all_params, pg, "DistributedDataParallel parameter sync")
            if init_buffers:
                self._sync_buffers()
        self.reducer = Reducer(
            [p for _, p in named],
            [n for n, _ in named],
            pg,
            limits,
            find_unused_parameters or static_graph,
            gradient_as_bucket_view,
        )

    def _sync_buffers(self) -> None:
        bufs = [b for b in self.module.buffers() if b is not None]
        broadcast_coalesced(bufs, self.process_group, "DistributedDataParallel buffer sync")

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = STATE.enabled and self.require_backward_grad_sync
        if sync:
            self.reducer.prepare_for_forward()
        # As PyTorch: buffers are re-broadcast before a forward that follows a synced forward.
        if self.require_forward_param_sync and self.forward_sync_buffers:
            if self.process_group.size() > 1:
                self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync
        return out

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, forward and backward passes only accumulate gradients locally; the first
        synced backward after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def join(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("DistributedDataParallel.join (uneven inputs) is not available")

    def register_comm_hook(self, state: object, hook: Any) -> None:
        raise NotImplementedError("DistributedDataParallel.register_comm_hook is not available")

    def _get_ddp_logging_data(self) -> dict:
        return {"bucket_sizes": [b.nbytes for b in self.reducer.buckets]}


def _buffer_policy(broadcast_buffers: bool | None, forward_sync: bool | None) -> tuple:
    """(sync buffers before each forward, sync them at construction), as PyTorch 2.13 decides
    from the deprecated ``broadcast_buffers`` and its successor ``forward_sync_buffers``."""
    if broadcast_buffers is not None:
        msg = (
            "Both `broadcast_buffers` and `forward_sync_buffers` were specified. "
            "`broadcast_buffers` is deprecated and its value is ignored when "
            "`forward_sync_buffers` is provided."
            if forward_sync is not None
            else "`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead."
        )
        warnings.warn(msg, FutureWarning, stacklevel=3)
    if forward_sync is not None:
        return forward_sync, True
    effective = True if broadcast_buffers is None else broadcast_buffers
    return effective, effective
