"""Dropout: the torch.nn tutorial's dropout rule (nn.Dropout obeys eval(), F.dropout only its own
``training``), mask statistics and exact gradients (random streams differ from torch's, so the
masks themselves are not compared), channel-wise and alpha variants, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as enn
import ember.nn.functional as F
from tests.parity import assert_close, layer_case, rand_array

P_VALUES = [0.1, 0.3, 0.5, 0.8]


def _ones_backward(x: ember.Tensor, y: ember.Tensor) -> np.ndarray:
    y.backward(ember.ones_like(y))
    return x.grad._data


@pytest.mark.parametrize("p", P_VALUES)
def test_dropout_mask_statistics_and_exact_gradient(p):
    x = ember.tensor(rand_array((400, 500), seed=1, low=0.5, high=2.0), requires_grad=True)
    y = F.dropout(x, p)  # training=True by default
    kept = y._data != 0
    frac_dropped = 1 - kept.mean()
    # 200k Bernoulli draws: the standard error of the fraction is below 0.0012.
    assert abs(frac_dropped - p) < 0.006
    scale = np.float32(1) / np.float32(1 - p)
    grad = _ones_backward(x, y)
    # The gradient is exactly the mask scaled by 1/(1-p), and survivors are x times that.
    np.testing.assert_array_equal(grad, kept.astype(np.float32) * scale)
    np.testing.assert_array_equal(y._data, x._data * grad)
    # torch scales its survivors by the same float32 factor.
    tx = torch.tensor(x._data)
    ty = TF.dropout(tx, p)
    tkept = ty != 0
    np.testing.assert_array_equal(ty[tkept].numpy(), tx[tkept].numpy() * scale)
    np.testing.assert_array_equal(y._data[kept], x._data[kept] * scale)


def test_dropout_masks_differ_between_calls_and_follow_the_seed():
    x = ember.ones(1000)
    a, b = F.dropout(x)._data, F.dropout(x)._data
    assert not np.array_equal(a, b)
    ember.manual_seed(123)
    c = F.dropout(x)._data
    ember.manual_seed(123)
    np.testing.assert_array_equal(F.dropout(x)._data, c)


def test_p_zero_one_and_eval_identity():
    x = ember.tensor(rand_array((50, 40), seed=2), requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    y = F.dropout(x, 1.0)
    assert not y._data.any()
    grad = _ones_backward(x, y)
    assert not grad.any()  # p=1: nothing flows back either
    assert_close(TF.dropout(torch.tensor(x._data), 1.0), y)
    m = enn.Dropout(0.4).eval()
    assert m(x) is x


@pytest.mark.parametrize("bad", [1.5, -0.1])
def test_bad_p_raises_value_error(bad):
    msg = f"dropout probability has to be between 0 and 1, but got {bad}"
    x = ember.ones(3, 4, 5)
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.alpha_dropout, F.feature_alpha_dropout):
        with pytest.raises(ValueError, match=msg):
            fn(x, bad)
    for cls in (
        enn.Dropout,
        enn.Dropout1d,
        enn.Dropout2d,
        enn.Dropout3d,
        enn.AlphaDropout,
        enn.FeatureAlphaDropout,
    ):
        with pytest.raises(ValueError, match=msg):
            cls(bad)
    with pytest.raises(ValueError, match=msg):
        tnn.Dropout(bad)  # the same error type and message in torch


class _Both(enn.Module):
    """A model with an nn.Dropout layer and an F.dropout call, as in the torch.nn tutorial."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = enn.Dropout(0.5)

    def forward(self, x: ember.Tensor) -> tuple:
        return self.drop(x), F.dropout(x, 0.5), F.dropout(x, 0.5, training=self.training)


def test_module_dropout_stops_after_eval_but_functional_does_not():
    model = _Both()
    x = ember.ones(2000)
    layer, func, func_follow = model(x)
    for out in (layer, func, func_follow):
        assert 0.4 < (out._data == 0).mean() < 0.6
    model.eval()
    layer, func, func_follow = model(x)
    np.testing.assert_array_equal(layer._data, x._data)  # nn.Dropout: switched off
    assert 0.4 < (func._data == 0).mean() < 0.6  # F.dropout: still dropping (training=True)
    np.testing.assert_array_equal(func_follow._data, x._data)  # training=self.training
    model.train()
    assert 0.4 < (model(x)[0]._data == 0).mean() < 0.6


def test_dropout_inside_sequential_eval():
    model = enn.Sequential(enn.Linear(10, 10), enn.Dropout(0.9), enn.Linear(10, 2))
    x = ember.randn(4, 10)
    model.eval()
    np.testing.assert_array_equal(model(x)._data, model(x)._data)
    model.train()
    assert not np.array_equal(model(x)._data, model(x)._data)


def test_inplace_dropout():
    x = ember.tensor(rand_array((100, 100), seed=3, low=1.0, high=2.0))
    arr = x._data
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and y._data is arr
    assert 0.45 < (arr == 0).mean() < 0.55
    # With autograd: an intermediate tensor changed in place, the gradient still the mask.
    leaf = ember.tensor(rand_array((100, 100), seed=4, low=1.0, high=2.0), requires_grad=True)
    mid = leaf * 1.0
    out = enn.Dropout(0.25, inplace=True)(mid)
    assert out is mid
    grad = _ones_backward(leaf, out)
    kept = out._data != 0
    np.testing.assert_array_equal(grad, kept * (np.float32(1) / np.float32(0.75)))


