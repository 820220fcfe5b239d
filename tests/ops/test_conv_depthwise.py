"""Depthwise convolution (``ops/conv_depthwise.py``) vs torch: forward, input/weight/bias
gradients and the strides of the output and input gradient, float32 and float64, NCHW and
channels-last input, strides, dilations, asymmetric 'same' padding, channel multipliers, 1-D,
odd sizes; also split across two cores in blocks of one image, inf/NaN, create_graph."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.ops import _parallel
from ember.ops import conv_depthwise as dw

# (input shape, weight shape, kwargs)
CASES = [
    ((2, 32, 9, 8), (32, 1, 3, 3), dict(groups=32, padding="same")),
    ((3, 8, 7, 5), (8, 1, 3, 3), dict(groups=8, padding=1)),
    ((3, 8, 7, 5), (16, 1, 3, 3), dict(groups=8, padding=1)),  # multiplier 2
    ((3, 8, 11, 9), (8, 1, 3, 3), dict(groups=8, padding=1, stride=2)),
    ((3, 6, 11, 9), (12, 1, 3, 2), dict(groups=6, padding=(2, 1), stride=(2, 1), dilation=(1, 2))),
    ((3, 6, 11, 9), (6, 1, 5, 5), dict(groups=6, padding=2, stride=(1, 2))),
    ((3, 6, 11, 9), (6, 1, 4, 4), dict(groups=6, padding="same", dilation=2)),  # even: asymmetric
    ((1, 5, 1, 1), (5, 1, 3, 3), dict(groups=5, padding=1)),
    ((2, 7, 13, 1), (7, 1, 3, 1), dict(groups=7)),
    ((2, 4, 6, 6), (4, 1, 3, 3), dict(groups=4, padding=5)),  # padding beyond the kernel
    ((2, 3, 6, 7), (9, 1, 3, 3), dict(groups=3, stride=3, padding=1)),  # multiplier 3, strided
    ((2, 4, 10, 11), (4, 1, 2, 2), dict(groups=4, stride=3)),  # gaps: positions no tap reads
    ((2, 4, 13, 12), (4, 1, 3, 3), dict(groups=4, stride=2, dilation=2, padding=2)),
    ((2, 4, 13, 12), (8, 1, 3, 3), dict(groups=4, stride=(2, 3), dilation=(3, 2), padding=(1, 3))),
    ((2, 3, 5, 5), (3, 1, 3, 3), dict(groups=3, stride=4, padding=4)),
    ((2, 5, 17), (5, 1, 3), dict(groups=5, padding=1)),
    ((2, 5, 17), (10, 1, 4), dict(groups=5, padding=2, stride=3, dilation=2)),
    ((2, 5, 17), (5, 1, 3), dict(groups=5, padding="same", dilation=3)),
]
CONV = {3: (F.conv1d, TF.conv1d), 4: (F.conv2d, TF.conv2d)}


def _run(lib, conv, x, w, b, kw, channels_last, gy):
    xt = lib.tensor(x)
    if channels_last:
        xt = xt.contiguous(memory_format=lib.channels_last)
    xt.requires_grad_(True)
    wt = lib.tensor(w, requires_grad=True)
    bt = None if b is None else lib.tensor(b, requires_grad=True)
    y = conv(xt, wt, bt, **kw)
    if gy is not None:
        (y * lib.tensor(gy)).sum().backward()
    return y, xt, wt, bt


def _compare(xs, ws, kw, dtype, channels_last, bias) -> None:
    rng = np.random.default_rng(sum(xs))
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    econv, tconv = CONV[len(xs)]
    y_shape = tuple(_run(torch, tconv, x, w, b, kw, channels_last, None)[0].shape)
    gy = rng.standard_normal(y_shape).astype(dtype)
    ey, ex, ew, eb = _run(ember, econv, x, w, b, kw, channels_last, gy)
    ty, tx, tw, tb = _run(torch, tconv, x, w, b, kw, channels_last, gy)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    pairs = [(ey.detach(), ty.detach()), (ex.grad, tx.grad), (ew.grad, tw.grad)]
    if bias:
        pairs.append((eb.grad, tb.grad))
    for e, t in pairs:
        assert e.shape == tuple(t.shape)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=tol, atol=tol)
    assert ey.stride() == ty.stride()
    assert ex.grad.stride() == tx.grad.stride()


@pytest.fixture
def every_multiplier(monkeypatch):
    """Every depthwise convolution on this path, whatever its channel multiplier."""
    monkeypatch.setattr(dw, "MULT_MAX", 1 << 30)
    monkeypatch.setattr(dw, "MULT_MAX_STRIDED", 1 << 30)
    monkeypatch.setattr(dw, "MULT_MIN_CHANNELS", 0)


# (channels-last is 4-D only)
LAYOUT_CASES = [(*c, cl) for c in CASES for cl in (False, True) if not cl or len(c[0]) == 4]


@pytest.mark.parametrize(
    "xs, ws, kw, channels_last",
    LAYOUT_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in LAYOUT_CASES],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_depthwise_matches_torch(every_multiplier, xs, ws, kw, dtype, channels_last):
    _compare(xs, ws, kw, dtype, channels_last, bias=True)
    _compare(xs, ws, kw, dtype, channels_last, bias=False)


def test_depthwise_path_is_taken(monkeypatch):
    calls = []
    plain = dw.depthwise_forward

    def spy(*args):
        calls.append(1)
        return plain(*args)

    monkeypatch.setattr("ember.ops.conv.depthwise_forward", spy)
    F.conv2d(ember.randn(2, 4, 5, 5), ember.randn(4, 1, 3, 3), groups=4)
    F.conv1d(ember.randn(2, 4, 5), ember.randn(4, 1, 3), groups=4)
    F.conv2d(ember.randn(2, 4, 5, 5), ember.randn(4, 2, 3, 3), groups=2)  # not depthwise
    F.conv2d(ember.randn(2, 1, 5, 5), ember.randn(4, 1, 3, 3))  # one group: generic path
    assert len(calls) == 2
    F.conv2d(ember.randn(2, 16, 5, 5), ember.randn(32, 1, 3, 3), groups=16)  # multiplier 2
    assert len(calls) == 3
    F.conv2d(ember.randn(2, 16, 5, 5), ember.randn(32, 1, 3, 3), groups=16, stride=2)
    F.conv2d(ember.randn(2, 8, 5, 5), ember.randn(16, 1, 3, 3), groups=8)  # few channels
    F.conv2d(ember.randn(2, 16, 5, 5), ember.randn(64, 1, 3, 3), groups=16)  # multiplier 4
    F.conv2d(ember.randn(2, 4, 5, 5).half(), ember.randn(4, 1, 3, 3).half(), groups=4)
    assert len(calls) == 3


@pytest.fixture
def split(monkeypatch):
    """Every pass split into two per-core chunks run on the pool, one image per block."""
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    monkeypatch.setattr(dw, "BLOCK_BYTES", 1)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        yield
    finally:
        ember.set_num_threads(before)


SPLIT_CASES = [(i, cl) for i in (0, 2, 3, 4, 10, 11, 13, 16) for cl in (False, True)]


@pytest.mark.parametrize(
    "case, channels_last", [(i, cl) for i, cl in SPLIT_CASES if not cl or len(CASES[i][0]) == 4]
)
def test_depthwise_split_in_blocks_matches_torch(split, every_multiplier, case, channels_last):
    xs, ws, kw = CASES[case]
    xs = (5, *xs[1:])  # odd batch: unequal chunks, several blocks each
    _compare(xs, ws, kw, np.float64, channels_last, bias=True)


def test_depthwise_split_weight_grad_is_the_same_bits_however_the_chunks_run(monkeypatch):
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    grads = []
    try:
        for how in (True, False):
            monkeypatch.setattr(_parallel, "SPLIT", how)
            x = ember.tensor(
                np.random.default_rng(0).standard_normal((6, 8, 9, 9)), dtype=ember.float32
            )
            w = ember.tensor(
                np.random.default_rng(1).standard_normal((8, 1, 3, 3)), dtype=ember.float32
            )
            w.requires_grad_(True)
            F.conv2d(x, w, padding=1, groups=8).sum().backward()
            grads.append(w.grad.numpy())
    finally:
        ember.set_num_threads(before)
    assert np.array_equal(grads[0], grads[1])


def test_depthwise_inf_nan_and_signed_zero():
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6))
    x[0, 1, 2, 3] = np.inf
    x[1, 2, 0, 0] = -np.inf
    x[1, 3, 4, 4] = np.nan
    w = np.random.default_rng(1).standard_normal((4, 1, 3, 3))
    w[0, 0, 1, 1] = 0.0
    w[1, 0, 0, 0] = -0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compare_raw(x, w)


def _compare_raw(x, w):
    gy = np.ones((2, 4, 6, 6))
    res = []
    for lib, conv in ((ember, F.conv2d), (torch, TF.conv2d)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = conv(xt, wt, padding=1, groups=4)
        (y * lib.tensor(gy)).sum().backward()
        res.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)  # (NaN where torch's NaN)


def test_depthwise_double_backward_matches_torch():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((8, 1, 3, 3))
    res = []
    for lib, conv in ((ember, F.conv2d), (torch, TF.conv2d)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = conv(xt, wt, padding=1, stride=(2, 1), groups=4)
        gx, gw = lib.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        (gx.sum() + (gw * gw).sum()).backward()
        res.append([gx.detach().numpy(), gw.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


def test_depthwise_padding_modes_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 7, 8)).astype(np.float32)
    for mode in ("reflect", "replicate", "circular"):
        mods = []
        for lib in (ember, torch):
            lib.manual_seed(0)
            mods.append(lib.nn.Conv2d(6, 12, 3, padding=1, groups=6, padding_mode=mode))
        mods[0].weight.data = ember.tensor(mods[1].weight.detach().numpy())
        mods[0].bias.data = ember.tensor(mods[1].bias.detach().numpy())
        ys = [m(lib.tensor(x)) for m, lib in zip(mods, (ember, torch))]
        np.testing.assert_allclose(ys[0].detach().numpy(), ys[1].detach().numpy(), 1e-5, 1e-5)


@pytest.mark.parametrize(
    "xs, index",
    [
        ((0, 4, 5, 5), (slice(None),)),  # empty batch
        ((2, 4, 9, 9), (slice(None), slice(None), slice(None, None, 2))),  # strided view
        ((3, 4, 1, 1), (slice(None),)),  # both layouts at once
    ],
)
def test_depthwise_odd_inputs_match_torch(xs, index):
    x = np.random.default_rng(0).standard_normal(xs)
    w = np.random.default_rng(1).standard_normal((4, 1, 3, 3))
    res = []
    for lib, conv in ((ember, F.conv2d), (torch, TF.conv2d)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = conv(xt[index], wt, padding=1, groups=4)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for e, t in zip(*res):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "needs", [(True, False, False), (False, True, False), (False, False, True)]
)
def test_depthwise_some_gradients_match_torch(needs):
    rng = np.random.default_rng(0)
    arrays = (
        rng.standard_normal((3, 6, 7, 8)),
        rng.standard_normal((6, 1, 3, 3)),
        rng.standard_normal(6),
    )
    res = []
    for lib, conv in ((ember, F.conv2d), (torch, TF.conv2d)):
        ts = [lib.tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
        y = conv(*ts, padding=1, stride=(1, 2), groups=6)
        (y * y).sum().backward()
        res.append([y.detach().numpy()] + [t.grad.numpy() for t, r in zip(ts, needs) if r])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


def test_depthwise_without_grad_matches_torch():
    x = np.random.default_rng(0).standard_normal((3, 6, 7, 8)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((6, 1, 5, 3)).astype(np.float32)
    with ember.no_grad():
        e = F.conv2d(ember.tensor(x), ember.tensor(w), padding=(2, 1), groups=6)
    t = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=(2, 1), groups=6)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=2e-5, atol=2e-5)


def test_depthwise_one_pixel_output_of_channels_last_input_has_torchs_strides():
    x = np.random.default_rng(0).standard_normal((2, 5, 4, 3))
    w = np.random.default_rng(1).standard_normal((5, 1, 4, 2))
    ys = []
    for lib, conv in ((ember, F.conv2d), (torch, TF.conv2d)):
        xt = lib.tensor(x).contiguous(memory_format=lib.channels_last)
        ys.append(conv(xt, lib.tensor(w), stride=3, padding=(1, 0), groups=5))
    assert tuple(ys[0].shape) == tuple(ys[1].shape) == (2, 5, 1, 1)
    assert ys[0].stride() == ys[1].stride()
    np.testing.assert_allclose(ys[0].numpy(), ys[1].numpy(), rtol=1e-10, atol=1e-10)
