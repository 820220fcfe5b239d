"""``SyncBatchNorm``: batch normalisation whose batch statistics span every rank of a
data-parallel job, so N ranks on 1/N of a batch each normalise as one process on all of it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd.function import Function
from ._errors import names_layer
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class LocalStats:
    """Per-channel statistics of this process alone (a world of one; also used by the tests)."""

    def combine(self, count: int, mean: np.ndarray, m2: np.ndarray) -> tuple:
        """(total count, mean, biased variance) over every rank from each rank's count, mean and
        sum of squared deviations."""
        return count, mean, m2 / count

    def sum(self, a: np.ndarray) -> np.ndarray:
        """``a`` summed over every rank."""
        return a


class GroupStats(LocalStats):
    """Statistics over the ranks of a process group."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg

    def _run(self, req: Any, what: str) -> None:
        from ...distributed.work import wait_requests

        wait_requests([req], self.pg._timeout, what, None, self.pg._ranks)

    def combine(self, count: int, mean: np.ndarray, m2: np.ndarray) -> tuple:
        mine = np.concatenate([[count], mean, m2]).astype(np.float64)
        every = np.empty((self.pg.size(), mine.size), np.float64)
        self._run(self.pg._comm.Iallgather(mine, every), "SyncBatchNorm statistics")
        c = mean.size
        n, means, m2s = every[:, :1], every[:, 1 : 1 + c], every[:, 1 + c :]
        total = n.sum()
        mu = (n * means).sum(0) / total
        # Chan et al.: the squared deviations of each rank, moved to the global mean.
        m2_all = (m2s + n * (means - mu) ** 2).sum(0)
        return int(total), mu.astype(mean.dtype), (m2_all / total).astype(mean.dtype)

    def sum(self, a: np.ndarray) -> np.ndarray:
        from ...distributed import _mpi

        MPI = _mpi.mpi()
        buf = np.ascontiguousarray(a, dtype=np.float64)
        self._run(self.pg._comm.Iallreduce(MPI.IN_PLACE, buf, MPI.SUM), "SyncBatchNorm gradients")
        return buf.astype(a.dtype)


class SyncBatchNormFn(Function):
    """Training-mode batch norm over the global batch: statistics combined across the ranks in
    forward, the two per-channel gradient sums in backward. ``out`` receives (count, mean, var)
    for the running statistics."""

    @staticmethod
    def forward(ctx, input, weight, bias, eps, stats, out):  # noqa: ANN001
        x = input._data
        axes = (0, *range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        count = x.size // x.shape[1]
        mean = x.mean(axes)
        m2 = ((x - mean.reshape(shape)) ** 2).sum(axes)
        total, mean, var = stats.combine(count, mean, m2)
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
        y = xhat
        if weight is not None:
            y = y * weight._data.reshape(shape)
        if bias is not None:
            y = y + bias._data.reshape(shape)
        out.extend([total, mean, var])
        ctx.save_for_backward(weight)
        ctx.has_bias = bias is not None
        ctx.xhat, ctx.invstd, ctx.total, ctx.stats, ctx.shape = xhat, invstd, total, stats, shape
        return _wrap(np.ascontiguousarray(y, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        (weight,) = ctx.saved_tensors
        g, xhat, shape = grad._data, ctx.xhat, ctx.shape
        axes = (0, *range(2, g.ndim))
        sum_dy = g.sum(axes)
        sum_dy_xhat = (g * xhat).sum(axes)
        c = sum_dy.size
        both = ctx.stats.sum(np.concatenate([sum_dy, sum_dy_xhat]))
        mean_dy, mean_dy_xhat = both[:c] / ctx.total, both[c:] / ctx.total
        scale = ctx.invstd if weight is None else ctx.invstd * weight._data
        dx = (g - mean_dy.reshape(shape) - xhat * mean_dy_xhat.reshape(shape)) * scale.reshape(
            shape
        )
        # The affine gradients stay local: DistributedDataParallel averages them over the ranks.
        dw = None if weight is None else _wrap(sum_dy_xhat.astype(weight._data.dtype))
        db = _wrap(sum_dy.astype(g.dtype)) if ctx.has_bias else None
        return _wrap(dx.astype(g.dtype)), dw, db, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) input with statistics over every rank of
    ``process_group`` (default: the whole job) in training, as ``torch.nn.SyncBatchNorm``.

    Outside a process group, or in a group of one, it is ``BatchNorm``. Convert a model's
    BatchNorm layers with ``SyncBatchNorm.convert_sync_batchnorm(model)``.

    >>> from ember import nn
    >>> nn.SyncBatchNorm(4)
    SyncBatchNorm(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _group(self) -> Any:
        """The process group to synchronise over, or None when there is nothing to sync."""
        from ... import distributed as dist

        if not dist.is_initialized():
            return None
        from ...distributed.process_group import resolve

        pg = resolve(self.process_group)
        return pg if pg is not None and pg.size() > 1 else None

    @names_layer
    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        pg = self._group() if use_batch and self.training else None
        if pg is None:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        got: list = []
        y = SyncBatchNormFn.apply(
            input, self.weight, self.bias, float(self.eps), GroupStats(pg), got
        )
        if self.track_running_stats and self.running_mean is not None:
            total, mean, var = got
            _update(self.running_mean, mean, factor)
            _update(self.running_var, var * (total / max(total - 1, 1)), factor)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm*d layer (recursively) replaced by a SyncBatchNorm
        sharing its parameters and buffers."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return out


def _update(running: Tensor, stat: np.ndarray, factor: float) -> None:
    if not factor:
        return
    r = running._data
    r *= 1.0 - factor
    r += (factor * stat).astype(r.dtype, copy=False)
    running._vc[0] += 1
