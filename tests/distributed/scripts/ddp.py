"""The acceptance test of DistributedDataParallel, run on every rank of the job.

Each variant trains a small conv net for a few steps with DDP, every rank on its contiguous
1/W slice of the same global batches, the ranks starting from *different* weights (so the
construction broadcast matters) and with tiny buckets (several all-reduces per step). Rank 0
also trains the same model (rank 0's initial weights) in one process on the whole batches.
Rank 0 emits ``{variant: {"vs_one_process": max |diff|, "across_ranks": max |diff|,
...}}``. The negative controls break DDP on purpose and must show large differences.
"""

import sys

import numpy as np

import ember as torch
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP
from tests.distributed.scripts._result import emit

dist.init_process_group("gloo")
R, W = dist.get_rank(), dist.get_world_size()
STEPS, B = 4, 12


class Net(nn.Module):
    def __init__(self, bn=False, unused=False, shared=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3) if bn else None
        self.conv2 = nn.Conv2d(3, 4, 3)
        self.fc1 = nn.Linear(4 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 16) if shared else None
        self.head = nn.Linear(16, 5)
        self.spare = nn.Linear(16, 5) if unused else None  # never used in forward

    def forward(self, x):
        x = self.conv1(x)
        if self.bn is not None:
            x = self.bn(x)
        x = torch.relu(self.conv2(torch.relu(x))).flatten(1)
        x = torch.tanh(self.fc1(x))
        if self.fc2 is not None:
            x = torch.tanh(self.fc2(torch.tanh(self.fc2(x))))  # one parameter, two uses
        return self.head(x)


def batches(dtype):
    rng = np.random.default_rng(1)
    for _ in range(STEPS):
        x = rng.standard_normal((B, 1, 8, 8))
        y = rng.integers(0, 5, B)
        yield torch.tensor(x, dtype=dtype), torch.tensor(y)


def make(seed, dtype, **kw):
    torch.manual_seed(seed)
    return Net(**kw).to(dtype)


def optimizer(name, params):
    if name == "adam":
        # eps well above the gradients' rounding noise: with the default 1e-8 a gradient near
        # zero turns a 1e-18 difference in summation order into a 1e-12 step difference.
        return torch.optim.Adam(params, lr=0.01, eps=1e-6)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def train(model, opt, dtype, local, micro=1, keep_grads=False):
    loss_fn = nn.CrossEntropyLoss()
    for x, y in batches(dtype):
        if local:
            lo, hi = R * B // W, (R + 1) * B // W
            x, y = x[lo:hi], y[lo:hi]
        opt.zero_grad(set_to_none=not keep_grads)
        if micro == 1:
            loss_fn(model(x), y).backward()
        else:  # gradient accumulation: all but the last micro-batch without sync
            xs, ys = x.chunk(micro), y.chunk(micro)
            with model.no_sync():
                for xm, ym in zip(xs[:-1], ys[:-1]):
                    (loss_fn(model(xm), ym) / micro).backward()
            (loss_fn(model(xs[-1]), ys[-1]) / micro).backward()
        opt.step()


def flat_state(module):
    return np.concatenate(
        [t.detach().numpy().astype(np.float64).ravel() for t in module.state_dict().values()]
    )


def variant(
    dtype=torch.float64, opt="sgd", micro=1, ddp_kw=None, hack=None, keep_grads=False, **net_kw
):
    ddp_kw = dict(ddp_kw or {})
    ddp_kw.setdefault("bucket_cap_mb", 256 / 2**20)  # 256-byte buckets: several per step
    model = make(100 + R, dtype, **net_kw)
    if net_kw.get("bn"):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DDP(model, **ddp_kw)
    if hack == "no_average":
        ddp.reducer.world = 1  # sums instead of averages
    train(
        ddp, optimizer(opt, ddp.parameters()), dtype, local=True, micro=micro, keep_grads=keep_grads
    )
    mine = flat_state(ddp.module)
    every = [None] * W
    dist.all_gather_object(every, mine)
    out = {
        "across_ranks": max(float(np.abs(e - every[0]).max()) for e in every),
        "buckets": len(ddp.reducer.buckets),
        "keys_prefixed": all(k.startswith("module.") for k in ddp.state_dict()),
    }
    if net_kw.get("unused"):
        out["spare_grad_none"] = ddp.module.spare.weight.grad is None
    if ddp_kw.get("gradient_as_bucket_view"):
        bufs = [b.buffer for b in ddp.reducer.buckets]
        out["grads_are_views"] = all(
            any(np.shares_memory(p.grad.numpy(), b) for b in bufs) for p in ddp.parameters()
        )
    if R == 0:
        ref = make(100, dtype, **net_kw)
        train(ref, optimizer(opt, ref.parameters()), dtype, local=False)
        out["vs_one_process"] = float(np.abs(flat_state(ref) - mine).max())
        out["scale"] = float(np.abs(mine).max())
    return out


