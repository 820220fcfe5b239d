"""Lazy layers against PyTorch: reprs and state_dict keys before the first call, materialising
on the first forward (shapes, class change, initial value ranges), forward values and every
gradient with the materialised weights copied into torch's layer, state_dict loading into a lazy
layer, dtype conversion before materialisation, UninitializedParameter/Buffer errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from tests.nn._lib import same_error
from tests.parity import assert_close, copy_weights

RNG = np.random.default_rng(0)

CASES = [
    ("LazyLinear", (3,), {}, (4, 5)),
    ("LazyLinear", (2,), {"bias": False}, (3, 2, 6)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 8)),
    ("LazyConv2d", (4, 3), {"groups": 2, "stride": 2}, (2, 6, 7, 7)),
    ("LazyConv3d", (2, 2), {"bias": False}, (1, 3, 4, 4, 4)),
    ("LazyConv2d", (4, 3), {}, (3, 6, 6)),
    ("LazyConvTranspose1d", (4, 3), {"groups": 2}, (2, 4, 5)),
    ("LazyConvTranspose2d", (3, 2), {"stride": 2, "output_padding": 1}, (2, 2, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (4, 3, 5)),
    ("LazyBatchNorm2d", (), {"affine": False}, (4, 3, 2, 2)),
    ("LazyBatchNorm3d", (), {"momentum": None}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", (), {"affine": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 3, 2)),
]


def _build(name, args, kw):
    return getattr(ember.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


@pytest.mark.parametrize("name,args,kw,shape", CASES)
def test_lazy_layer_matches_torch(name, args, kw, shape):
    e, t = _build(name, args, kw)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [repr(v) for v in e.state_dict().values()] == [repr(v) for v in t.state_dict().values()]
    x = RNG.standard_normal(shape).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye = e(xe)
    t(xt)  # materialise torch's layer too, then give it ember's values
    assert type(e).__name__ == type(t).__name__ == name[4:]
    assert repr(e) == repr(t)
    assert [tuple(v.shape) for v in e.state_dict().values()] == [
        tuple(v.shape) for v in t.state_dict().values()
    ]
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    if "Norm" in name:
        # The first forward already updated the running statistics (in training mode): start
        # both from the same state again.
        copy_weights(e, t)
    xt.grad = None
    ye, yt = e(xe), t(xt)
    assert_close(ye, yt, 1e-5, 1e-5)
    up = RNG.standard_normal(tuple(yt.shape)).astype(np.float32)
    xe.grad = None
    ye.backward(ember.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 1e-4, 1e-5)
    named_t = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-4, 1e-5, what=n)
    for n, b in e.named_buffers():
        assert_close(b, dict(t.named_buffers())[n], 1e-5, 1e-6, what=n)


def test_lazy_norm_without_state_warns_as_torch():
    # Nothing to infer: num_features stays 0 and InstanceNorm warns on every call, in both.
    for lib in (ember, torch):
        m = lib.nn.LazyInstanceNorm2d(affine=False, track_running_stats=False)
        with pytest.warns(UserWarning, match="does not match num_features"):
            m(lib.randn(2, 3, 4, 4))
        assert m.num_features == 0


def test_initial_values_use_the_regular_layer_init():
    lin = ember.nn.LazyLinear(50)
    lin(ember.zeros(1, 16))
    bound = 1 / math.sqrt(16)
    assert lin.weight.abs().max().item() <= bound and lin.weight.std().item() > bound / 3
    assert lin.bias.abs().max().item() <= bound
    bn = ember.nn.LazyBatchNorm1d()
    bn.eval()
    bn(ember.zeros(2, 3))
    assert bn.weight.tolist() == [1.0] * 3 and bn.running_var.tolist() == [1.0] * 3


def test_load_state_dict_materialises():
    src = ember.nn.Linear(6, 3)
    lazy = ember.nn.LazyLinear(3)
    lazy.load_state_dict(src.state_dict())
    assert type(lazy).__name__ == "LazyLinear" and tuple(lazy.weight.shape) == (3, 6)
    x = ember.randn(2, 6)
    assert_close(lazy(x), torch.tensor(src(x).detach().numpy()), 0, 0)
    assert type(lazy) is ember.nn.Linear


def test_dtype_conversion_before_materialising_and_optimizer():
    net = ember.nn.Sequential(ember.nn.LazyLinear(4), ember.nn.ReLU(), ember.nn.LazyLinear(1))
    net.double()
    opt = ember.optim.SGD(net.parameters(), lr=0.1)
    x = ember.randn(8, 5, dtype=ember.float64)
    loss = net(x).pow(2).mean()
    assert net[0].weight.dtype == ember.float64
    loss.backward()
    before = net[0].weight.clone()
    opt.step()
    assert not ember.equal(before, net[0].weight)


def test_uninitialized_objects():
    p = ember.nn.parameter.UninitializedParameter()
    b = ember.nn.parameter.UninitializedBuffer()
    assert repr(p) == "<UninitializedParameter>" and repr(b) == "<UninitializedBuffer>"
    assert p.requires_grad and not b.requires_grad
    assert isinstance(p, ember.nn.Parameter)
    assert ember.nn.parameter.is_lazy(p)
    b.materialize((2,), dtype=ember.float64)
    assert type(b) is ember.Tensor and b.dtype == ember.float64
    assert not ember.nn.parameter.is_lazy(b)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.parameter.UninitializedParameter().shape,
        lambda lib: lib.nn.parameter.UninitializedParameter() + 1,
        lambda lib: lib.nn.parameter.UninitializedParameter().sum(),
        lambda lib: lib.nn.LazyConv2d(4, 3)(lib.zeros(2, 3)),
        lambda lib: lib.nn.LazyConv2d(4, 3, groups=2)(lib.zeros(1, 3, 5, 5)),
    ],
)
def test_errors_as_torch(call):
    same_error(call, exact=False)
