"""Padding, interpolation and pixel shuffle: F.pad / F.interpolate and the padding and upsampling
layers against torch (values and input gradients), gradcheck of the primitives, reprs, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as enn
import ember.nn.functional as F
import ember.ops._parallel as P
from ember.ops.resample import IndexPad, Interpolate, cubic_matrix, linear_matrix, pad_index
from tests.parity import check_layer, check_op, layer_case, num_threads, rand_array

X3, X4, X5 = rand_array((2, 3, 7)), rand_array((2, 3, 5, 6)), rand_array((1, 2, 3, 4, 5))

PADS = [
    (X4, (2, 1, 3, 4)),
    (X3, (2, 3)),
    (rand_array((3, 7)), (1, 2)),  # unbatched 1-d
    (X5, (1, 2, 1, 0, 2, 1)),
    (X4, (-1, 2, 1, -2)),  # negative widths crop first
    (rand_array((3, 5, 6)), (1, 1, 2, 2)),  # unbatched 2-d
    (X4, (5, 5, 4, 4)),  # the largest reflect pads
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", range(len(PADS)))
def test_pad(mode, case):
    x, p = PADS[case]
    if mode == "circular" and max(p) > min(x.shape[-len(p) // 2 :]):
        p = tuple(min(v, 3) for v in p)
    check_op(lambda x: F.pad(x, p, mode=mode), lambda x: TF.pad(x, p, mode=mode), x)


def test_pad_constant_value():
    check_op(lambda x: F.pad(x, (1, 2), value=3.5), lambda x: TF.pad(x, (1, 2), value=3.5), X4)


INTERP = [
    ("nearest", X4), ("nearest-exact", X4), ("bilinear", X4), ("bicubic", X4),
    ("linear", X3), ("trilinear", X5), ("nearest", X3), ("nearest", X5), ("area", X4),
]  # fmt: skip
SIZES = [
    dict(size="shape"),
    dict(scale_factor=2),
    dict(scale_factor=1.7),
    dict(scale_factor=0.6, recompute_scale_factor=True),
    dict(scale_factor=0.45),
    dict(size=13),
]


@pytest.mark.parametrize("mode,x", INTERP, ids=[m + str(x.ndim) for m, x in INTERP])
@pytest.mark.parametrize("kw", SIZES, ids=[str(k) for k in SIZES])
def test_interpolate(mode, x, kw):
    if kw.get("size") == "shape":
        kw = dict(size=(7, 4, 9)[: x.ndim - 2])
    acs = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
    for ac in acs:
        check_op(
            lambda x, ac=ac: F.interpolate(x, mode=mode, align_corners=ac, **kw),
            lambda x, ac=ac: TF.interpolate(x, mode=mode, align_corners=ac, **kw),
            x,
            atol=1e-5,
        )


def test_interpolate_nearest_is_exact_copy():
    x = rand_array((1, 2, 3, 7))
    y = F.interpolate(ember.tensor(x), scale_factor=(1, 3))
    np.testing.assert_array_equal(
        y.numpy(), TF.interpolate(torch.tensor(x), scale_factor=(1, 3)).numpy()
    )


def _interp_pair(shape, dtype, layout, kw, grad_values=None, x=None):
    """ember's and torch's interpolate of the same input (in ``layout``: "cl" is channels-last,
    4-D or 5-D) with the same upstream gradient: (outputs, input grads)."""
    x = rand_array(shape, dtype, seed=3) if x is None else x
    up_shape = TF.interpolate(torch.tensor(x), **kw).shape
    up = np.random.default_rng(4).standard_normal(tuple(up_shape)).astype(dtype)
    if grad_values is not None:
        up = np.resize(np.asarray(grad_values, dtype), up.shape)
    res = []
    for lib, fn in ((ember, F.interpolate), (torch, TF.interpolate)):
        t = lib.tensor(x)
        if layout == "cl":
            t = t.contiguous(
                memory_format=lib.channels_last if x.ndim == 4 else lib.channels_last_3d
            )
        t.requires_grad_()
        y = fn(t, **kw)
        y.backward(lib.tensor(up))
        res.append((y, t.grad))
    return res


NEAREST_SHAPES = [(2, 3, 5, 7), (1, 1, 1, 1), (3, 2, 1, 11), (2, 5, 3), (1, 2, 3, 1, 5)]
NEAREST_KWS = [
    dict(scale_factor=2),
    dict(scale_factor=3, mode="nearest-exact"),
    dict(scale_factor="last"),
    dict(scale_factor=1),
    dict(scale_factor=1.7),  # not whole factors: the gathers
    dict(scale_factor=0.5),
    dict(size=13, mode="nearest-exact"),
]


def _empty_output(kw: dict, shape: tuple) -> bool:
    return kw.get("scale_factor") == 0.5 and min(shape[2:]) < 2


# (no channels-last format for 3-D input; an empty output is refused, tested below)
NEAREST_CASES = [
    (kw, shape, layout)
    for kw in NEAREST_KWS
    for shape in NEAREST_SHAPES
    for layout in ("contiguous", "cl")
    if not (layout == "cl" and len(shape) == 3) and not _empty_output(kw, shape)
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kw, shape, layout", NEAREST_CASES, ids=str)
def test_interpolate_nearest_layouts(kw, shape, layout, dtype):
    """Nearest (whole factors as repeats, the rest as gathers): values and gradients as
    PyTorch's, output and gradient strides as PyTorch's (channels-last stays channels-last)."""
    if kw.get("scale_factor") == "last":  # x2 along the last dim only
        kw = dict(scale_factor=(1,) * (len(shape) - 3) + (2,))
    (ey, eg), (ty, tg) = _interp_pair(shape, dtype, layout, kw)
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    assert ey.stride() == ty.stride()
    assert eg.stride() == tg.stride()
    # (repeats and gathers alike add the copies in PyTorch's order: bit for bit)
    np.testing.assert_array_equal(eg.numpy(), tg.numpy())


@pytest.mark.parametrize("shape", [s for s in NEAREST_SHAPES if min(s[2:]) < 2], ids=str)
def test_interpolate_to_an_empty_output_is_refused_as_torch(shape):
    x = np.ones(shape, np.float32)
    with pytest.raises(RuntimeError, match="sizes should be greater than 0") as want:
        torch.nn.functional.interpolate(torch.tensor(x), scale_factor=0.5)
    with pytest.raises(RuntimeError) as got:
        ember.nn.functional.interpolate(ember.tensor(x), scale_factor=0.5)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("layout", ["contiguous", "cl"])
@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=1), dict(size=(3, 11))])
def test_interpolate_nearest_edge_gradients(kw, layout):
    """-0.0 copies sum to +0.0 (PyTorch accumulates onto zeros); inf and NaN stay so."""
    for values in ([-0.0], [np.inf, -0.0, 1.0], [np.nan, 2.0, -np.inf, np.inf]):
        (ey, eg), (ty, tg) = _interp_pair((1, 2, 2, 5), np.float32, layout, kw, values)
        np.testing.assert_array_equal(eg.numpy(), tg.numpy())
        real = ~np.isnan(tg.numpy())  # (a NaN's sign bit is not specified)
        np.testing.assert_array_equal(np.signbit(eg.numpy()[real]), np.signbit(tg.numpy()[real]))


@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("c,layout", [(64, "cl"), (3, "cl"), (16, "contiguous")])
def test_interpolate_nearest_x2_big(c, layout, split, monkeypatch):
    """Big enough to be cut into per-core chunks and cache blocks: 64 channels channels-last
    (the broadcast copy), 3 channels (void elements of 3 floats) and NCHW (of one float)."""
    monkeypatch.setattr(P, "SPLIT", split)
    n = 2 * (1 << 19) // (c * 24 * 20 * 4) + 1
    with num_threads(2):
        (ey, eg), (ty, tg) = _interp_pair((n, c, 24, 20), np.float32, layout, {"scale_factor": 2})
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(eg.numpy(), tg.numpy())
    assert ey.stride() == ty.stride() and eg.stride() == tg.stride()


LINEAR_KWS = [
    dict(mode="bilinear", scale_factor=2),
    dict(mode="bilinear", scale_factor=2, align_corners=True),
    dict(mode="bicubic", size=(7, 5)),
    dict(mode="bilinear", scale_factor=0.5),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", ["contiguous", "cl"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 1, 2, 2), (3, 16, 11, 2)], ids=str)
@pytest.mark.parametrize("kw", LINEAR_KWS, ids=str)
def test_interpolate_linear_modes_keep_the_layout(kw, shape, layout, dtype):
    """Bilinear and bicubic: values, gradients and strides as PyTorch's (channels-last in,
    channels-last out and gradient)."""
    (ey, eg), (ty, tg) = _interp_pair(shape, dtype, layout, kw)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-5, atol=1e-5)
    assert ey.stride() == ty.stride()
    assert eg.stride() == tg.stride()


@pytest.mark.parametrize("layout", ["contiguous", "cl"])
@pytest.mark.parametrize("kw", [k for k in LINEAR_KWS if k["mode"] == "bilinear"], ids=str)
def test_interpolate_linear_modes_infinite_input(kw, layout):
    """An inf input stays in its own window (no inf * 0 = NaN elsewhere), in either layout.
    (Not bicubic: PyTorch's bicubic multiplies zero tap weights by the inf, ember's does not.)"""
    x = rand_array((1, 2, 6, 5), np.float32, seed=3)
    x[0, 1, 2, 3] = np.inf
    x[0, 0, 0, 0] = -np.inf
    (ey, _), (ty, _) = _interp_pair(x.shape, np.float32, layout, kw, x=x)
    e, t = ey.detach().numpy(), ty.detach().numpy()
    np.testing.assert_array_equal(np.isnan(e), np.isnan(t))
    np.testing.assert_array_equal(np.isinf(e), np.isinf(t))
    fin = np.isfinite(t)
    np.testing.assert_allclose(e[fin], t[fin], rtol=1e-5, atol=1e-5)


def test_bilinear_inf_next_to_a_clamped_border():
    """Output row/column 0 of an x2 upsampling clamps its source to pixel 0 and gives pixel 1
    weight 0: PyTorch multiplies an inf there by that 0 (NaN), ember leaves it out, as the
    weights say (docs/differences.md); every other output agrees."""
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.inf
    kw = dict(scale_factor=2, mode="bilinear", align_corners=False)
    e = F.interpolate(ember.tensor(x), **kw).numpy()[0, 0]
    t = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()[0, 0]
    border = np.zeros_like(t, bool)
    border[0, :5] = border[:5, 0] = True
    assert np.isnan(t[border]).all() and np.isfinite(e[border]).all()
    np.testing.assert_allclose(e[border], [0, 0.25, 0.75, 1.25, 1.75, 1, 3, 5, 7], rtol=1e-6)
    np.testing.assert_allclose(e[~border], t[~border], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:`nn.functional.upsample")
def test_upsample_aliases():
    with pytest.warns(UserWarning, match="is deprecated. Use `nn.functional.interpolate`"):
        F.upsample(ember.randn(1, 1, 2, 2), scale_factor=2)
    check_op(
        lambda x: F.upsample_bilinear(x, scale_factor=2),
        lambda x: TF.upsample_bilinear(x, scale_factor=2),
        X4,
        atol=1e-5,
    )
    check_op(
        lambda x: F.upsample_nearest(x, size=(3, 9)),
        lambda x: TF.upsample_nearest(x, size=(3, 9)),
        X4,
    )
    check_op(
        lambda x: F.upsample(x, size=(3, 9), mode="bicubic"),
        lambda x: TF.upsample(x, size=(3, 9), mode="bicubic"),
        X4,
        atol=1e-5,
    )


def test_pixel_shuffle():
    check_op(
        lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2), rand_array((2, 8, 3, 4))
    )
    check_op(
        lambda x: F.pixel_shuffle(x, 3), lambda x: TF.pixel_shuffle(x, 3), rand_array((9, 2, 3))
    )
    check_op(
        lambda x: F.pixel_unshuffle(x, 2),
        lambda x: TF.pixel_unshuffle(x, 2),
        rand_array((2, 2, 4, 6)),
    )
    for em, tm, x in (
        (enn.PixelShuffle(2), tnn.PixelShuffle(2), rand_array((1, 4, 2, 2))),
        (enn.PixelUnshuffle(3), tnn.PixelUnshuffle(3), rand_array((1, 2, 6, 3))),
    ):
        assert repr(em) == repr(tm)
        check_op(em, tm, x)


# ---- gradcheck -------------------------------------------------------------------------------


def test_gradcheck_primitives():
    x = ember.tensor(rand_array((2, 2, 3, 4), np.float64), requires_grad=True)
    for mode in ("reflect", "replicate", "circular"):
        idx = (pad_index(3, 2, 1, mode), pad_index(4, 1, 3, mode))
        assert ember.autograd.gradcheck(lambda t, idx=idx: IndexPad.apply(t, idx, (2, 1)), (x,))
    mats = (
        linear_matrix(3, 5, False, None, np.float64),
        cubic_matrix(4, 7, True, None, np.float64),
    )
    assert ember.autograd.gradcheck(lambda t: Interpolate.apply(t, None, mats), (x,))
    gathers = (np.array([0, 0, 1, 2, 2]), np.array([3, 1]))
    one_hot = tuple(np.eye(n)[g] for n, g in zip((3, 4), gathers))
    assert ember.autograd.gradcheck(lambda t: Interpolate.apply(t, gathers, one_hot), (x,))


# ---- layers ----------------------------------------------------------------------------------

LAYERS = [
    layer_case("ZeroPad1d", ((1, 2),), input=X3),
    layer_case("ZeroPad2d", (1,), input=X4),
    layer_case("ZeroPad2d", ((1, 2, 0, 3),), input=X4),
    layer_case("ZeroPad3d", (1,), input=X5),
    layer_case("ConstantPad1d", (2, 3.5), input=X3),
    layer_case("ConstantPad2d", ((1, 0, 2, 0), 3.5), input=X4),
    layer_case("ConstantPad3d", ((1, 0, 2, 0, 1, 1), -1.0), input=X5),
    layer_case("ReflectionPad1d", ((2, 3),), input=X3),
    layer_case("ReflectionPad2d", (2,), input=X4),
    layer_case("ReflectionPad3d", (1,), input=X5),
    layer_case("ReplicationPad1d", (3,), input=X3),
    layer_case("ReplicationPad2d", ((1, 2, 3, 4),), input=X4),
    layer_case("ReplicationPad3d", (1,), input=X5),
    layer_case("CircularPad1d", (2,), input=X3),
    layer_case("CircularPad2d", ((1, 2, 3, 0),), input=X4),
    layer_case("CircularPad3d", (1,), input=X5),
    layer_case("ReflectionPad2d", (1,), input=rand_array((3, 4, 5))),  # unbatched
    layer_case("Upsample", kwargs=dict(scale_factor=2), input=X4),
    layer_case("Upsample", kwargs=dict(size=(3, 9), mode="bilinear"), input=X4),
    layer_case(
        "Upsample", (), dict(scale_factor=1.5, mode="bicubic", align_corners=True), input=X4
    ),
    layer_case("Upsample", kwargs=dict(scale_factor=(2, 3), mode="nearest-exact"), input=X4),
    layer_case("Upsample", kwargs=dict(scale_factor=2, mode="linear"), input=X3),
    layer_case("UpsamplingNearest2d", kwargs=dict(scale_factor=2), input=X4),
    layer_case("UpsamplingBilinear2d", kwargs=dict(size=(7, 3)), input=X4),
]


@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_layer_parity(case):
    check_layer(case)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda: F.pad(ember.randn(2, 3, 5, 6), (1, 1), mode="reflect"),
            NotImplementedError,
            "Padding size 2 is not supported for 4D input tensor",
        ),
        (
            lambda: F.pad(ember.randn(5), (1, 1), mode="replicate"),
            NotImplementedError,
            "Padding size 2 is not supported for 1D input tensor",
        ),
        (
            lambda: F.pad(ember.randn(2, 3, 5, 6), (6, 1, 1, 1), mode="reflect"),
            RuntimeError,
            "Padding size should be less than the corresponding input dimension",
        ),
        (
            lambda: F.pad(ember.randn(2, 3, 5, 6), (7, 1, 1, 1), mode="circular"),
            RuntimeError,
            "wrapping around more than once",
        ),
        (lambda: F.pad(ember.randn(2, 3), (1, 1, 1)), RuntimeError, "divisible by 2"),
        (
            lambda: F.pad(ember.randn(2, 3), (1, 1, 1, 1, 1, 1)),
            RuntimeError,
            "Padding length should be less than or equal to two times",
        ),
        (
            lambda: F.pad(ember.randn(2, 3, 4), (1, 1), mode="foo"),
            NotImplementedError,
            "Unrecognised padding mode foo",
        ),
        (
            lambda: F.pad(ember.randn(2, 3, 4), (1, 1), mode="replicate", value=3),
            RuntimeError,
            "doesn't take in value argument",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), scale_factor=2, mode="foo"),
            NotImplementedError,
            "got foo",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), size=3, scale_factor=2),
            ValueError,
            "only one of size or scale_factor should be defined",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4)),
            ValueError,
            "either size or scale_factor should be defined",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), size=3, align_corners=True),
            ValueError,
            "align_corners option can only be set with the interpolating modes",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), size=3, mode="linear"),
            NotImplementedError,
            "Got 4D input, but linear mode needs 3D input",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), size=(3, 4, 5)),
            ValueError,
            "Input and output must have the same number of spatial dimensions",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), scale_factor=(2, 3, 4)),
            ValueError,
            "Input and scale_factor must have the same number of spatial dimensions",
        ),
        (
            lambda: F.interpolate(ember.randn(1, 1, 4, 4), size=0),
            RuntimeError,
            "Input and output sizes should be greater than 0",
        ),
        (
            lambda: F.pixel_shuffle(ember.randn(2, 3, 5, 6), 2),
            RuntimeError,
            "divisible by the square of upscale_factor",
        ),
        (lambda: enn.CircularPad2d(1)(ember.randn(5, 6)), ValueError, "expected 3D or 4D input"),
    ],
)
def test_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


@pytest.mark.parametrize("layout", ["contiguous", "cl"])
@pytest.mark.parametrize(
    "kw", [dict(scale_factor=2), dict(mode="bilinear", scale_factor=2), dict(size=(3, 5))], ids=str
)
def test_interpolate_empty_batch(kw, layout):
    (ey, eg), (ty, tg) = _interp_pair((0, 3, 4, 6), np.float32, layout, kw)
    assert ey.shape == ty.shape and eg.shape == tg.shape


VIEWS = {
    "slice": lambda lib, x: x[:, :, 1:, ::2],
    "expand": lambda lib, x: x[:, :1].expand(3, 4, 9, 10),
    "permuted": lambda lib, x: x.permute(0, 1, 3, 2),
    "cl_slice": lambda lib, x: x.contiguous(memory_format=lib.channels_last)[:, 1:3],
}


@pytest.mark.parametrize("view", VIEWS, ids=str)
@pytest.mark.parametrize(
    "kw", [dict(scale_factor=2), dict(scale_factor=(2, 3)), dict(mode="bilinear", scale_factor=2)]
)
def test_interpolate_of_views(view, kw):
    """Strided views (sliced, expanded, permuted, channels-last sliced): values, gradients and
    output strides as PyTorch's."""
    base = rand_array((3, 4, 9, 10), np.float32, seed=5)
    outs = []
    for lib, f in ((ember, F), (torch, TF)):
        x = lib.tensor(base).requires_grad_()
        y = f.interpolate(VIEWS[view](lib, x), **kw)
        y.backward(lib.ones_like(y) * 0.5)
        outs.append((y.detach().numpy(), y.stride(), x.grad.numpy()))
    (ey, es, eg), (ty, ts, tg) = outs
    np.testing.assert_allclose(ey, ty, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eg, tg, rtol=1e-5, atol=1e-6)
    assert es == ts
