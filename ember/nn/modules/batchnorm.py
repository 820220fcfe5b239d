"""``torch.nn.modules.batchnorm``'s layout: the batch-norm classes, defined by family elsewhere."""

from .lazy_layers import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, _LazyNormBase
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase
from .sync_batchnorm import SyncBatchNorm

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "SyncBatchNorm",
]
__all__ += ["_BatchNorm", "_LazyNormBase", "_NormBase"]  # imported by name in real programs