def unused_without_detection():
    """PyTorch's error at the forward after a backward that left a parameter without grad."""
    ddp = DDP(make(100, torch.float64, unused=True), bucket_cap_mb=256 / 2**20)
    x, y = next(batches(torch.float64))
    ddp(x)  # a forward without backward (evaluation with grad enabled) is fine, as in PyTorch
    nn.CrossEntropyLoss()(ddp(x), y).backward()
    try:
        ddp(x)
    except RuntimeError as e:
        msg = str(e)
        return {"raised": "Expected to have finished reduction" in msg and "spare.weight" in msg}
    return {"raised": False}


class Probe(nn.Module):
    """Records the value its buffer has when forward runs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("buf", torch.zeros(1))

    def forward(self, x):
        self.seen = self.buf.item()
        return self.lin(x)


def buffer_sync_rule():
    """Buffers are re-broadcast from rank 0 before a forward that follows a synced forward."""
    seen = []
    x = torch.ones(1, 2)
    for kw in ({}, {"forward_sync_buffers": False}):
        ddp = DDP(Probe(), **kw)
        for grad in (True, False, True, True):
            ddp.module.buf.fill_(R + 1)
            with torch.set_grad_enabled(grad):
                ddp(x).sum().backward() if grad else ddp(x)
            seen.append(ddp.module.seen)
    every = [None] * W
    dist.all_gather_object(every, seen)
    return {"seen": every}


def mismatched_models():
    """Different models on the ranks: every rank raises at construction."""
    model = nn.Linear(3, 2 + (R == W - 1))
    try:
        DDP(model)
    except RuntimeError as e:
        return {"raised": "DDP expects same model across all ranks" in str(e)}
    return {"raised": False}


def overlap():
    """When each bucket's all-reduce starts, relative to the backward walk: a marker node after
    conv1 (so its backward runs after conv2's and before conv1's) logs into the same list as the
    reducer's launches and its end-of-backward callback."""
    events = []

    class Mark(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            events.append("marker backward")
            return g

    ddp = DDP(make(100, torch.float64), bucket_cap_mb=256 / 2**20)
    ddp.module.conv1.register_forward_hook(lambda m, i, o: Mark.apply(o))
    red = ddp.reducer
    launch, finalize = red._launch_ready, red._finalize

    def logged_launch():
        before = red.next
        launch()
        events.extend(f"launch {k}" for k in range(before, red.next))

    def logged_finalize():
        events.append("end of backward")
        finalize()

    red._launch_ready, red._finalize = logged_launch, logged_finalize
    x, y = next(batches(torch.float64))
    nn.CrossEntropyLoss()(ddp(x), y).backward()
    return {"events": events, "buckets": len(red.buckets)}


VARIANTS = {
    "sgd_float64": lambda: variant(),
    "sgd_float32": lambda: variant(torch.float32),
    "adam_float64": lambda: variant(opt="adam"),
    "no_sync_accumulation": lambda: variant(micro=2),
    "unused_parameters": lambda: variant(unused=True, ddp_kw={"find_unused_parameters": True}),
    "parameter_used_twice": lambda: variant(shared=True),
    "sync_batchnorm": lambda: variant(bn=True),
    "gradient_as_bucket_view": lambda: variant(ddp_kw={"gradient_as_bucket_view": True}),
    "default_buckets": lambda: variant(ddp_kw={"bucket_cap_mb": None}),
    "grads_zeroed_not_freed": lambda: variant(keep_grads=True, micro=2),
    "bucket_view_grads_zeroed": lambda: variant(
        keep_grads=True, micro=2, ddp_kw={"gradient_as_bucket_view": True}
    ),
    "unused_without_detection": unused_without_detection,
    "mismatched_models": mismatched_models,
    "buffer_sync_rule": buffer_sync_rule,
    "overlap": overlap,
    "control_no_average": lambda: variant(hack="no_average"),
    "control_no_init_sync": lambda: variant(ddp_kw={"init_sync": False}),
}


def _unsynced_bn():
    """BatchNorm left unconverted: each rank normalises with its own slice's statistics."""
    convert = nn.SyncBatchNorm.convert_sync_batchnorm
    nn.SyncBatchNorm.convert_sync_batchnorm = staticmethod(lambda m: m)
    try:
        return variant(bn=True)
    finally:
        nn.SyncBatchNorm.convert_sync_batchnorm = staticmethod(convert)


VARIANTS["control_batchnorm_unsynced"] = _unsynced_bn
names = sys.argv[1:] or list(VARIANTS)
res = {n: VARIANTS[n]() for n in names}
if R == 0:
    emit(res)
dist.destroy_process_group()
