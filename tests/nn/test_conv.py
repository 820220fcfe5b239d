"""Convolutions: F.conv*/conv_transpose* and the Conv, ConvTranspose, Fold, Unfold layers vs
torch (forward, input/weight/bias gradients), gradcheck of the primitives, reprs, init, errors."""

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
from ember.ops.conv import ConvNd, ConvTransposeNd, Fold, Unfold
from tests.parity import assert_close, check_layer, check_op, copy_weights, layer_case, rand_array

TOL = dict(rtol=1e-4, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-4)


def _w(shape: tuple, seed: int = 1) -> np.ndarray:
    """Weights scaled by 1/sqrt(fan_in) so that outputs stay O(1) (float32 parity)."""
    fan_in = int(np.prod(shape[1:]))
    return rand_array(shape, seed=seed) / np.float32(math.sqrt(fan_in))


# (input shape, weight shape, kwargs)
CONV2D = [
    ((2, 3, 9, 9), (4, 3, 3, 3), {}),
    ((2, 3, 9, 9), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 10, 7), (5, 3, 2, 3), dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2))),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(groups=2, dilation=(2, 1), padding=(1, 0))),
    ((2, 32, 9, 8), (32, 1, 3, 3), dict(groups=32, padding="same")),  # depthwise
    ((2, 20, 9, 8), (24, 20, 4, 3), dict(padding="same", dilation=2)),  # even kernel 'same'
    ((2, 20, 9, 8), (24, 20, 3, 3), dict(padding="valid", stride=3)),
    ((3, 9, 8), (6, 3, 2, 3), dict(stride=(2, 3))),  # unbatched
    ((2, 1, 28, 28), (6, 1, 5, 5), {}),  # LeNet's first layer
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D, ids=[str(c[2]) for c in CONV2D])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_parity(xs, ws, kw, bias):
    b = rand_array((ws[0],), seed=2) if bias else None
    if bias:
        check_op(
            lambda x, w, b: F.conv2d(x, w, b, **kw),
            lambda x, w, b: TF.conv2d(x, w, b, **kw),
            rand_array(xs),
            _w(ws),
            b,
            **TOL,
        )
    else:
        check_op(
            lambda x, w: F.conv2d(x, w, **kw),
            lambda x, w: TF.conv2d(x, w, **kw),
            rand_array(xs),
            _w(ws),
            **TOL,
        )


CONV1D = [
    ((2, 3, 11), (5, 3, 3), dict(stride=2, padding=2)),
    ((2, 4, 11), (6, 2, 4), dict(groups=2, dilation=2, padding="same")),
    ((3, 11), (5, 3, 3), {}),
]


@pytest.mark.parametrize("xs,ws,kw", CONV1D)
def test_conv1d_parity(xs, ws, kw):
    check_op(
        lambda x, w, b: F.conv1d(x, w, b, **kw),
        lambda x, w, b: TF.conv1d(x, w, b, **kw),
        rand_array(xs),
        _w(ws),
        rand_array((ws[0],), seed=2),
        **TOL,
    )


def test_conv3d_parity():
    check_op(
        lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1),
        lambda x, w, b: TF.conv3d(x, w, b, stride=2, padding=1),
        rand_array((2, 3, 5, 6, 7)),
        _w((5, 3, 3, 2, 3)),
        rand_array((5,), seed=2),
        **TOL,
    )


# (input shape, weight shape (C_in, C_out/groups, *k), kwargs)
CONVT2D = [
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 1), groups=2, dilation=2, padding=(2, 1))),
    ((20, 5, 6), (20, 3, 3, 2), dict(stride=2)),  # unbatched, many channels (NHWC col2im)
    ((2, 32, 4, 4), (32, 16, 2, 2), dict(stride=2)),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT2D, ids=[str(c[2]) for c in CONVT2D])
def test_conv_transpose2d_parity(xs, ws, kw):
    oc = ws[1] * kw.get("groups", 1)
    check_op(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
        rand_array(xs),
        _w(ws),
        rand_array((oc,), seed=2),
        **TOL,
    )


