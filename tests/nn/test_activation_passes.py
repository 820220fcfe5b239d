"""The activations' fewer-pass kernels (issue 17) against torch at the benchmark's size and on
edge values: relu's bit-mask gradient and unpooled output, leaky ReLU's mask, ELU's one-pass
blend for 0 < alpha <= 1 and its kept ``min(x, 0)``, GELU's ``|[x >= 0] - q|`` (SiLU:
unchanged kernels, checked at the same size and with its output modified in place)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.ops._bitmask import where_or_zero
from ember.ops._erfc import gelu_f32

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, -1e-30, 88.0, -88.0]


def _x_and_g(shape: tuple, dtype, seed: int = 0) -> tuple:
    """A random batch with every special value sprinkled in, and a gradient with inf, -inf,
    NaN and negative entries (some at positions a mask drops)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    flat_x, flat_g = x.reshape(-1), g.reshape(-1)
    for i, v in enumerate(SPECIALS):
        flat_x[i * 37 :: 1009] = v
    for i, v in enumerate([np.inf, -np.inf, np.nan]):
        flat_g[i * 53 + 5 :: 211] = v
    return x, g


def _fwd_bwd(efn, tfn, x: np.ndarray, g: np.ndarray) -> tuple:
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = efn(xe), tfn(xt)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    return ye.detach().numpy(), yt.detach().numpy(), xe.grad.numpy(), xt.grad.numpy()


