"""``ember.nn.parallel``: ``DistributedDataParallel`` (over ``ember.distributed``) and a
single-device ``DataParallel``."""

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
