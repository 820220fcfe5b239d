"""The parts of data parallelism that need no second process, against PyTorch: bucket
assignment, SyncBatchNorm's math (values, every gradient, gradcheck) and its fallback outside a
process group, convert_sync_batchnorm, DataParallel, and the errors before init_process_group."""

import numpy as np
import pytest
import torch
import torch.distributed as tdist

import ember
from ember import nn
from ember.nn.modules.sync_batchnorm import LocalStats, SyncBatchNormFn
from ember.nn.parallel._buckets import assign_buckets


def test_bucket_assignment_matches_torch():
    rng = np.random.default_rng(0)
    dtypes = [torch.float32, torch.float64, torch.float16]
    for _ in range(200):
        n = int(rng.integers(1, 12))
        ts = [
            torch.zeros(int(rng.integers(1, 400)), dtype=dtypes[rng.integers(3)]) for _ in range(n)
        ]
        limits = sorted(int(v) for v in rng.integers(1, 3000, size=int(rng.integers(1, 3))))
        theirs, _ = tdist._compute_bucket_assignment_by_size(ts, limits, [False] * n)
        sizes = [t.numel() * t.element_size() for t in ts]
        ours = assign_buckets(sizes, [str(t.dtype) for t in ts], limits)
        assert ours == [list(b) for b in theirs]


def _bn_inputs(shape, affine=True):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 2 + 1
    w = rng.random(shape[1]) + 0.5 if affine else None
    b = rng.standard_normal(shape[1]) if affine else None
    g = rng.standard_normal(shape)
    return x, w, b, g


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 6), (3, 4, 2, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_sync_batch_norm_math_matches_torch_batch_norm(shape, affine):
    x, w, b, g = _bn_inputs(shape, affine)
    e = [None if a is None else ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    t = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    stats: list = []
    ye = SyncBatchNormFn.apply(e[0], e[1], e[2], 1e-5, LocalStats(), stats)
    yt = torch.nn.functional.batch_norm(t[0], None, None, t[1], t[2], training=True, eps=1e-5)
    (ye * ember.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    for a, c in zip(e, t):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), atol=1e-12)
    axes = (0, *range(2, len(shape)))
    assert stats[0] == x.size // shape[1]
    np.testing.assert_allclose(stats[1], x.mean(axes), atol=1e-14)
    np.testing.assert_allclose(stats[2], x.var(axes), atol=1e-13)


def test_sync_batch_norm_gradcheck():
    x, w, b, _ = _bn_inputs((4, 3, 2))
    args = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    fn = lambda x, w, b: SyncBatchNormFn.apply(x, w, b, 1e-5, LocalStats(), [])
    assert ember.autograd.gradcheck(fn, args)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batch_norm_outside_a_process_group_is_batch_norm(momentum):
    x, _, _, g = _bn_inputs((4, 3, 5, 5))
    ours = nn.SyncBatchNorm(3, momentum=momentum).double()
    theirs = torch.nn.SyncBatchNorm(3, momentum=momentum).double()
    for step in range(2):
        xe = ember.tensor(x + step, requires_grad=True)
        xt = torch.tensor(x + step, requires_grad=True)
        ye, yt = ours(xe), theirs(xt)
        (ye * ember.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(
        ours(ember.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12
    )


@pytest.mark.parametrize("shape", [(3,), (2, 0, 4)])
def test_sync_batch_norm_bad_input_like_torch(shape):
    c = shape[1] if len(shape) > 1 else 3
    with pytest.raises(ValueError) as theirs:
        torch.nn.SyncBatchNorm(max(c, 1))(torch.zeros(shape))
    layer = nn.SyncBatchNorm(max(c, 1))
    with pytest.raises(ValueError) as ours:
        layer(ember.zeros(shape))
    assert str(ours.value) == f"{theirs.value} (in {layer!r})"  # the layer names itself


def _norm_tree(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 2, 3),
        lib.nn.BatchNorm2d(2, momentum=None),
        lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2, affine=False)),
    )


def test_convert_sync_batchnorm_like_torch():
    src = _norm_tree(ember)
    src[1].eval()
    out = nn.SyncBatchNorm.convert_sync_batchnorm(src)
    ref = torch.nn.SyncBatchNorm.convert_sync_batchnorm(_norm_tree(torch))
    assert repr(out) == repr(ref)
    assert out[1].weight is src[1].weight and out[1].running_mean is src[1].running_mean
    assert not out[1].training and out[2][1].training
    assert list(out.state_dict()) == list(ref.state_dict())


def test_data_parallel_on_one_device():
    ember.manual_seed(0)
    inner = nn.Linear(3, 2)
    dp = nn.DataParallel(inner)
    x = ember.randn(4, 3)
    assert dp.module is inner and ember.equal(dp(x), inner(x))
    assert list(dp.state_dict()) == list(torch.nn.DataParallel(torch.nn.Linear(3, 2)).state_dict())
    assert ember.nn.parallel.DataParallel is nn.DataParallel


def test_ddp_before_init_process_group_raises_like_torch():
    with pytest.raises(ValueError) as theirs:
        torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError) as ours:
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    assert "init_process_group" in str(ours.value) and "init_process_group" in str(theirs.value)
