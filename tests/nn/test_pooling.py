"""Pooling: F.max/avg/adaptive/lp pooling and max-unpooling, and their layers, against torch
(values, indices, input gradients), gradcheck of the primitives, reprs and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as enn
import ember.nn.functional as F
from ember.ops.pool import AdaptiveAvgPoolNd, AdaptiveMaxPoolNd, AvgPoolNd, MaxPoolNd
from tests.parity import assert_close, check_layer, check_op, layer_case


def distinct(shape: tuple, seed: int = 0, dtype=np.float32) -> np.ndarray:
    """Values in [-2, 2) that are all different and well apart (no near-ties for max-pool)."""
    n = int(np.prod(shape))
    g = np.random.default_rng(seed)
    return (g.permutation(n) / n * 4 - 2).astype(dtype).reshape(shape)


MAX2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), dilation=(2, 2), padding=(1, 1))),
    ((2, 3, 8, 8), dict(kernel_size=3, stride=1)),  # overlapping windows
    ((3, 9, 7), dict(kernel_size=2, ceil_mode=True)),  # unbatched
]


@pytest.mark.parametrize("shape,kw", MAX2D, ids=[str(k) for _, k in MAX2D])
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool2d(shape, kw, indices):
    check_op(
        lambda x: F.max_pool2d(x, return_indices=indices, **kw),
        lambda x: TF.max_pool2d(x, return_indices=indices, **kw),
        distinct(shape),
    )


def test_max_pool2d_channels_last_input():
    # A conv output is an NCHW view of NHWC memory: pooling must accept and keep that layout.
    x = distinct((2, 8, 6, 6)).transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    ex = ember.from_numpy(x).requires_grad_()
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ey, ty = F.max_pool2d(ex, 2), TF.max_pool2d(tx, 2)
    assert_close(ey, ty)
    assert ey._data.strides[1] < ey._data.strides[-1]  # still channels-last
    g = distinct(tuple(ty.shape), seed=4)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(ex.grad, tx.grad)


def test_max_pool_gradient_goes_to_first_maximum():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]]]], np.float32)
    check_op(lambda x: F.max_pool2d(x, 2, return_indices=True),
             lambda x: TF.max_pool2d(x, 2, return_indices=True), x)  # fmt: skip
    check_op(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), x)


def test_max_pool1d_3d():
    check_op(
        lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
        lambda x: TF.max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
        distinct((2, 3, 10)),
    )
    check_op(lambda x: F.max_pool1d(x, 2), lambda x: TF.max_pool1d(x, 2), distinct((3, 9)))
    check_op(
        lambda x: F.max_pool3d(x, 2, return_indices=True),
        lambda x: TF.max_pool3d(x, 2, return_indices=True),
        distinct((2, 3, 4, 5, 6)),
    )


AVG2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True)),
    ((3, 9, 7), dict(kernel_size=2, ceil_mode=True)),
]


@pytest.mark.parametrize("shape,kw", AVG2D, ids=[str(k) for _, k in AVG2D])
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool2d(shape, kw, cip):
    check_op(
        lambda x: F.avg_pool2d(x, count_include_pad=cip, **kw),
        lambda x: TF.avg_pool2d(x, count_include_pad=cip, **kw),
        distinct(shape),
    )


def test_avg_pool_divisor_override_1d_3d():
    check_op(
        lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=5),
        lambda x: TF.avg_pool2d(x, 3, 2, 1, divisor_override=5),
        distinct((2, 3, 9, 9)),
    )
    check_op(
        lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: TF.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        distinct((2, 3, 10)),
    )
    check_op(
        lambda x: F.avg_pool3d(x, 2, padding=1),
        lambda x: TF.avg_pool3d(x, 2, padding=1),
        distinct((2, 2, 4, 5, 3)),
    )


@pytest.mark.parametrize("out", [1, 3, (4, None), (5, 2), 7, (9, 7)])
def test_adaptive_pool2d(out):
    x = distinct((2, 3, 9, 7))
    check_op(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), x)
    check_op(
        lambda x: F.adaptive_max_pool2d(x, out, True),
        lambda x: TF.adaptive_max_pool2d(x, out, True),
        x,
    )


def test_adaptive_pool_1d_3d_unbatched():
    check_op(
        lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4),
        distinct((2, 3, 9)),
    )  # fmt: skip
    check_op(
        lambda x: F.adaptive_max_pool1d(x, 4, True),
        lambda x: TF.adaptive_max_pool1d(x, 4, True),
        distinct((3, 9)),
    )
    check_op(
        lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda x: TF.adaptive_avg_pool2d(x, (2, 3)),
        distinct((3, 5, 7)),
    )  # fmt: skip
    check_op(
        lambda x: F.adaptive_avg_pool3d(x, (2, 3, 1)),
        lambda x: TF.adaptive_avg_pool3d(x, (2, 3, 1)),
        distinct((2, 2, 5, 6, 4)),
    )
    check_op(
        lambda x: F.adaptive_max_pool3d(x, 2, True),
        lambda x: TF.adaptive_max_pool3d(x, 2, True),
        distinct((2, 2, 5, 6, 4)),
    )


def test_lp_pool():
    check_op(
        lambda x: F.lp_pool2d(x, 2, 3, 2), lambda x: TF.lp_pool2d(x, 2, 3, 2),
        distinct((2, 3, 9, 9)) + 3, rtol=1e-4,
    )  # fmt: skip
    check_op(
        lambda x: F.lp_pool1d(x, 3, 2), lambda x: TF.lp_pool1d(x, 3, 2),
        distinct((2, 3, 8)) + 3, rtol=1e-4,
    )  # fmt: skip


def test_max_unpool():
    def run(lib_f):
        def f(x):
            out, idx = lib_f.max_pool2d(x, 2, return_indices=True)
            return lib_f.max_unpool2d(out, idx, 2, output_size=(9, 9))

        return f

    check_op(run(F), run(TF), distinct((2, 3, 9, 9)))

    def run1(lib_f):
        def f(x):
            out, idx = lib_f.max_pool1d(x, 3, 2, return_indices=True)
            return lib_f.max_unpool1d(out, idx, 3, 2)

        return f

    check_op(run1(F), run1(TF), distinct((2, 3, 9)))


# ---- gradcheck -------------------------------------------------------------------------------


def _gradcheck(fn, x):
    t = ember.tensor(x.astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (t,))


def test_gradcheck_primitives():
    x = distinct((2, 2, 5, 4), dtype=np.float64)
    pads = ((1, 1), (0, 1))
    _gradcheck(lambda t: MaxPoolNd.apply(t, (2, 2), (2, 1), pads, (1, 1), (3, 4), False), x)
    _gradcheck(lambda t: MaxPoolNd.apply(t, (3, 2), (1, 1), pads, (1, 2), (5, 3), False), x)
    div = np.full((3, 4), 4.0)
    _gradcheck(lambda t: AvgPoolNd.apply(t, (2, 2), (2, 1), pads, (3, 4), div), x)
    _gradcheck(lambda t: AdaptiveAvgPoolNd.apply(t, (3, 3)), x)
    _gradcheck(lambda t: AdaptiveAvgPoolNd.apply(t, (1, 1)), x)
    _gradcheck(lambda t: AdaptiveMaxPoolNd.apply(t, (3, 3))[0], x)


# ---- layers ----------------------------------------------------------------------------------


def _pool(name, args, kwargs=None, shape=(), shift=0):
    # Distinct values: no near-ties for max-pool; LP pooling on positive inputs (shift 3).
    tol = dict(rtol=1e-4 if shift else 1e-5, atol=1e-6)
    return layer_case(name, args, kwargs, input=lambda seed: distinct(shape) + shift, **tol)


LAYERS = [
    _pool("MaxPool2d", (2,), shape=(2, 3, 8, 8)),
    _pool("MaxPool2d", (3, 2, 1), dict(ceil_mode=True), shape=(2, 3, 9, 9)),
    _pool("MaxPool2d", ((2, 3),), dict(dilation=2, return_indices=True), shape=(3, 9, 9)),
    _pool("MaxPool1d", (3,), dict(stride=2), shape=(2, 3, 9)),
    _pool("MaxPool3d", (2,), shape=(1, 2, 4, 4, 4)),
    _pool("AvgPool1d", (3,), shape=(2, 3, 9)),
    _pool("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9, 9)),
    _pool(
        "AvgPool2d", ((2, 3),), dict(padding=1, ceil_mode=True, divisor_override=4), (2, 3, 9, 9)
    ),
    _pool("AvgPool3d", (2,), shape=(1, 2, 4, 4, 4)),
    _pool("AdaptiveAvgPool1d", (3,), shape=(2, 3, 9)),
    _pool("AdaptiveAvgPool2d", ((5, None),), shape=(2, 3, 8, 9)),
    _pool("AdaptiveAvgPool3d", (2,), shape=(1, 2, 4, 5, 3)),
    _pool("AdaptiveMaxPool1d", (4,), shape=(2, 3, 9)),
    _pool("AdaptiveMaxPool2d", (2,), dict(return_indices=True), shape=(2, 3, 8, 9)),
    _pool("AdaptiveMaxPool3d", ((2, 1, 2),), shape=(1, 2, 4, 5, 3)),
    _pool("LPPool2d", (2, 3), shape=(2, 3, 9, 9), shift=3),
    _pool("LPPool1d", (1.5, 2), shape=(2, 3, 8), shift=3),
]


@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_layer_parity(case):
    check_layer(case)


def test_max_unpool_layer():
    pool, unpool = enn.MaxPool2d(2, return_indices=True), enn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tnn.MaxUnpool2d(2))
    x = ember.tensor(distinct((1, 1, 4, 4)))
    out, idx = pool(x)
    y = unpool(out, idx)
    tout, tidx = tnn.MaxPool2d(2, return_indices=True)(torch.tensor(x.numpy()))
    assert_close(idx, tidx)
    assert_close(y, tnn.MaxUnpool2d(2)(tout, tidx))


def test_in_sequential_with_conv():
    em = enn.Sequential(enn.Conv2d(2, 4, 3), enn.ReLU(), enn.MaxPool2d(2), enn.AvgPool2d(2))
    y = em(ember.randn(3, 2, 10, 10))
    assert tuple(y.shape) == (3, 4, 2, 2)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda: F.max_pool2d(ember.randn(1, 1, 8, 8), 2, padding=2),
            RuntimeError,
            "pad should be at most half of effective kernel size",
        ),
        (
            lambda: F.avg_pool2d(ember.randn(1, 1, 8, 8), 2, padding=2),
            RuntimeError,
            "pad should be at most half",
        ),
        (
            lambda: F.max_pool2d(ember.randn(1, 1, 1, 1), 2),
            RuntimeError,
            r"Given input size: \(1x1x1\). Calculated output size: \(1x0x0\). Output size is too",
        ),
        (
            lambda: F.max_pool2d(ember.randn(1, 1), 2),
            RuntimeError,
            "3D or 4D \\(batch mode\\) tensor expected for input",
        ),
        (
            lambda: F.max_pool2d(ember.randn(1, 1, 4, 4), (2, 2, 2)),
            RuntimeError,
            "kernel_size must either be a single int, or a tuple of two ints",
        ),
        (
            lambda: F.max_pool2d(ember.randn(1, 1, 4, 4), 2, stride=0),
            RuntimeError,
            "stride must be greater than zero",
        ),
        (
            lambda: F.adaptive_avg_pool2d(ember.randn(1, 1), 2),
            RuntimeError,
            "Expected 3D or 4D tensor",
        ),
        (
            lambda: F.adaptive_avg_pool2d(ember.randn(1, 1, 4, 4), (2, 2, 2)),
            RuntimeError,
            "output_size must be 2",
        ),
        (
            lambda: F.max_unpool2d(ember.randn(1, 1, 2, 2), ember.zeros(1, 1, 2, 3).long(), 2),
            RuntimeError,
            "Expected shape of indices to be same",
        ),
        (
            lambda: F.max_unpool2d(ember.randn(1, 1, 2, 2), ember.full((1, 1, 2, 2), 99).long(), 2),
            RuntimeError,
            "Found an invalid max index",
        ),
        (
            lambda: F.max_pool2d(ember.ones(1, 1, 4, 4, dtype=ember.int64), 2),
            RuntimeError,
            "not implemented for",
        ),
    ],
)
def test_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_max_pool_nan_windows_match_torch():
    x = distinct((1, 2, 4, 6))
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 0, 0] = x[0, 1, 1, 1] = np.nan  # two NaNs in one window
    for ri in (False, True):
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = F.max_pool2d(ex, 2, return_indices=ri), TF.max_pool2d(tx, 2, return_indices=ri)
        if ri:
            assert_close(ey[1], ty[1])
            ey, ty = ey[0], ty[0]
        np.testing.assert_array_equal(np.isnan(ey.detach().numpy()), np.isnan(ty.detach().numpy()))
        g = distinct(tuple(ty.shape), seed=5)
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(ex.grad, tx.grad)


def test_max_pool_output_changed_in_place_keeps_gradient():
    x = distinct((2, 3, 6, 6))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey = F.relu(F.max_pool2d(ex * 1, 2), inplace=True)
    ty = TF.relu(TF.max_pool2d(tx * 1, 2), inplace=True)
    ey.sum().backward()
    ty.sum().backward()
    assert_close(ex.grad, tx.grad)