def _assert_same_bits_or_nan(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values with equal zero signs; NaN where torch has NaN."""
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    np.testing.assert_array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 1024), (128, 1024), (7, 5)])
def test_relu_bit_mask_gradient_is_torchs_bit_for_bit(shape, dtype):
    # A dropped inf/NaN/negative gradient gives +0. (torch's select), a kept one its own bits.
    x, g = _x_and_g(shape, dtype)
    y, yt, gx, gt = _fwd_bwd(F.relu, TF.relu, x, g)
    _assert_same_bits_or_nan(y, yt)
    _assert_same_bits_or_nan(gx, gt)


def test_relu_unpooled_output_keeps_a_channels_last_layout():
    # Up to 512 KB the output is a plain allocation (no longer the pool's array in x's layout):
    # NumPy's maximum keeps the input's memory order.
    mem = np.random.default_rng(3).standard_normal((8, 16, 16, 32)).astype(np.float32)
    mem.flat[::101] = -0.0
    x = np.moveaxis(mem, -1, 1)  # NCHW view of channels-last memory, 256 KB
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = F.relu(xe), TF.relu(xt)
    assert ye.permute(0, 2, 3, 1).is_contiguous()
    _assert_same_bits_or_nan(ye.detach().numpy(), yt.detach().numpy())
    g = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    _assert_same_bits_or_nan(xe.grad.numpy(), xt.grad.numpy())
    # the gradient is selected in the mask's (the output's) layout: no copy into x's layout
    assert xe.grad.permute(0, 2, 3, 1).is_contiguous()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_where_or_zero_selects_bits(dtype):
    g = np.array([1.5, -2.0, np.inf, -np.inf, np.nan, -0.0, 3.0, -4.0], dtype)
    cond = np.array([True, False, False, False, False, True, True, False])
    got = where_or_zero(g, cond)
    want = np.where(cond, g, np.zeros((), dtype))
    assert got.dtype == dtype
    _assert_same_bits_or_nan(got, want)
    out = np.full(8, 7.0, dtype)
    assert where_or_zero(g, cond, out) is out
    _assert_same_bits_or_nan(out, want)
    # a gradient broadcast to the mask, and a 0-d one
    wide = where_or_zero(np.broadcast_to(g[:1], (2, 8)), np.stack([cond, ~cond]))
    _assert_same_bits_or_nan(wide, np.where(np.stack([cond, ~cond]), g[0], 0).astype(dtype))
    _assert_same_bits_or_nan(where_or_zero(g[6:7].reshape(()), cond), np.where(cond, 3.0, 0))
    # all finite: a dropped negative gradient is +0. (torch's select), not -1 * 0 = -0.
    got = where_or_zero(np.array([-1.0, 2.0, -3.0], dtype), np.array([False, True, False]))
    np.testing.assert_array_equal(np.signbit(got), [False, False, False])


def test_where_or_zero_complex_keeps_the_multiply_path():
    g = np.array([1 + 2j, np.inf + 0j, 3j], np.complex64)
    cond = np.array([True, False, True])
    np.testing.assert_array_equal(where_or_zero(g, cond), [1 + 2j, 0, 3j])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_mask_gradient(slope, dtype):
    x, g = _x_and_g((64, 1024), dtype, seed=1)
    y, yt, gx, gt = _fwd_bwd(
        lambda t: F.leaky_relu(t, slope), lambda t: TF.leaky_relu(t, slope), x, g
    )
    _assert_same_bits_or_nan(y, yt)
    # slope + (1 - slope) rounds to 1 or one ulp off it: gradients to an ulp
    nan = np.isnan(gt)
    np.testing.assert_array_equal(np.isnan(gx), nan)
    np.testing.assert_allclose(gx[~nan], gt[~nan], rtol=2e-7 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.01, 1.5])
def test_elu_one_pass_blend(alpha, dtype):
    # 0 < alpha <= 1: max(alpha expm1(min(x, 0)), x); alpha 1.5 takes the two-array form.
    x, g = _x_and_g((64, 1024), dtype, seed=2)
    x.reshape(-1)[:6] = [-1e-45, -4e-45, -1e-310 if dtype == np.float64 else -1e-44, 1e-45, 0, -0.0]
    y, yt, gx, gt = _fwd_bwd(lambda t: F.elu(t, alpha), lambda t: TF.elu(t, alpha), x, g)
    # (atol: subnormal results, where expm1's last bit is a relative 1e-5)
    tol = dict(rtol=1e-6, atol=1e-44) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-320)
    nan = np.isnan(yt)
    np.testing.assert_array_equal(np.isnan(y), nan)
    np.testing.assert_allclose(y[~nan], yt[~nan], **tol)
    zero = yt == 0  # -0. for x = -0. and for alpha x rounding to -0., as torch
    np.testing.assert_array_equal(np.signbit(y[zero]), np.signbit(yt[zero]))
    # (at a NaN input torch's vectorised and scalar loops differ: compared elsewhere)
    ok = ~np.isnan(x)
    gx, gt = gx[ok], gt[ok]
    nan = np.isnan(gt)
    np.testing.assert_array_equal(np.isnan(gx), nan)
    np.testing.assert_allclose(gx[~nan], gt[~nan], **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silu_at_the_benchmark_size(dtype):
    x, g = _x_and_g((64, 1024), dtype, seed=3)
    y, yt, gx, gt = _fwd_bwd(F.silu, TF.silu, x, g)
    # (near the derivative's zero at x = -1.28 both cancel: absolute tolerance there)
    tol = dict(rtol=2e-6, atol=2e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    for got, want in ((y, yt), (gx, gt)):
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan)
        np.testing.assert_allclose(got[~nan], want[~nan], **tol)


def test_silu_output_modified_in_place_before_backward():
    # The backward must not read the output (a kept y would save a divide): torch allows an
    # in-place change of the output before backward, and so does ember.
    v = [-3.0, -0.5, 0.0, 0.5, 2.0]
    xe = ember.tensor(v, requires_grad=True)
    xt = torch.tensor(v, requires_grad=True)
    ye, yt = F.silu(xe), TF.silu(xt)
    ye.mul_(2)
    yt.mul_(2)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    # in place on a non-leaf with grad, then twice differentiable
    xe = ember.tensor(v, requires_grad=True)
    xt = torch.tensor(v, requires_grad=True)
    ye, yt = F.silu(xe * 1, inplace=True), TF.silu(xt * 1, inplace=True)
    (ge,) = ember.autograd.grad(ye.sum(), xe, create_graph=True)
    (gt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy(), rtol=1e-6)
    ge.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5)


def test_silu_without_grad():
    with ember.no_grad():
        y = F.silu(ember.tensor([-1.0, 0.0, 1.0]))
    want = TF.silu(torch.tensor([-1.0, 0.0, 1.0])).numpy()
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)


def test_gelu_f32_cdf_blend_edges():
    # |[x >= 0] - q|: q below 0 (-0. counts as below, Phi = 1/2 either way), 1 - q from 0 on
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, -40.0, 40.0], np.float32)
    out, d = gelu_f32(x, True)
    np.testing.assert_array_equal(np.signbit(out[:2]), [False, True])
    assert out[2] == np.inf and np.isnan(out[3]) and np.isnan(out[4])
    np.testing.assert_array_equal(out[5:], [0.0, -0.0, -0.0, 40.0])
    np.testing.assert_array_equal(d[[0, 1, 5, 7, 8]], [0.5, 0.5, 0.5, 0.0, 1.0])
    # the forward alone gives the same values
    np.testing.assert_array_equal(gelu_f32(x, False)[0], out)


def test_gelu_benchmark_batch_matches_torch():
    x, g = _x_and_g((64, 1024), np.float32, seed=4)
    finite = np.isfinite(x)
    x[~finite] = 0.5  # (+inf: ember inf, torch NaN, docs/differences.md)
    # (an infinite gradient where x phi(x) underflows: torch inf * 0 = NaN, ember's saved
    # derivative Phi + x phi times inf: unchanged here, compared on finite gradients)
    g[~np.isfinite(g)] = 2.0
    y, yt, gx, gt = _fwd_bwd(F.gelu, TF.gelu, x, g)
    # (torch's 1 + erf cancels in the left tail: ~1e-6 absolute there)
    np.testing.assert_allclose(y, yt, rtol=1e-5, atol=5e-6)
    nan = np.isnan(gt)
    np.testing.assert_array_equal(np.isnan(gx), nan)
    np.testing.assert_allclose(gx[~nan], gt[~nan], rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize(
    "name, efn, tfn",
    [
        ("relu", F.relu, TF.relu),
        ("leaky_relu", F.leaky_relu, TF.leaky_relu),
        ("elu", F.elu, TF.elu),
        ("elu_05", lambda t: F.elu(t, 0.5), lambda t: TF.elu(t, 0.5)),
        ("selu", F.selu, TF.selu),
        ("gelu", F.gelu, TF.gelu),
    ],
)
def test_bfloat16_as_torch(name, efn, tfn):
    pytest.importorskip("ml_dtypes")
    x = np.random.default_rng(6).standard_normal(4096).astype(np.float32) * 3
    x[:4] = [0.0, -0.0, 1e-30, -1e-30]
    xe = ember.tensor(x).to(ember.bfloat16).requires_grad_()
    xt = torch.tensor(x).to(torch.bfloat16).requires_grad_()
    ye, yt = efn(xe), tfn(xt)
    assert ye.dtype == ember.bfloat16
    ye.float().sum().backward()
    yt.float().sum().backward()
    got = (ye.float().detach().numpy(), xe.grad.float().numpy())
    want = (yt.float().detach().numpy(), xt.grad.float().numpy())
    for a, b in zip(got, want):
        if name == "gelu":  # (torch's 1 + erf cancels in the left tail, docs/differences.md)
            np.testing.assert_allclose(a, b, rtol=8e-3, atol=1e-4)
        else:
            _assert_same_bits_or_nan(a, b)
