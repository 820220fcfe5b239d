"""The convolution's execution paths vs torch: channels-last columns built a tile of images at a
time, K-major columns, and both run over the batch in per-core shares (values and every
gradient). Small shapes are pushed onto the tiled and split paths by lowering the thresholds;
one realistic shape reaches them by the shipped rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember import _runtime
from ember.ops import _parallel
from ember.ops import conv as conv_ops
from ember.ops._conv_geometry import ConvGeometry

# (input shape, weight shape, kwargs): channels-last layout (>= 16 channels per group)
TILED = [
    ((5, 16, 9, 11), (8, 16, 3, 3), dict(padding=1)),
    ((4, 32, 11, 9), (12, 16, 3, 2), dict(stride=2, dilation=(2, 1), padding=(1, 2), groups=2)),
    ((3, 48, 7, 13), (6, 16, 3, 5), dict(stride=(1, 2), groups=3)),
    ((5, 16, 8, 9), (4, 16, 4, 3), dict(padding="same", dilation=2)),
    ((3, 20, 17), (7, 20, 4), dict(stride=3, padding=2)),
    ((2, 16, 5, 6, 4), (3, 16, 2, 3, 2), dict(padding=1, stride=(2, 1, 1))),
]
# K-major layout (few channels per group)
KMAJOR = [
    ((6, 1, 13, 12), (5, 1, 5, 5), {}),
    ((5, 6, 12, 12), (16, 6, 5, 5), dict(padding=1)),
    ((7, 6, 10, 9), (6, 2, 3, 2), dict(stride=2, dilation=(1, 2), groups=3)),
    ((4, 3, 9), (4, 3, 3), dict(padding="same")),
    ((3, 4, 11, 13), (6, 2, 3, 2), dict(dilation=(2, 3), padding=(1, 2), groups=2)),
    ((2, 2, 5, 6, 7), (3, 2, 2, 3, 2), dict(padding=1)),
]
CONV = {3: TF.conv1d, 4: TF.conv2d, 5: TF.conv3d}
ECONV = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


@pytest.fixture
def shares(monkeypatch):
    """Every convolution split into two per-core shares and one image per tile; yields the
    number of images each split ran over (to check that the split happened)."""
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    monkeypatch.setattr(conv_ops, "TILE_ROWS", 1)
    monkeypatch.setattr(conv_ops, "KM_TILE_BYTES", 1)
    splits: list = []
    plain = _parallel.parallel_for

    def spy(fn, n, work, *site, **kw):
        splits.append(n)
        plain(fn, n, work, *site, **kw)

    monkeypatch.setattr(_parallel, "parallel_for", spy)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        yield splits
    finally:
        ember.set_num_threads(before)


def _compare(xshape, wshape, kw, needs=(True, True, True), channels_last=False) -> None:
    """Forward and the input, weight and bias gradients (those in ``needs``) against torch;
    ember's input is channels-last in memory if ``channels_last``."""
    rng = np.random.default_rng(len(xshape) + wshape[0])
    x = rng.standard_normal(xshape)
    if channels_last:
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    w = rng.standard_normal(wshape) / np.sqrt(np.prod(wshape[1:]))
    b = rng.standard_normal(wshape[0])
    results = []
    for lib, conv in ((ember, ECONV[len(wshape)]), (torch, CONV[len(wshape)])):
        xt, wt, bt = (lib.tensor(a, requires_grad=r) for a, r in zip((x, w, b), needs))
        y = conv(xt, wt, bt, **kw)
        gy = np.random.default_rng(7).standard_normal(tuple(y.shape))
        (y * lib.tensor(gy)).sum().backward()
        grads = [t.grad.numpy() for t, r in zip((xt, wt, bt), needs) if r]
        results.append([y.detach().numpy(), *grads])
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xshape, wshape, kw", TILED + KMAJOR)
def test_split_and_tiled_paths_match_torch(shares, xshape, wshape, kw):
    _compare(xshape, wshape, kw)
    if _runtime.blas_control() is not None:  # (without BLAS control GEMMs are never split)
        assert xshape[0] in shares


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, True), (True, True, False)])
@pytest.mark.parametrize("xshape, wshape, kw", [TILED[1], KMAJOR[2]])
def test_split_paths_with_some_gradients(shares, xshape, wshape, kw, needs):
    _compare(xshape, wshape, kw, needs)


def test_shipped_rule_tiles_a_wide_layer():
    """A 32-channel 32x32 layer: the shipped rule builds one image's columns at a time."""
    xshape, wshape = (3, 32, 32, 32), (8, 32, 3, 3)
    geo = ConvGeometry.of_conv((32, 32), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, 32)
    assert geo.channels_last and conv_ops._tile(geo, 32, 8) == 1
    _compare(xshape, wshape, dict(padding=1))


def test_tiled_path_saves_the_padded_input_not_the_columns():
    x = ember.randn(2, 16, 6, 6, requires_grad=True)
    w = ember.randn(4, 16, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    saved = y.grad_fn._saved  # (x, w, padded channels-last input, weight matrix)
    assert saved[2].shape == (2, 8, 8, 16)


def test_float32_tiled_and_split_paths_match_torch(shares):
    x = np.random.default_rng(0).standard_normal((4, 32, 10, 10)).astype(np.float32)
    w = (np.random.default_rng(1).standard_normal((16, 32, 3, 3)) / 17).astype(np.float32)
    ey = F.conv2d(ember.tensor(x), ember.tensor(w), padding=1, stride=2)
    ty = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1, stride=2)
    np.testing.assert_allclose(ey.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)


