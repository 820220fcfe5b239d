"""gumbel_softmax, pdist, channel_shuffle, fractional max pooling and LPPool3d against PyTorch:
values, every gradient, module reprs/state_dicts, errors, and gradcheck of the pdist primitive."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.nn.functional._misc import _gumbel_from_noise
from tests.nn._lib import same_error
from tests.parity import assert_close

RNG = np.random.default_rng(0)
TF = torch.nn.functional


def _pair(a):
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


# ---- gumbel_softmax ------------------------------------------------------------------------------
def _torch_gumbel(logits, gumbels, tau, hard, dim):
    """torch's gumbel_softmax with the noise given (its body, noise not drawn)."""
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = torch.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_given_noise(hard, dim):
    le, lt = _pair(RNG.standard_normal((4, 5)))
    noise = -np.log(RNG.exponential(size=(4, 5)))
    ye = _gumbel_from_noise(le, ember.tensor(noise), 0.7, hard, dim)
    yt = _torch_gumbel(lt, torch.tensor(noise), 0.7, hard, dim)
    assert_close(ye, yt, 1e-10, 1e-12)
    up = RNG.standard_normal((4, 5))
    (ye * ember.tensor(up)).sum().backward()
    (yt * torch.tensor(up)).sum().backward()
    assert_close(le.grad, lt.grad, 1e-9, 1e-12)


def test_gumbel_softmax_samples_follow_softmax():
    ember.manual_seed(0)
    logits = ember.tensor([[1.0, 0.0, -1.0, 2.0]]).expand(20000, 4)
    y = F.gumbel_softmax(logits, tau=1.0, hard=True)
    assert set(np.unique(y.numpy())) <= {0.0, 1.0}
    assert (y.sum(1) == 1).all().item()
    freq = y.mean(0).numpy()
    want = torch.tensor([1.0, 0.0, -1.0, 2.0]).softmax(0).numpy()
    assert np.abs(freq - want).max() < 0.02


# ---- pdist ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0, 0.5, 1, 1.5, 2, 3, math.inf])
def test_pdist(p):
    a = RNG.standard_normal((5, 3))
    a[3] = a[1]  # a duplicate row: distance 0, gradient 0 there
    a[4, 0] = a[0, 0]  # an equal coordinate
    xe, xt = _pair(a)
    de, dt = F.pdist(xe, p), TF.pdist(xt, p)
    assert_close(de, dt, 1e-10, 1e-12)
    up = RNG.standard_normal(dt.shape)
    de.backward(ember.tensor(up))
    dt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 1e-9, 1e-12)


@pytest.mark.parametrize("p", [1, 2, 3, math.inf])
def test_pdist_gradcheck(p):
    x = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.pdist(t, p), (x,))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.pdist(lib.zeros(3)),
        lambda lib: lib.nn.functional.pdist(lib.zeros(3, 2), p=-1),
        lambda lib: lib.nn.functional.pdist(lib.zeros(3, 2, dtype=lib.int64)),
        lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(1, 4, 2), 0),
        lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(1, 5, 2), 2),
        lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(5), 1),
    ],
)
def test_errors_as_torch(call):
    same_error(call)


# ---- channel_shuffle -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,groups", [((2, 6, 3, 4), 3), ((1, 8, 5), 2), ((2, 4, 2, 2, 3), 4)])
def test_channel_shuffle(shape, groups):
    xe, xt = _pair(RNG.standard_normal(shape))
    me, mt = ember.nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups)
    assert repr(me) == repr(mt)
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt, 0, 0)
    up = RNG.standard_normal(shape)
    ye.backward(ember.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 0, 0)


# ---- fractional max pooling and LPPool3d ---------------------------------------------------------
@pytest.mark.parametrize(
    "d,shape,kernel,size,ratio",
    [
        (2, (2, 3, 11, 9), (3, 2), (5, 4), None),
        (2, (3, 10, 10), 2, None, (0.5, 0.7)),
        (3, (2, 2, 7, 9, 8), (2, 3, 2), (4, 3, 5), None),
        (3, (2, 6, 6, 7), 2, None, 0.5),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fractional_max_pool(d, shape, kernel, size, ratio, dtype):
    xe, xt = _pair(RNG.standard_normal(shape).astype(dtype))
    n = shape[0] if len(shape) == d + 2 else 1
    c = shape[-d - 1]
    samples = RNG.random((n, c, d)).astype(dtype)
    name = f"FractionalMaxPool{d}d"
    kw = {"output_size": size, "output_ratio": ratio, "return_indices": True}
    me = getattr(ember.nn, name)(kernel, _random_samples=ember.tensor(samples), **kw)
    mt = getattr(torch.nn, name)(kernel, _random_samples=torch.tensor(samples), **kw)
    assert list(me.state_dict()) == list(mt.state_dict())
    (oe, ie), (ot, it) = me(xe), mt(xt)
    assert_close(oe, ot, 0, 0)
    assert ie.tolist() == it.tolist() and ie.dtype == ember.int64
    up = RNG.standard_normal(ot.shape).astype(dtype)
    oe.backward(ember.tensor(up))
    ot.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 1e-6, 1e-7)


def test_fractional_random_samples_drawn_when_absent():
    ember.manual_seed(1)
    y = F.fractional_max_pool2d(ember.randn(2, 3, 9, 9), 2, output_ratio=(0.5, 0.5))
    assert tuple(y.shape) == (2, 3, 4, 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.fractional_max_pool2d(
            lib.zeros(1, 1, 4, 4), 3, output_size=3
        ),
        lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(1, 1, 4, 4), 2),
        lambda lib: lib.nn.FractionalMaxPool2d(2),
        lambda lib: lib.nn.FractionalMaxPool2d(2, output_size=2, output_ratio=0.5),
        lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=1.5),
    ],
)
def test_fractional_errors_as_torch(call):
    same_error(call)


@pytest.mark.parametrize(
    "norm_type,kernel,stride,ceil", [(2, 2, None, False), (3, (2, 3, 2), 1, True)]
)
def test_lppool3d(norm_type, kernel, stride, ceil):
    xe, xt = _pair(RNG.random((2, 3, 5, 6, 5)) + 0.1)
    me = ember.nn.LPPool3d(norm_type, kernel, stride, ceil)
    mt = torch.nn.LPPool3d(norm_type, kernel, stride, ceil)
    assert repr(me) == repr(mt)
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt, 1e-10, 1e-12)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(xe.grad, xt.grad, 1e-9, 1e-12)
