"""Activations: F.* and nn layers against torch (forward, input and weight gradients), gradcheck
of every fused primitive, in-place variants, reprs and errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as enn
import ember.nn.functional as F
from ember.ops import activation as A
from tests.parity import assert_close, check_layer, check_op, copy_weights, layer_case, rand_array


def away(x: np.ndarray, kinks: tuple, eps: float = 1e-2) -> np.ndarray:
    """Move values within ``eps`` of a kink (where the derivative jumps) off it."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < eps
        x[near] = k + np.where(x[near] >= k, eps, -eps) * 2
    return x


def data(shape: tuple, dtype=np.float32, seed: int = 0, scale: float = 4.0, kinks=(0.0,)):
    return away(rand_array(shape, dtype, seed, -scale, scale), kinks)


# name, ember fn, torch fn, kinks of the derivative
CASES = [
    ("relu", F.relu, TF.relu, (0.0,)),
    ("relu6", F.relu6, TF.relu6, (0.0, 6.0)),
    ("hardtanh", F.hardtanh, TF.hardtanh, (-1.0, 1.0)),
    (
        "hardtanh_args",
        lambda x: F.hardtanh(x, -2.0, 0.5),
        lambda x: TF.hardtanh(x, -2.0, 0.5),
        (-2.0, 0.5),
    ),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, (0.0,)),
    (
        "leaky_relu_0.2",
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: TF.leaky_relu(x, 0.2),
        (0.0,),
    ),
    ("elu", F.elu, TF.elu, (0.0,)),
    ("elu_alpha", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), (0.0,)),
    ("selu", F.selu, TF.selu, (0.0,)),
    ("celu", F.celu, TF.celu, (0.0,)),
    ("celu_alpha", lambda x: F.celu(x, 2.5), lambda x: TF.celu(x, 2.5), (0.0,)),
    ("gelu", F.gelu, TF.gelu, ()),
    (
        "gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: TF.gelu(x, approximate="tanh"),
        (),
    ),
    ("silu", F.silu, TF.silu, ()),
    ("mish", F.mish, TF.mish, ()),
    ("sigmoid", F.sigmoid, TF.sigmoid, ()),
    ("tanh", F.tanh, TF.tanh, ()),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    ("hardswish", F.hardswish, TF.hardswish, (-3.0, 3.0)),
    ("softplus", F.softplus, TF.softplus, ()),
    (
        "softplus_beta",
        lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        lambda x: TF.softplus(x, beta=2.0, threshold=3.0),
        (1.5,),
    ),
    (
        "softplus_small_beta",
        lambda x: F.softplus(x, beta=0.5, threshold=1.0),
        lambda x: TF.softplus(x, beta=0.5, threshold=1.0),
        (2.0,),
    ),
    ("softsign", F.softsign, TF.softsign, ()),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, ()),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink, ()),
    ("softshrink", F.softshrink, TF.softshrink, (-0.5, 0.5)),
    (
        "softshrink_1",
        lambda x: F.softshrink(x, 1.0),
        lambda x: TF.softshrink(x, 1.0),
        (-1.0, 1.0),
    ),
    ("hardshrink", F.hardshrink, TF.hardshrink, (-0.5, 0.5)),
    (
        "hardshrink_1",
        lambda x: F.hardshrink(x, 1.0),
        lambda x: TF.hardshrink(x, 1.0),
        (-1.0, 1.0),
    ),
    (
        "threshold",
        lambda x: F.threshold(x, 0.3, -2.0),
        lambda x: TF.threshold(x, 0.3, -2.0),
        (0.3,),
    ),
    ("glu", F.glu, TF.glu, ()),
    ("glu_dim0", lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0), ()),
    ("softmax", lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), ()),
    ("log_softmax", lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1), ()),
    ("softmin", lambda x: F.softmin(x, 0), lambda x: TF.softmin(x, 0), ()),
    (
        "rrelu_eval",
        lambda x: F.rrelu(x, 0.1, 0.3),
        lambda x: TF.rrelu(x, 0.1, 0.3),
        (0.0,),
    ),
]
IDS = [c[0] for c in CASES]
SHAPES = [(6, 8), (2, 4, 3, 6), (10,)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity_float32(case, shape):
    _, efn, tfn, kinks = case
    check_op(efn, tfn, data(shape, kinks=kinks), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity_float64(case):
    name, efn, tfn, kinks = case
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, even for float64.
    grad_rtol = 1e-7 if name == "hardsigmoid" else 1e-11
    x = data((4, 6), np.float64, seed=3, kinks=kinks)
    check_op(efn, tfn, x, rtol=1e-12, atol=1e-13, grad_rtol=grad_rtol, grad_atol=1e-12)


@pytest.mark.parametrize(
    "name, efn, tfn",
    [
        ("gelu", F.gelu, TF.gelu),
        ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
        ("silu", F.silu, TF.silu),
        ("mish", F.mish, TF.mish),
        ("softplus", F.softplus, TF.softplus),
        ("logsigmoid", F.logsigmoid, TF.logsigmoid),
        ("elu", F.elu, TF.elu),
        ("selu", F.selu, TF.selu),
        ("sigmoid", F.sigmoid, TF.sigmoid),
        ("softsign", F.softsign, TF.softsign),
        ("tanhshrink", F.tanhshrink, TF.tanhshrink),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_values(name, efn, tfn, dtype):
    """Large |x|: no overflow, no NaN, values and gradients as torch's."""
    x = np.concatenate([np.linspace(-60, 60, 241), [-1e4, -100.5, 88.5, 100.5, 1e4]])
    x = away(x.astype(dtype), (0.0,))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        check_op(efn, tfn, x, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_past_exp_range_with_a_large_threshold(dtype):
    """softplus is log1p(exp(beta x)) up to the threshold, as PyTorch's kernel: with a threshold
    beyond exp's range the float32 value is inf and its gradient NaN there, as torch's."""
    x = np.array([-100.0, -1.0, 0.0, 50.0, 100.0, 150.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise"):
        check_op(
            lambda t: F.softplus(t, threshold=120.0), lambda t: TF.softplus(t, threshold=120.0), x
        )
        check_op(
            lambda t: F.softplus(t, beta=0.5, threshold=800.0),
            lambda t: TF.softplus(t, beta=0.5, threshold=800.0),
            x,
        )


@pytest.mark.parametrize("alpha", [0.7, 1.3, 2.0])
def test_celu_float64_gradient_as_torch(alpha):
    # PyTorch's CELU backward scales the input by 1 / float32(alpha), its forward by 1 / alpha:
    # with an alpha float32 cannot hold, the gradient differs from the exact one by ~1e-7.
    x = np.random.default_rng(0).standard_normal(4000) * 4
    g = np.random.default_rng(1).standard_normal(4000)
    got, want = [], []
    for lib, out in ((ember, got), (torch, want)):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.celu(t, alpha=alpha)
        y.backward(lib.tensor(g))
        out += [y.detach().numpy(), t.grad.numpy()]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[1], want[1], rtol=4e-15, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_accuracy(dtype):
    """GELU = x * erfc(-x / sqrt 2) / 2, accurate everywhere including the far negative tail
    where 1 + erf(x / sqrt 2) cancels (see docs/differences.md)."""
    import math

    x = np.concatenate([np.linspace(-25, 8, 6601), [-0.3, 1e-3, -1e-3]]).astype(dtype)
    exact = np.array([v * math.erfc(-v / math.sqrt(2)) / 2 for v in x.astype(np.float64)])
    got = F.gelu(ember.tensor(x))._data.astype(np.float64)
    tiny = np.finfo(dtype).tiny
    keep = np.abs(exact) > tiny  # below the smallest normal number only absolute error counts
    assert np.all(np.abs(got[~keep] - exact[~keep]) < tiny)
    if dtype == np.float64:
        np.testing.assert_allclose(got[keep], exact[keep], rtol=1e-12)


def test_gelu_float32_ulps():
    """The float32 kernel over a dense grid, in ulps of the exact (float64) result: at most 10
    from -3 on; in the left tail exp's rounded argument -x**2/2 adds ~x**2/2 ulps (docs)."""
    import math

    erfc = np.frompyfunc(math.erfc, 1, 1)

    x = np.concatenate(
        [np.linspace(-14, 10, 240001), -np.geomspace(1e-8, 14, 20001), np.geomspace(1e-8, 14, 2001)]
    ).astype(np.float32)
    x64 = x.astype(np.float64)
    cdf = erfc(-x64 / np.sqrt(2)).astype(np.float64) / 2
    exact = x64 * cdf
    dexact = cdf + x64 * np.exp(-x64 * x64 / 2) / np.sqrt(2 * np.pi)
    t = ember.tensor(x, requires_grad=True)
    y = F.gelu(t)
    y.backward(ember.ones_like(y))
    keep = np.abs(exact) > np.finfo(np.float32).tiny
    err = np.abs(y._data.astype(np.float64) - exact)[keep]
    ulps = err / np.spacing(np.abs(exact[keep]).astype(np.float32)).astype(np.float64)
    xs = x64[keep]
    assert ulps[xs >= -3].max() <= 10
    assert np.all(ulps <= 10 + xs * xs / 2)
    # the derivative (saved by the forward): absolute error well below torch's float32 erf's
    assert np.abs(t.grad._data - dexact).max() < 5e-7


# ---- signed zeros, NaN, infinities: values and gradients as torch's --------------------------
EDGE = [
    0.0,
    -0.0,
    float("nan"),
    1e30,
    -1e30,
    -5.0,
    -10.0,
    -20.0,
    -100.0,
    100.0,
    0.5,
    -0.5,
    3.0,
    -3.0,
]
EDGE_INF = [float("inf"), -float("inf")]
EDGE_CASES = [
    ("relu", F.relu, TF.relu, True),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, True),
    ("leaky_relu_2", lambda x: F.leaky_relu(x, 2.0), lambda x: TF.leaky_relu(x, 2.0), True),
    ("elu", F.elu, TF.elu, True),
    ("selu", F.selu, TF.selu, True),
    ("celu", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), True),
    ("gelu", F.gelu, TF.gelu, False),  # gelu(+inf): inf, torch NaN (docs/differences.md)
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh"), True),
    ("silu", F.silu, TF.silu, True),
    ("mish", F.mish, TF.mish, True),
    ("softplus", F.softplus, TF.softplus, True),
    ("sigmoid", F.sigmoid, TF.sigmoid, True),
    ("tanh", F.tanh, TF.tanh, True),
    ("hardswish", F.hardswish, TF.hardswish, True),
    ("threshold", lambda x: F.threshold(x, 0.0, 2.0), lambda x: TF.threshold(x, 0.0, 2.0), True),
    (
        "threshold_0",
        lambda x: F.threshold(x, -1.0, 0.0),
        lambda x: TF.threshold(x, -1.0, 0.0),
        True,
    ),
    (
        "threshold_inf",
        lambda x: F.threshold(x, 0.5, -float("inf")),
        lambda x: TF.threshold(x, 0.5, -float("inf")),
        True,
    ),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, True),
    ("hardshrink", F.hardshrink, TF.hardshrink, True),
    ("softshrink", F.softshrink, TF.softshrink, True),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, True),
    (
        "prelu",
        lambda x: F.prelu(x, ember.tensor([0.25], dtype=x.dtype)),
        lambda x: TF.prelu(x, torch.tensor([0.25], dtype=x.dtype)),
        True,
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_edge_values(case, dtype):
    """0 and -0 (the sign of a zero result too), NaN, huge and infinite inputs."""
    name, efn, tfn, with_inf = case
    x = np.array(EDGE + (EDGE_INF if with_inf else []), dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 (docs/differences.md)
    gtol = dict(tol, rtol=1e-7) if name == "hardsigmoid" else tol
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = efn(ex), tfn(tx)
    ey.backward(ember.ones_like(ey))
    ty.backward(torch.ones_like(ty))
    got, want = ey._data, ty.detach().numpy()
    np.testing.assert_allclose(got, want, equal_nan=True, **tol)
    zero = want == 0
    assert np.array_equal(np.signbit(got[zero]), np.signbit(want[zero]))
    # At a NaN input PyTorch's gradient differs between its vectorised and scalar loops (so by
    # dtype and position): compared everywhere else.
    ok = ~np.isnan(x)
    np.testing.assert_allclose(ex.grad._data[ok], tx.grad.numpy()[ok], equal_nan=True, **gtol)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_threshold_masks_upstream_nan(dtype):
    """Threshold selects (as PyTorch's): a NaN or infinite upstream gradient where the input is
    dropped gives 0, not NaN; kept values keep their bits, the sign of a zero too."""
    x = np.array([-2.0, -0.0, 0.0, 0.25, 0.5, 1.0, np.nan, np.inf, -np.inf, 3.0], dtype)
    g = np.array([np.nan, np.inf, -np.inf, 1.0, np.nan, -2.0, 3.0, np.nan, -np.inf, -0.0], dtype)
    for th, val in ((0.25, 7.0), (-1.0, 0.0), (0.0, -0.0)):
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = F.threshold(ex, th, val), TF.threshold(tx, th, val)
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        want = ty.detach().numpy()
        assert ey._data.dtype == want.dtype
        assert np.array_equal(ey._data.view(np.uint8), want.view(np.uint8))  # bit for bit
        assert np.array_equal(ex.grad._data.view(np.uint8), tx.grad.numpy().view(np.uint8))


@pytest.mark.parametrize("name", ["softshrink", "hardshrink"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shrink_masks_upstream_nan(name, dtype):
    """The shrinks' gradients select as PyTorch's: 0 inside ``[-lambd, lambd]`` even for a NaN
    or infinite upstream gradient, the upstream value (bit for bit) elsewhere. (At a NaN input
    PyTorch's loops disagree: docs/differences.md.)"""
    x = np.array([-2.0, -0.5, -0.0, 0.0, 0.25, 0.5, 0.75, 1.0, np.inf, -np.inf], dtype)
    g = np.array([np.nan, np.inf, -np.inf, np.nan, 1.0, -0.0, -2.0, 3.0, np.nan, -0.0], dtype)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = getattr(F, name)(ex), getattr(TF, name)(tx)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ey._data, ty.detach().numpy())
    assert np.array_equal(ex.grad._data.view(np.uint8), tx.grad.numpy().view(np.uint8))


# ---- gradcheck of every fused primitive ---------------------------------------------------------
PRIMS = [
    ("LeakyRelu", lambda x: A.LeakyRelu.apply(x, 0.1)),
    ("Elu", lambda x: A.Elu.apply(x, 1.3, 1.1, 0.8)),
    ("Gelu", lambda x: A.Gelu.apply(x, "none")),
    ("Gelu_tanh", lambda x: A.Gelu.apply(x, "tanh")),
    ("Silu", A.Silu.apply),
    ("Mish", A.Mish.apply),
    ("Softplus", lambda x: A.Softplus.apply(x, 1.5, 2.0)),
    ("Hardtanh", lambda x: A.Hardtanh.apply(x, -1.0, 1.0)),
    ("Hardsigmoid", A.Hardsigmoid.apply),
    ("Hardswish", A.Hardswish.apply),
    ("Threshold", lambda x: A.Threshold.apply(x, 0.3, -1.0)),
    ("Softsign", A.Softsign.apply),
    ("LogSigmoid", A.LogSigmoid.apply),
    ("Tanhshrink", A.Tanhshrink.apply),
    ("Softshrink", lambda x: A.Softshrink.apply(x, 0.5)),
    ("Hardshrink", lambda x: A.Hardshrink.apply(x, 0.5)),
    ("Glu", lambda x: A.Glu.apply(x, 1)),
]


@pytest.mark.parametrize("name, fn", PRIMS, ids=[p[0] for p in PRIMS])
def test_gradcheck(name, fn):
    x = data((3, 4), np.float64, seed=5, kinks=(0.0, 0.5, -0.5, 0.3, 1.0, -1.0, 3.0, -3.0, 2 / 1.5))
    assert ember.autograd.gradcheck(fn, (ember.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("wshape", [(1,), (3,), ()])
def test_gradcheck_prelu(wshape):
    x = ember.tensor(data((2, 3, 4), np.float64, seed=2), requires_grad=True)
    w = ember.tensor(rand_array(wshape, np.float64, 4, 0.1, 0.5), requires_grad=True)
    assert ember.autograd.gradcheck(A.Prelu.apply, (x, w))


def test_gradcheck_masks():
    x = ember.tensor(data((3, 4), np.float64), requires_grad=True)
    noise = rand_array((3, 1), np.float64, 1)
    shift = rand_array((3, 1), np.float64, 2)
    assert ember.autograd.gradcheck(lambda t: A.MulMask.apply(t, noise), (x,))
    assert ember.autograd.gradcheck(lambda t: A.AlphaMask.apply(t, noise, shift), (x,))


# ---- PReLU ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "xshape, n", [((4, 3, 5, 5), 1), ((4, 3, 5, 5), 3), ((6, 5), 5), ((6, 5), 1), ((7,), 1)]
)
def test_prelu_parity(xshape, n):
    x = data(xshape)
    w = rand_array((n,), np.float32, 9, -0.5, 0.5)
    check_op(F.prelu, TF.prelu, x, w)


@pytest.mark.parametrize("n", [1, 3])
def test_prelu_module_weight_grad(n):
    em = enn.PReLU(n, init=0.1)
    tm = tnn.PReLU(n)
    copy_weights(em, tm)
    assert_close(tm.weight, torch.full((n,), 0.1))
    x = data((2, 3, 4, 4), seed=4)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    up = rand_array((2, 3, 4, 4), np.float32, 8)
    em(ex).backward(ember.tensor(up))
    tm(tx).backward(torch.tensor(up))
    assert_close(ex.grad, tx.grad)
    assert_close(em.weight.grad, tm.weight.grad, rtol=1e-5, atol=1e-5)


def test_prelu_errors():
    x = ember.randn(3, 5)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(x, ember.ones(3))
    with pytest.raises(RuntimeError, match="scalar or 1D tensor"):
        F.prelu(x, ember.ones(1, 5))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        enn.PReLU(3)(ember.randn(3))


# ---- modules ------------------------------------------------------------------------------
MODULES = [
    layer_case("ReLU"),
    layer_case("ReLU6"),
    layer_case("Hardtanh", (-2.0, 1.5)),
    layer_case("LeakyReLU", (0.05,)),
    layer_case("ELU", (0.8,)),
    layer_case("CELU", (1.7,)),
    layer_case("SELU"),
    layer_case("GELU"),
    layer_case("GELU", ("tanh",)),
    layer_case("SiLU"),
    layer_case("Mish"),
    layer_case("Sigmoid"),
    layer_case("Tanh"),
    layer_case("Hardsigmoid"),
    layer_case("Hardswish"),
    layer_case("Softplus", (2.0, 5.0)),
    layer_case("Softsign"),
    layer_case("Softmax", (1,)),
    layer_case("LogSoftmax", (-1,)),
    layer_case("Softmin", (0,)),
    layer_case("Softmax2d"),
    layer_case("Threshold", (0.2, -3.0)),
    layer_case("GLU", (1,)),
    layer_case("LogSigmoid"),
    layer_case("Tanhshrink"),
    layer_case("Softshrink", (0.3,)),
    layer_case("Hardshrink", (0.3,)),
    layer_case("PReLU"),
    layer_case("PReLU", (4, 0.3)),
]


_KINKS = (0.0, 0.2, -0.3, 0.3, 3.0, -3.0, 1.5, -2.0, 2.5)


@pytest.mark.parametrize("case", MODULES, ids=str)
def test_module_parity_and_repr(case):
    # Values, input gradient and (PReLU) weight gradient, away from every kink.
    x = data((2, 4, 3, 6), seed=7, kinks=_KINKS)
    check_layer(replace(case, input=x, atol=1e-6))


INPLACE_MODULES = [
    layer_case("ReLU", (True,)),
    layer_case("ReLU6", (True,)),
    layer_case("Hardtanh", (-1.0, 1.0, True)),
    layer_case("LeakyReLU", (0.1, True)),
    layer_case("ELU", (1.0, True)),
    layer_case("CELU", (2.0, True)),
    layer_case("SELU", (True,)),
    layer_case("SiLU", (True,)),
    layer_case("Mish", (True,)),
    layer_case("Hardsigmoid", (True,)),
    layer_case("Hardswish", (True,)),
    layer_case("Threshold", (0.1, 2.0, True)),
    layer_case("RReLU", (0.1, 0.3, True)),
]


@pytest.mark.parametrize("case", INPLACE_MODULES, ids=str)
def test_inplace_modules(case):
    em = case.build(ember).eval()
    tm = case.build(torch).eval()
    assert repr(em) == repr(tm)
    x = data((3, 5), seed=1, kinks=(0.0, 0.1, 1.0, -1.0, 3.0, -3.0))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    # On an intermediate (non-leaf) tensor: modified in place, and gradients still right.
    ey = ex * 2.0
    ty = tx * 2.0
    eo = em(ey)
    to = tm(ty)
    assert eo is ey
    assert_close(ey, ty)
    up = rand_array((3, 5), np.float32, 3)
    eo.backward(ember.tensor(up))
    to.backward(torch.tensor(up))
    assert_close(ex.grad, tx.grad)
    # Without autograd: the input array itself is overwritten.
    plain = ember.tensor(x)
    arr = plain._data
    em(plain)
    assert_close(arr, tm(torch.tensor(x)))


@pytest.mark.parametrize(
    "efn, tfn",
    [
        (F.relu_, torch.relu_),
        (F.elu_, TF.elu_),
        (F.selu_, torch.selu_),
        (F.celu_, torch.celu_),
        (F.leaky_relu_, TF.leaky_relu_),
        (F.hardtanh_, TF.hardtanh_),
        (lambda x: F.threshold_(x, 0.5, 9.0), lambda x: TF.threshold_(x, 0.5, 9.0)),
        (F.rrelu_, TF.rrelu_),
    ],
)
def test_underscore_variants(efn, tfn):
    x = data((4, 5), seed=2, kinks=(0.0, 0.5, 1.0, -1.0))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey = ex + 0.0
    ty = tx + 0.0
    before = ey._version
    assert efn(ey) is ey
    tfn(ty)
    assert ey._version > before
    assert_close(ey, ty)
    ey.sum().backward()
    ty.sum().backward()
    assert_close(ex.grad, tx.grad)


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.relu_(x)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(x, inplace=True)


def test_inplace_under_no_grad_modifies_leaf():
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    with ember.no_grad():
        F.leaky_relu_(x, 0.5)
    assert x.tolist() == [-0.5, 2.0]


# ---- rrelu -------------------------------------------------------------------------------
def test_rrelu_training_slopes_and_grad():
    x = ember.tensor(data((200, 50), seed=6), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    xd, yd, gd = x._data, y._data, x.grad._data
    neg = xd < 0
    slopes = yd[neg] / xd[neg]
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    assert abs(slopes.mean() - 0.2) < 0.005  # U(0.1, 0.3) has mean 0.2
    np.testing.assert_array_equal(yd[~neg], xd[~neg])
    np.testing.assert_allclose(gd[neg], slopes, rtol=1e-6)
    np.testing.assert_array_equal(gd[~neg], 1.0)
    # The module draws in training and uses the mean slope in eval.
    m = enn.RReLU(0.1, 0.3)
    assert not np.array_equal(m(x)._data, m.eval()(x)._data)
    assert_close(m(x), TF.leaky_relu(torch.tensor(xd), 0.2))


# ---- errors -------------------------------------------------------------------------------
def test_errors():
    x = ember.randn(3, 5)
    ints = ember.arange(3)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1"):
        F.glu(x, 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(ember.tensor(1.0))
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        F.softshrink(x, -0.5)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="foo")
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        F.rrelu(x, 0.5, 0.1, training=True)
    for fn in (F.gelu, F.leaky_relu, F.elu, F.silu, F.mish, F.softplus, F.hardswish):
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            fn(ints)
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input' \(position 1\) must be"):
        F.relu([1.0, 2.0])
    with pytest.raises(AssertionError, match="max_val"):
        enn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        enn.Softmax2d()(x)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_exactly_at_kinks_follows_torch(case):
    """At a kink the derivative is a convention; use PyTorch's side for each op."""
    _, efn, tfn, kinks = case
    x = np.array(sorted(set(kinks) | {-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0}), np.float32)
    check_op(efn, tfn, x, rtol=1e-5, atol=1e-6)


def test_integer_inputs_where_torch_allows():
    v = np.arange(-3, 9)
    for efn, tfn in [
        (F.relu, TF.relu),
        (F.relu6, TF.relu6),
        (F.hardtanh, TF.hardtanh),
        (lambda t: F.threshold(t, 1, 5), lambda t: TF.threshold(t, 1, 5)),
        (F.sigmoid, torch.sigmoid),
    ]:
        assert_close(efn(ember.tensor(v)), tfn(torch.tensor(v)))


def test_activations_in_sequential_train_like_torch():
    """A small MLP with several activations: same outputs and gradients as torch."""
    em = enn.Sequential(
        enn.Linear(6, 8), enn.GELU(), enn.Linear(8, 8), enn.SiLU(), enn.Linear(8, 4), enn.ELU()
    )
    tm = tnn.Sequential(
        tnn.Linear(6, 8), tnn.GELU(), tnn.Linear(8, 8), tnn.SiLU(), tnn.Linear(8, 4), tnn.ELU()
    )
    copy_weights(em, tm)
    x = rand_array((5, 6), np.float32, 1)
    eo = em(ember.tensor(x))
    to = tm(torch.tensor(x))
    assert_close(eo, to)
    eo.sum().backward()
    to.sum().backward()
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(ep.grad, tp.grad, rtol=1e-5, atol=1e-6, what=n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_zero_dim(case, dtype):
    """0-d inputs (the in-place kernels must not meet NumPy scalars), with and without grad."""
    _, efn, tfn, _ = case
    for v in (-0.7, 1.3, -0.0, 25.0):
        x = np.array(v, dtype)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = efn(ex), tfn(tx)
        ey.backward()
        ty.backward()
        assert ey.shape == () and ex.grad.shape == ()
        assert_close(ey.detach(), ty.detach(), rtol=1e-5, atol=1e-6)
        assert_close(ex.grad, tx.grad, rtol=1e-5, atol=1e-6)
        with ember.no_grad():
            assert_close(efn(ex), ty.detach(), rtol=1e-5, atol=1e-6)