# Few channels per group on a channels-last input whose kernel rows of channels are long runs
# (kW * Cg >= conv.CL_RUN_MIN): channels-last columns, saved whole.
FEW_CL = [
    ((5, 6, 12, 12), (16, 6, 5, 5), dict(padding=1)),
    ((4, 8, 9, 10), (6, 4, 3, 5), dict(groups=2, stride=(2, 1), dilation=(1, 2), padding=(2, 1))),
    ((4, 6, 20), (5, 6, 3), dict(padding=1)),
    ((2, 4, 5, 6, 7), (3, 4, 2, 2, 4), dict(padding=1, stride=(1, 2, 1))),
]


@pytest.mark.parametrize("xshape, wshape, kw", FEW_CL)
def test_few_channel_channels_last_columns_match_torch(shares, xshape, wshape, kw):
    x = ember.randn(*xshape).permute(0, *range(2, len(xshape)), 1).contiguous()
    y = ECONV[len(wshape)](x.movedim(-1, 1), ember.randn(*wshape, requires_grad=True), **kw)
    assert y.grad_fn.cl_cols  # (the node is the op's ctx)
    _compare(xshape, wshape, kw, channels_last=True)
    _compare(xshape, wshape, kw, needs=(False, True, False), channels_last=True)


@pytest.mark.parametrize("xshape, wshape, kw", KMAJOR)
def test_few_channel_layouts_chosen_by_the_input(xshape, wshape, kw):
    """Channels-last input: channels-last columns where a kernel row of channels is long;
    NCHW input: K-major columns. Both match torch (unsplit, whole tiles)."""
    _compare(xshape, wshape, kw, channels_last=True)
    x = np.zeros(xshape)
    one, sd = (1,) * (len(xshape) - 2), len(xshape) - 2
    groups = xshape[1] // wshape[1]
    geo = ConvGeometry.of_conv(xshape[2:], wshape[2:], one, ((0, 0),) * sd, one, groups, xshape[1])
    cl = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    expect = wshape[1] > 1 and wshape[1] * wshape[-1] >= conv_ops.CL_RUN_MIN
    assert conv_ops._few_cl(cl, geo) == expect
    assert not conv_ops._few_cl(x, geo)


@pytest.mark.parametrize("batched", [1, 10**9])
@pytest.mark.parametrize("xshape, wshape, kw", KMAJOR + FEW_CL)
def test_few_channel_input_gradient_both_ways(monkeypatch, batched, xshape, wshape, kw):
    """The input gradient's columns from per-position GEMMs on the gradient rows (``batched``
    images and more) or from a batch-last copy of the gradient; either input layout."""
    monkeypatch.setattr(conv_ops, "BATCHED_MIN_IMAGES", batched)
    _compare(xshape, wshape, kw)
    _compare(xshape, wshape, kw, needs=(True, False, False), channels_last=True)


def test_few_channel_input_gradient_keeps_the_input_layout():
    x = ember.randn(4, 10, 10, 6).permute(0, 3, 1, 2).requires_grad_()
    F.conv2d(x, ember.randn(16, 6, 5, 5)).sum().backward()
    assert x.grad.permute(0, 2, 3, 1).is_contiguous()
    y = ember.randn(4, 6, 10, 10, requires_grad=True)
    F.conv2d(y, ember.randn(16, 6, 5, 5)).sum().backward()
    assert y.grad.is_contiguous()


# Pointwise (1x1, stride 1, no padding) with many channels per group: a channels-last input is
# its own column matrix (no im2col, no col2im); an NCHW input takes the tiled path.
POINTWISE = [
    ((4, 32, 5, 6), (24, 32, 1, 1), {}),
    ((3, 32, 7, 5), (12, 16, 1, 1), dict(groups=2, dilation=3)),
    ((3, 32, 9), (8, 32, 1), {}),
    ((2, 16, 3, 4, 5), (8, 16, 1, 1, 1), {}),
]


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False), (False, True, True)])
@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("xshape, wshape, kw", POINTWISE)
def test_pointwise_paths_match_torch(shares, xshape, wshape, kw, channels_last, needs):
    _compare(xshape, wshape, kw, needs, channels_last=channels_last)


def test_pointwise_channels_last_input_copies_no_columns(monkeypatch):
    def refuse(*args, **kw):
        raise AssertionError("im2col/col2im called for a pointwise convolution")

    monkeypatch.setattr(conv_ops, "im2col_cl", refuse)
    monkeypatch.setattr(conv_ops, "col2im_cl", refuse)
    rng = np.random.default_rng(0)
    xn, wn, gn = (rng.standard_normal(s) for s in ((3, 32, 5, 6), (16, 32, 1, 1), (3, 16, 5, 6)))
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(xn).contiguous(memory_format=lib.channels_last).requires_grad_()
        w = lib.tensor(wn, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w)
        y.backward(lib.tensor(gn))
        assert y.is_contiguous(memory_format=lib.channels_last)
        assert x.grad.is_contiguous(memory_format=lib.channels_last)
        grads.append([t.detach().numpy() for t in (y, x.grad, w.grad)])
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


def test_strided_view_is_as_strided():
    """im2col's cheap window views equal NumPy's ``as_strided`` on any base, are read-only
    unless asked, and keep their base alive (the scratch pool counts references)."""
    from numpy.lib.stride_tricks import as_strided

    from ember.ops._im2col import strided_view

    base = np.arange(2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)
    for a in (base, base[:, ::2], base[1:]):
        shape = (a.shape[0], a.shape[1] - 2, 3, 3)
        st = (a.strides[0], a.strides[1], a.strides[1], a.strides[2])
        v = strided_view(a, shape, st)
        np.testing.assert_array_equal(v, as_strided(a, shape, st))
        assert not v.flags.writeable
        assert v.base is not None
    w = strided_view(base, (2, 3), (base.strides[0], base.strides[2]), writeable=True)
    w[1, 2] = -1
    assert base[1, 0, 2] == -1