def test_conv_transpose1d_parity():
    kw = dict(stride=3, padding=1, output_padding=2, dilation=1)
    check_op(
        lambda x, w: F.conv_transpose1d(x, w, None, **kw),
        lambda x, w: TF.conv_transpose1d(x, w, None, **kw),
        rand_array((2, 4, 7)),
        _w((4, 5, 3)),
        **TOL,
    )


def _gradcheck(fn, *arrays):
    ts = [ember.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    assert ember.autograd.gradcheck(fn, ts)


@pytest.mark.parametrize("groups,many", [(1, False), (2, False), (1, True)])
def test_gradcheck_convnd(groups, many):
    c = 16 if many else 4  # 16 channels takes the channels-last col2im branch
    k = (2, 3)

    def fn(x, w, b):
        return ConvNd.apply(x, w, b, (2, 1), ((1, 0), (1, 1)), (1, 2), groups)

    _gradcheck(fn, rand_array((2, c, 4, 5)), _w((4, c // groups, *k)), rand_array((4,)))


def test_gradcheck_conv_transpose_nd():
    def fn(x, w, b):
        return ConvTransposeNd.apply(x, w, b, (2, 1), (1, 0), (1, 0), (1, 2), 2)

    _gradcheck(fn, rand_array((2, 4, 3, 3)), _w((4, 2, 2, 2)), rand_array((4,)))


def test_gradcheck_unfold_fold():
    args = ((2, 2), (2, 1), (1, 0), (1, 1))

    def unf(x):
        return Unfold.apply(x, *args, (3, 2))

    def fold(c):
        return Fold.apply(c, 2, (4, 3), *args, (3, 2))

    _gradcheck(unf, rand_array((2, 2, 4, 3)))
    _gradcheck(fold, rand_array((2, 8, 6)))


def test_conv_output_is_channels_last_view_and_reused_buffers_stay_correct():
    # The conv output is an NCHW view of NHWC memory; two outputs alive at once must not share
    # a pooled buffer.
    x = ember.randn(8, 16, 32, 32)
    w = ember.randn(32, 16, 3, 3) * 0.1
    y1 = F.conv2d(x, w, padding=1)
    y2 = F.conv2d(x * 2, w, padding=1)
    assert not np.shares_memory(y1._data, y2._data)
    assert_close(y2, y1 * 2, rtol=1e-5, atol=1e-4)
    ref = TF.conv2d(torch.from_numpy(x.numpy()), torch.from_numpy(w.numpy()), padding=1)
    assert_close(y1, ref, rtol=1e-4, atol=1e-4)


# ---- layers ----------------------------------------------------------------------------------


def _conv(name, args, kwargs=None, input=None):
    return layer_case(name, args, kwargs, input=input, rtol=1e-4, grad_rtol=1e-4, grad_atol=1e-4)


LAYERS = [
    _conv("Conv2d", (1, 6, (5, 5)), input=(4, 1, 12, 12)),
    _conv("Conv2d", (3, 8, 3), dict(stride=2, padding=1, bias=False), (2, 3, 9, 9)),
    _conv("Conv2d", (4, 8, 3), dict(padding="same", dilation=2, groups=2), (2, 4, 9, 9)),
    _conv("Conv2d", (4, 6, 3), dict(padding=2, padding_mode="reflect"), (2, 4, 7, 8)),
    _conv("Conv2d", (4, 6, (3, 2)), dict(padding=(1, 2), padding_mode="replicate"), (2, 4, 7, 8)),
    _conv("Conv2d", (4, 6, 3), dict(padding=1, padding_mode="circular"), (4, 7, 8)),
    _conv("Conv2d", (4, 6, 4), dict(padding="same", padding_mode="circular"), (2, 4, 7, 8)),
    _conv("Conv1d", (4, 6, 3), dict(stride=2, padding=1, padding_mode="reflect"), (2, 4, 9)),
    _conv("Conv1d", (3, 6, 3), dict(groups=3), (3, 9)),
    _conv("Conv3d", (2, 4, 3), dict(padding=1), (2, 2, 4, 5, 5)),
    _conv("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    _conv("ConvTranspose2d", (4, 6, 2), dict(stride=2, groups=2, bias=False), (4, 3, 3)),
    _conv("ConvTranspose1d", (4, 6, 3), dict(stride=2, dilation=2), (2, 4, 6)),
]


@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_layer_parity(case):
    # Forward, input/weight/bias gradients and repr against torch's layer with the same weights.
    check_layer(case)


def test_conv_transpose_output_size():
    em = enn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    tm = tnn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    copy_weights(em, tm)
    x = rand_array((1, 4, 5, 5))
    for size in ([9, 10], [1, 3, 10, 9]):
        ey = em(ember.tensor(x), output_size=size)
        ty = tm(torch.tensor(x), output_size=size)
        assert_close(ey, ty, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="requested an output size of"):
        em(ember.tensor(x), output_size=[12, 12])


def test_reset_parameters_bounds():
    for m in (enn.Conv2d(3, 8, (5, 4), groups=1), enn.ConvTranspose2d(6, 4, 3, groups=2)):
        fan_in = m.weight.shape[1] * int(np.prod(m.weight.shape[2:]))
        bound = 1 / math.sqrt(fan_in)
        w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
        assert np.abs(b).max() <= bound
        assert m.weight.requires_grad and m.bias.requires_grad
    assert enn.Conv2d(2, 4, 3, bias=False).bias is None
    assert dict(enn.Conv2d(2, 4, 3).named_parameters()).keys() == {"weight", "bias"}


def test_layer_attributes_match_torch():
    cases = (
        layer_case("Conv2d", (4, 8, 3), dict(padding="same")),
        layer_case("ConvTranspose2d", (4, 8, (2, 3)), dict(stride=2)),
    )
    for case in cases:
        em, tm = case.build(ember), case.build(torch)
        for a in ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
                  "transposed", "padding_mode", "in_channels", "out_channels"):  # fmt: skip
            assert getattr(em, a) == getattr(tm, a), a
        assert tuple(em.weight.shape) == tuple(tm.weight.shape)


def test_fold_unfold_layers():
    x = rand_array((2, 3, 6, 7))
    for kw in (dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2))):
        eu, tu = enn.Unfold(**kw), tnn.Unfold(**kw)
        assert repr(eu) == repr(tu)
        check_op(eu, tu, x)
        cols = tu(torch.tensor(x)).detach().numpy()
        ef, tf = enn.Fold((6, 7), **kw), tnn.Fold((6, 7), **kw)
        assert repr(ef) == repr(tf)
        check_op(ef, tf, cols)
    check_op(lambda c: F.fold(c, (4, 4), 2), lambda c: TF.fold(c, (4, 4), 2), rand_array((8, 9)))


# ---- errors ----------------------------------------------------------------------------------


def test_layer_channel_error_names_layer():
    m = enn.Conv2d(1, 6, (5, 5))
    with pytest.raises(RuntimeError) as e:
        m(ember.randn(8, 3, 28, 28))
    msg = str(e.value)
    assert msg == (
        "Given groups=1, weight of size [6, 1, 5, 5], expected input[8, 3, 28, 28] to have 1 "
        "channels, but got 3 channels instead (in Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1)))"
    )
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater.*Conv2d\(1, 6"):
        m(ember.randn(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D"):
        m(ember.randn(28, 28))


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda: F.conv2d(ember.randn(3, 28), ember.randn(6, 1, 5, 5)),
            RuntimeError,
            r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 2, 8, 8), ember.randn(3, 1, 3, 3), groups=2),
            RuntimeError,
            "expected weight to be divisible by 2",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), ember.randn(2)),
            RuntimeError,
            "expected bias to be 1-dimensional with 3 elements",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8).double(), ember.randn(3, 1, 3, 3)),
            RuntimeError,
            "expected scalar type Double but found Float",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), stride=0),
            RuntimeError,
            "non-positive stride",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), padding=-1),
            RuntimeError,
            "negative padding",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), dilation=0),
            RuntimeError,
            "dilation should be greater than zero",
        ),
        (
            lambda: F.conv2d(
                ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), padding="same", stride=2
            ),
            RuntimeError,
            "not supported for strided convolutions",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), padding="foo"),
            RuntimeError,
            "Invalid padding string",
        ),
        (
            lambda: F.conv2d(ember.randn(1, 1, 8, 8), ember.randn(3, 1, 3, 3), stride=(1, 1, 1)),
            RuntimeError,
            "expected stride to be a single integer value or a list of 2 values",
        ),
        (
            lambda: F.conv_transpose2d(ember.randn(1, 2, 4, 4), ember.randn(3, 1, 3, 3)),
            RuntimeError,
            "Given transposed=1, weight of size",
        ),
        (
            lambda: F.conv_transpose2d(
                ember.randn(1, 2, 4, 4), ember.randn(2, 1, 3, 3), output_padding=1
            ),
            RuntimeError,
            "output padding must be smaller than either stride or dilation",
        ),
        (lambda: enn.Conv2d(1, 6, 5, groups=4), ValueError, "in_channels must be divisible"),
        (lambda: enn.Conv2d(4, 6, 5, groups=4), ValueError, "out_channels must be divisible"),
        (lambda: enn.Conv2d(4, 8, 5, padding_mode="foo"), ValueError, "padding_mode must be"),
        (
            lambda: enn.Conv2d(4, 8, 5, padding="same", stride=2),
            ValueError,
            "not supported for strided",
        ),
        (
            lambda: enn.ConvTranspose2d(4, 8, 5, padding_mode="reflect"),
            ValueError,
            'Only "zeros" padding mode',
        ),
        (lambda: F.unfold(ember.randn(2, 3, 4, 4, 4), 2), RuntimeError, "Expected 3D or 4D"),
        (
            lambda: F.fold(ember.randn(2, 13, 9), (4, 4), 2),
            RuntimeError,
            "divisible by the product of kernel_size",
        ),
        (
            lambda: F.fold(ember.randn(2, 12, 10), (4, 4), 2),
            RuntimeError,
            "match the calculated number of sliding blocks 3 \\* 3 = 9",
        ),
        (lambda: F.unfold(ember.randn(2, 3, 5, 6), 7), RuntimeError, "must be at least one"),
    ],
)
def test_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_errors_match_torch_types():
    # The same bad calls raise the same exception types in torch.
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.randn(1, 1, 8, 8), torch.randn(3, 1, 3, 3), padding="same", stride=2)
    with pytest.raises(ValueError):
        tnn.Conv2d(1, 6, 5, groups=4)


