"""Prints this rank's torchrun environment and argv (also a ``-m`` target)."""

import os
import sys

import ember.distributed as dist
from tests.distributed.scripts._result import emit

dist.init_process_group()
keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR")
keys += ("MASTER_PORT", "OPENBLAS_NUM_THREADS", "TORCHELASTIC_RUN_ID")
info = {k: os.environ.get(k) for k in keys}
info["argv"] = sys.argv[1:]
info["rank"] = dist.get_rank()
emit(info)
