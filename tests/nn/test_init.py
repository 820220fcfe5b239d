"""nn.init against torch: deterministic fills exactly, random ones by their bounds and statistics
(ember's random stream is its own), fans, gains, generators and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.init as tinit

import ember
import ember.nn as enn
from ember.nn import init
from tests.parity import assert_close


def _param(*shape, dtype=ember.float32) -> enn.Parameter:
    return enn.Parameter(ember.empty(*shape, dtype=dtype))


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 3),
        ("selu", None),
    ],
)
def test_calculate_gain(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == tinit.calculate_gain(nonlinearity, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 3, 2, 4), (2, 3, 2, 2, 2), (4, 0)])
def test_fans_match_torch(shape):
    e = init._calculate_fan_in_and_fan_out(ember.empty(*shape))
    t = tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert e == t


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(ember.empty(3, 4), mode="fan_avg")


def test_fills_run_without_autograd_on_parameters_and_return_the_tensor():
    p = _param(4, 5)
    for fn in (
        lambda t: init.uniform_(t, -1, 1),
        lambda t: init.normal_(t),
        lambda t: init.constant_(t, 0.3),
        init.ones_,
        init.zeros_,
        init.eye_,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
        init.trunc_normal_,
        init.orthogonal_,
        lambda t: init.sparse_(t, 0.5),
    ):
        v = p._version
        assert fn(p) is p
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        assert p._version > v


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_deterministic_fills_equal_torch(dtype):
    tdt = torch.float32 if dtype is ember.float32 else torch.float64
    for shape in [(3, 5), (5, 3), (4, 4)]:
        assert_close(
            init.eye_(ember.empty(*shape, dtype=dtype)), tinit.eye_(torch.empty(shape)).to(tdt)
        )
    for shape, groups in [
        ((4, 2, 3), 1),
        ((6, 3, 3, 3), 1),
        ((6, 2, 3, 3), 2),
        ((4, 3, 3, 3, 3), 2),
        ((3, 5, 2, 2), 1),
        ((8, 2, 5), 4),
    ]:
        e = init.dirac_(ember.empty(*shape, dtype=dtype), groups)
        t = tinit.dirac_(torch.empty(shape, dtype=tdt), groups)
        assert_close(e, t)
    assert_close(
        init.constant_(ember.empty(2, 3, dtype=dtype), 0.7), torch.full((2, 3), 0.7, dtype=tdt)
    )
    assert_close(init.ones_(ember.empty(2, dtype=dtype)), torch.ones(2, dtype=tdt))
    assert_close(init.zeros_(ember.ones(2, dtype=dtype)), torch.zeros(2, dtype=tdt))


def test_deterministic_fill_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(ember.empty(2, 2, 2))
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(ember.empty(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(ember.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(ember.empty(4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(ember.empty(4, 2, 2), 0.5)


BIG = (400, 500)


def test_uniform_and_normal_statistics():
    t = init.uniform_(ember.empty(*BIG), -2.0, 3.0)._data
    assert t.min() >= -2.0 and t.max() < 3.0
    assert abs(t.mean() - 0.5) < 0.02 and abs(t.std() - 5 / math.sqrt(12)) < 0.02
    n = init.normal_(ember.empty(*BIG), 1.5, 0.5)._data
    assert abs(n.mean() - 1.5) < 0.005 and abs(n.std() - 0.5) < 0.005


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(gain):
    shape = (300, 200, 3)
    fan_in, fan_out = 200 * 3, 300 * 3
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    u = init.xavier_uniform_(ember.empty(*shape), gain=gain)._data
    bound = math.sqrt(3.0) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert abs(u.std() - std) < 0.01 * std
    n = init.xavier_normal_(ember.empty(*shape), gain=gain)._data
    assert abs(n.std() - std) < 0.01 * std and abs(n.mean()) < 0.01 * std
    # torch's samples have the same spread.
    tu = tinit.xavier_uniform_(torch.empty(shape), gain=gain)
    assert abs(tu.std().item() - u.std()) < 0.02 * std


@pytest.mark.parametrize(
    "a, mode, nonlinearity",
    [
        (0, "fan_in", "leaky_relu"),
        (math.sqrt(5), "fan_in", "leaky_relu"),
        (0, "fan_out", "relu"),
        (0, "FAN_IN", "tanh"),
        (0.1, "fan_out", "leaky_relu"),
    ],
)
def test_kaiming(a, mode, nonlinearity):
    shape = (200, 150, 3, 3)
    fan = (150 if mode.lower() == "fan_in" else 200) * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = init.kaiming_uniform_(ember.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3.0) * std
    ud = u._data
    assert np.abs(ud).max() <= bound * (1 + 1e-6) and np.abs(ud).max() > 0.99 * bound
    assert abs(ud.std() - std) < 0.01 * std
    n = init.kaiming_normal_(ember.empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(n._data.std() - std) < 0.01 * std
    t = tinit.kaiming_normal_(torch.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(t.std().item() - std) < 0.01 * std


def test_kaiming_zero_element_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(ember.empty(3, 0))


@pytest.mark.parametrize(
    "mean, std, a, b",
    [
        (0.0, 1.0, -2.0, 2.0),  # the default: plain normal draws, redrawn outside
        (0.0, 0.02, -0.04, 0.04),
        (1.0, 2.0, 0.0, 1.5),
        (0.0, 1.0, -0.2, 0.3),  # narrow around the mean: uniform proposal
        (0.0, 1.0, 1.5, 4.0),  # a tail: exponential proposal
        (0.0, 1.0, -6.0, -3.0),  # the other tail
        (0.0, 1.0, 2.0, 2.3),  # a short piece of a tail: uniform proposal
    ],
)
def test_trunc_normal(mean, std, a, b):
    from statistics import NormalDist

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        with pytest.warns(UserWarning, match="mean is more than 2 std"):  # as torch warns
            e = init.trunc_normal_(ember.empty(*BIG), mean, std, a, b)._data
    else:
        e = init.trunc_normal_(ember.empty(*BIG), mean, std, a, b)._data
    assert e.min() >= a and e.max() <= b
    # The quantiles of the truncated normal distribution, from its inverse CDF.
    nd = NormalDist(mean, std)
    lo, hi = nd.cdf(a), nd.cdf(b)
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    theory = [nd.inv_cdf(lo + q * (hi - lo)) for q in qs]
    np.testing.assert_allclose(np.quantile(e, qs), theory, atol=0.01 * (b - a))
    if a == -2.0 and b == 2.0:  # torch's samples (inverse-CDF method) agree as well
        t = tinit.trunc_normal_(torch.empty(BIG), mean, std, a, b).numpy()
        np.testing.assert_allclose(np.quantile(e, qs), np.quantile(t, qs), atol=0.01 * (b - a))


def test_trunc_normal_warns_when_mean_far_outside():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(ember.empty(10), mean=10.0, std=1.0, a=-2.0, b=2.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3), (3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    q = init.orthogonal_(ember.empty(*shape), gain=gain)._data.reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, gain * gain * np.eye(min(rows, cols)), atol=1e-5)


def test_sparse():
    t = init.sparse_(ember.empty(10, 200), sparsity=0.25, std=0.5)._data
    zeros_per_column = (t == 0).sum(axis=0)
    assert np.all(zeros_per_column == math.ceil(0.25 * 10))
    assert abs(t[t != 0].std() - 0.5) < 0.03
    tt = tinit.sparse_(torch.empty(10, 200), sparsity=0.25, std=0.5)
    np.testing.assert_array_equal((tt == 0).sum(0).numpy(), zeros_per_column)


def test_generator_keyword_reproducible():
    for fn in (
        lambda t, g: init.uniform_(t, generator=g),
        lambda t, g: init.normal_(t, generator=g),
        lambda t, g: init.xavier_uniform_(t, generator=g),
        lambda t, g: init.kaiming_normal_(t, generator=g),
        lambda t, g: init.trunc_normal_(t, generator=g),
        lambda t, g: init.orthogonal_(t, generator=g),
        lambda t, g: init.sparse_(t, 0.3, generator=g),
    ):
        a = fn(ember.empty(6, 5), ember.Generator().manual_seed(7))._data
        b = fn(ember.empty(6, 5), ember.Generator().manual_seed(7))._data
        c = fn(ember.empty(6, 5), ember.Generator().manual_seed(8))._data
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_global_seed_reproducible_layers():
    ember.manual_seed(3)
    a = enn.Linear(5, 4).weight._data.copy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(enn.Linear(5, 4).weight._data, a)


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match="nn.init.normal` is now deprecated"):
        init.normal(ember.empty(3))
