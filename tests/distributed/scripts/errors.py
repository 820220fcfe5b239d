"""Bad calls on a world of one, under ``torch`` or ``ember`` (argv[1]); emits
``{case: exception type name or "ok"}`` (see ``_result.py``) so the test can compare the two."""

import os
import sys
import tempfile
from datetime import timedelta

from tests.distributed.scripts._result import emit

if sys.argv[1] == "torch":
    import torch
    import torch.distributed as dist

    def init(backend="gloo", **kw):
        path = os.path.join(tempfile.mkdtemp(), "rdzv")
        dist.init_process_group(backend, init_method=f"file://{path}", rank=0, world_size=1, **kw)
else:
    import ember as torch
    import ember.distributed as dist

    def init(backend="gloo", **kw):
        dist.init_process_group(backend, **kw)


def ones(*s, **kw):
    return torch.ones(*s, **kw)


BEFORE_INIT = {
    "all_reduce_before_init": lambda: dist.all_reduce(ones(2)),
    "get_rank_before_init": lambda: dist.get_rank(),
    "barrier_before_init": lambda: dist.barrier(),
    "nccl_backend": lambda: init("nccl"),
    "unknown_backend": lambda: init("foo"),
    "bad_timeout_type": lambda: init(timeout=5),
}
AFTER_INIT = {
    "init_twice": lambda: init(),
    "band_on_float": lambda: dist.all_reduce(ones(2), op=dist.ReduceOp.BAND),
    "avg_on_int": lambda: dist.all_reduce(ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG),
    "op_as_string": lambda: dist.all_reduce(ones(2), op="sum"),
    "list_for_tensor": lambda: dist.all_reduce([ones(2)]),
    "all_gather_list_length": lambda: dist.all_gather([ones(2), ones(2)], ones(2)),
    "all_gather_shape": lambda: dist.all_gather([ones(3)], ones(2)),
    "all_gather_into_size": lambda: dist.all_gather_into_tensor(ones(3), ones(2)),
    "broadcast_no_src": lambda: dist.broadcast(ones(2)),
    "broadcast_both_src": lambda: dist.broadcast(ones(2), src=0, group_src=0),
    "broadcast_bad_root": lambda: dist.broadcast(ones(2), src=3),
    "send_to_self": lambda: dist.send(ones(2), dst=0),
    "gather_without_list": lambda: dist.gather(ones(2), None, dst=0),
    "scatter_without_list": lambda: dist.scatter(ones(2), None, src=0),
    "get_rank_bad_group": lambda: dist.get_rank("x"),
    "scatter_object_empty_output": lambda: dist.scatter_object_list([], [1], src=0),
    "ok_all_reduce": lambda: dist.all_reduce(ones(2)),
    "ok_barrier_timeout": lambda: dist.barrier(timeout=timedelta(seconds=5)),
}


def run(cases):
    out = {}
    for name, fn in cases.items():
        try:
            fn()
            out[name] = "ok"
        except BaseException as e:  # noqa: BLE001 - recording the type is the point
            out[name] = type(e).__name__
    return out


res = run(BEFORE_INIT)
init()
res.update(run(AFTER_INIT))
dist.destroy_process_group()
res.update(run({"destroy_twice": lambda: dist.destroy_process_group()}))
emit(res)
