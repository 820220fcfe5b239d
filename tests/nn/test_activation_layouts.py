"""Activations on channels-last and big inputs: forward and every gradient against torch, the
output's memory layout as torch's, and the same bits as ember's own contiguous (NCHW) result
(the layout, the blocking and the per-core chunks of big inputs must not change a value)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F

# name, ember fn, torch fn
CASES = [
    ("silu", F.silu, TF.silu),
    ("gelu", F.gelu, TF.gelu),
    (
        "gelu_tanh",
        lambda t: F.gelu(t, approximate="tanh"),
        lambda t: TF.gelu(t, approximate="tanh"),
    ),
    ("elu", F.elu, TF.elu),
    ("elu_2", lambda t: F.elu(t, 2.0), lambda t: TF.elu(t, 2.0)),
    ("selu", F.selu, TF.selu),
    ("celu", lambda t: F.celu(t, 0.7), lambda t: TF.celu(t, 0.7)),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu),
    ("leaky_relu_2", lambda t: F.leaky_relu(t, 2.0), lambda t: TF.leaky_relu(t, 2.0)),
    ("softplus", F.softplus, TF.softplus),
    (
        "softplus_beta",
        lambda t: F.softplus(t, beta=2.0, threshold=3.0),
        lambda t: TF.softplus(t, beta=2.0, threshold=3.0),
    ),
    ("hardswish", F.hardswish, TF.hardswish),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("mish", F.mish, TF.mish),
    ("sigmoid", F.sigmoid, TF.sigmoid),
    ("tanh", F.tanh, TF.tanh),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("relu", F.relu, TF.relu),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("threshold", lambda t: F.threshold(t, 0.3, -2.0), lambda t: TF.threshold(t, 0.3, -2.0)),
    ("softshrink", F.softshrink, TF.softshrink),
    ("hardshrink", F.hardshrink, TF.hardshrink),
    ("softsign", F.softsign, TF.softsign),
]
IDS = [c[0] for c in CASES]
# edge values sprinkled into the ember-only comparison (torch is compared on finite data:
# gelu(+inf) is inf in ember, NaN in torch, docs/differences.md)
SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, -1e-30, 88.0, -88.0, 3.0, -3.0]


def _data(shape: tuple, dtype, seed: int) -> tuple:
    """A random NCHW input (values away from the kinks at 0, +-0.5, +-3 and 0.3) and gradient."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    for k in (0.0, 0.3, 0.5, -0.5, 3.0, -3.0):
        near = np.abs(x - k) < 1e-2
        x[near] += 0.05
    g = rng.standard_normal(shape).astype(dtype)
    return x, g


def _cl(a: np.ndarray) -> np.ndarray:
    """The same values as a channels-last (NHWC memory) view of an NCHW array."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)


def _run(lib, fn, x: np.ndarray, g: np.ndarray) -> tuple:
    xt = lib.tensor(x)
    if not x.flags.c_contiguous:
        xt = xt.contiguous(memory_format=lib.channels_last)
    xt.requires_grad_(True)
    y = fn(xt)
    y.backward(
        lib.tensor(g)
        if g.flags.c_contiguous
        else lib.tensor(g).contiguous(memory_format=lib.channels_last)
    )
    return y, xt.grad


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_array_equal(a[ok], b[ok])
    np.testing.assert_array_equal(np.signbit(a[ok]), np.signbit(b[ok]))


# (3, 5, 7, 11): small; (3, 61, 53, 59): past MIN_WORK (blocks and per-core chunks), odd sizes
SIZES = [(3, 5, 7, 11), (3, 61, 53, 59)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SIZES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_channels_last_matches_torch(case, shape, dtype):
    name, efn, tfn = case
    x, g = _data(shape, dtype, seed=len(name))
    xc, gc = _cl(x), _cl(g)
    ye, ge = _run(ember, efn, xc, gc)
    yt, gt = _run(torch, tfn, xc, gc)
    # the output keeps torch's memory layout (channels-last)
    assert ye.stride() == yt.stride()
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    if name == "gelu" and dtype == np.float32:  # (torch's 1 + erf cancels in the left tail)
        tol = dict(rtol=1e-5, atol=5e-6)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), **tol)
    gtol = dict(tol, rtol=1e-7) if name == "hardsigmoid" and dtype == np.float64 else tol
    if dtype == np.float32:  # (float32 sums cancel near a derivative's zero: absolute there)
        gtol = dict(rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(ge.numpy(), gt.numpy(), **gtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SIZES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_channels_last_gives_the_contiguous_bits(case, shape, dtype):
    name, efn, _ = case
    x, g = _data(shape, dtype, seed=7)
    flat_x, flat_g = x.reshape(-1), g.reshape(-1)
    for i, v in enumerate(SPECIALS):
        flat_x[i * 37 :: 1009] = v
    for i, v in enumerate([np.inf, -np.inf, np.nan]):
        flat_g[i * 53 + 5 :: 211] = v
    with warnings.catch_warnings():  # no RuntimeWarning may escape from ember
        warnings.simplefilter("error", RuntimeWarning)
        y0, g0 = _run(ember, efn, x, g)
        y1, g1 = _run(ember, efn, _cl(x), _cl(g))
    _same_bits(y1.detach().numpy(), y0.detach().numpy())
    _same_bits(g1.numpy(), g0.numpy())


@pytest.mark.parametrize(
    "threads, dtype", [(1, np.float32), (2, np.float32), (2, np.float64)], ids=str
)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_big_input_split_or_not_gives_the_same_bits(case, threads, dtype, monkeypatch):
    """A 3-D (tokens) input past the blocking size, run whole, in blocks and per-core chunks:
    the same bits as the same values computed in small pieces, edge values included, and no
    NumPy warning from a pool worker (NumPy's error state is per thread)."""
    from ember.ops import _parallel

    name, efn, _ = case
    x, g = _data((3, 131, 1543), dtype, seed=11)
    for i, v in enumerate(SPECIALS):
        x[:, :, i * 7 :: 97] = v
    g[:, :, 5::211] = np.inf
    monkeypatch.setattr(_parallel, "SPLIT", True)
    old = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            y, gx = _run(ember, efn, x, g)
    finally:
        ember.set_num_threads(old)
    # reference: one small piece (one row of tokens) at a time
    for i in (0, 2):
        for j in (0, 77, 130):
            yr, gr = _run(ember, efn, x[i, j].copy(), g[i, j].copy())
            _same_bits(y.detach().numpy()[i, j], yr.detach().numpy())
            _same_bits(gx.numpy()[i, j], gr.numpy())


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("x_cl", [True, False])
def test_gradient_in_another_layout(case, x_cl):
    """A big channels-last input with an NCHW upstream gradient (copied into the input's
    layout before the blocked kernel) and the reverse: torch's values, and the bits of the
    all-NCHW computation."""
    name, efn, tfn = case
    x, g = _data((3, 61, 53, 59), np.float32, seed=5)
    xs, gs = (_cl(x), g) if x_cl else (x, _cl(g))
    ye, ge = _run(ember, efn, xs, gs)
    yt, gt = _run(torch, tfn, xs, gs)
    tol = dict(rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(ge.numpy(), gt.numpy(), **tol)
    y0, g0 = _run(ember, efn, x, g)
    _same_bits(ye.detach().numpy(), y0.detach().numpy())
    _same_bits(ge.numpy(), g0.numpy())