def _channel_mask_ok(y: np.ndarray, x: np.ndarray, scale: float, axes: tuple) -> np.ndarray:
    """Every channel is either all zero or exactly x * scale; returns the per-channel mask."""
    zero = (y == 0).all(axis=axes)
    same = (y == x * np.float32(scale)).all(axis=axes)
    assert np.all(zero | same)
    return ~zero


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout2d_channels(p):
    x = ember.tensor(rand_array((40, 50, 3, 3), seed=5, low=0.5, high=1.5), requires_grad=True)
    y = F.dropout2d(x, p)
    scale = np.float32(1) / np.float32(1 - p)
    kept = _channel_mask_ok(y._data, x._data, scale, (2, 3))
    assert abs((1 - kept.mean()) - p) < 0.05
    grad = _ones_backward(x, y)
    np.testing.assert_array_equal(grad, np.broadcast_to(kept[:, :, None, None] * scale, grad.shape))
    m = enn.Dropout2d(p)
    assert repr(m) == repr(tnn.Dropout2d(p))
    assert m.eval()(x) is x


def test_dropout1d_batched_and_unbatched():
    x = ember.tensor(rand_array((30, 40, 6), seed=6, low=0.5, high=1.5))
    kept = _channel_mask_ok(F.dropout1d(x, 0.5)._data, x._data, 2.0, (2,))
    assert 0.4 < kept.mean() < 0.6
    u = ember.tensor(rand_array((400, 6), seed=7, low=0.5, high=1.5))
    y = enn.Dropout1d(0.5)(u)
    assert y.shape == u.shape
    kept = _channel_mask_ok(y._data, u._data, 2.0, (1,))
    assert 0.4 < kept.mean() < 0.6
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D"):
        F.dropout1d(ember.ones(2, 3, 4, 5))


def test_dropout3d_batched_and_unbatched():
    x = ember.tensor(rand_array((10, 40, 2, 2, 2), seed=8, low=0.5, high=1.5))
    kept = _channel_mask_ok(F.dropout3d(x, 0.5)._data, x._data, 2.0, (2, 3, 4))
    assert 0.35 < kept.mean() < 0.65
    u = ember.tensor(rand_array((300, 2, 2, 2), seed=9, low=0.5, high=1.5))
    kept = _channel_mask_ok(F.dropout3d(u, 0.5)._data, u._data, 2.0, (1, 2, 3))
    assert 0.4 < kept.mean() < 0.6


def test_dropout2d_warnings_as_torch():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        y = F.dropout2d(ember.ones(20, 30, 4), 0.5)
    _channel_mask_ok(y._data, np.ones((20, 30, 4), np.float32), 2.0, (2,))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(ember.ones(3, 4), 0.5)
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        with pytest.warns(UserWarning, match="Received a 1-D input"):
            F.dropout2d(ember.ones(3), 0.5)


def test_dropout_of_integers_raises():
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        F.dropout(ember.arange(5), 0.5)


# ---- alpha dropout ------------------------------------------------------------------------
def _alpha_constants(p: float) -> tuple:
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    # survivors become a * x + alpha * a * p; dropped units the constant alpha * a * (p - 1)
    return a, alpha * a * (p - 1), alpha * a * p


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(p):
    g = np.random.default_rng(0)
    x = ember.tensor(g.standard_normal((400, 500)).astype(np.float32), requires_grad=True)
    y = F.alpha_dropout(x, p, training=True)
    yd = y._data
    assert abs(yd.mean()) < 0.01 and abs(yd.std() - 1) < 0.01
    ty = TF.alpha_dropout(torch.tensor(x._data), p, training=True).numpy()
    assert abs(ty.mean() - yd.mean()) < 0.015 and abs(ty.std() - yd.std()) < 0.015
    a, dropped_value, shift = _alpha_constants(p)
    # Dropped units: the same constant as torch's (the most common value of its output).
    vals, counts = np.unique(ty, return_counts=True)
    torch_dropped = vals[counts.argmax()]
    np.testing.assert_allclose(torch_dropped, dropped_value, rtol=1e-6)
    dropped = np.isclose(yd, np.float32(dropped_value), rtol=0, atol=1e-6) & (x._data != 0)
    assert abs(dropped.mean() - p) < 0.006
    grad = _ones_backward(x, y)
    np.testing.assert_allclose(grad, np.where(dropped, 0.0, a), rtol=1e-6)
    np.testing.assert_allclose(yd[~dropped], x._data[~dropped] * a + shift, rtol=1e-5, atol=1e-5)


def test_alpha_dropout_defaults_and_modules():
    x = ember.randn(5, 6)
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False, as torch
    assert F.feature_alpha_dropout(x, 0.5) is x
    for cls in (enn.AlphaDropout, enn.FeatureAlphaDropout):
        m = cls(0.2)
        assert repr(m) == repr(getattr(tnn, cls.__name__)(0.2))
        assert m.eval()(x) is x
        assert not np.array_equal(m.train()(x)._data, x._data)


def test_feature_alpha_dropout_channels():
    x = ember.tensor(rand_array((50, 40, 3), seed=11, low=0.5, high=1.5))
    y = F.feature_alpha_dropout(x, 0.5, training=True)._data
    a, dropped_value, shift = _alpha_constants(0.5)
    dropped = np.isclose(y, dropped_value, atol=1e-6).all(axis=2)
    survived = np.isclose(y, x._data * a + shift, rtol=1e-5).all(axis=2)
    assert np.all(dropped ^ survived)
    assert 0.4 < dropped.mean() < 0.6


def test_reprs():
    cases = [
        layer_case("Dropout"),
        layer_case("Dropout", (0.2, True)),
        layer_case("Dropout1d", (0.3,)),
        layer_case("Dropout3d", kwargs=dict(p=0.1)),
    ]
    for case in cases:
        assert repr(case.build(ember)) == repr(case.build(torch))