def test_conv_in_threads_matches_serial():
    import threading

    x = [ember.randn(4, 16, 24, 24) for _ in range(4)]
    w = ember.randn(32, 16, 3, 3) * 0.1
    serial = [F.conv2d(xi, w, padding=1).numpy().copy() for xi in x]
    results = [None] * 4

    def run(i):
        for _ in range(3):
            results[i] = F.conv2d(x[i], w, padding=1).numpy().copy()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s, r in zip(serial, results):
        np.testing.assert_array_equal(s, r)


def test_empty_batch_matches_torch_shapes():
    ex = ember.randn(0, 3, 8, 8, requires_grad=True)
    tx = torch.randn(0, 3, 8, 8, requires_grad=True)
    cases = (
        layer_case("Conv2d", (3, 4, 3)),
        layer_case("Conv2d", (3, 32, 3), dict(groups=1)),
        layer_case("ConvTranspose2d", (3, 2, 3)),
    )
    for case in cases:
        em, tm = case.build(ember), case.build(torch)
        ey, ty = F.max_pool2d(em(ex), 2), TF.max_pool2d(tm(tx), 2)
        assert tuple(ey.shape) == tuple(ty.shape)
        ey.sum().backward()
        assert tuple(ex.grad.shape) == (0, 3, 8, 8) and not em.weight.grad.numpy().any()
    y = (
        F.adaptive_max_pool2d(ex, 3)
        + F.adaptive_avg_pool2d(ex, 3)
        + F.avg_pool2d(ex, 2, 1, 1)[..., :3, :3]
    )
    y.sum().backward()
    assert tuple(y.shape) == (0, 3, 3, 3)
