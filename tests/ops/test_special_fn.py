"""The NumPy-only special functions (``ember.ops.special_fn``) against PyTorch over wide ranges:
values to float64 rounding (relative error a few ulps; absolute near a root), the poles and the
infinities, NaN, float32 and integer inputs, and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import special_fn as SF
from tests.ops._cases import case, d, f, i, pos, run_case

RNG = np.random.default_rng(7)
POLES = [0.0, -0.0, -1.0, -2.0, -7.0, -100.0]
SPECIAL = [np.inf, -np.inf, np.nan, 1e-300, -1e-300, 1e-8, 0.5, -0.5, 1.0, 2.0, 10.0, 1e17, 1e300]


def _wide(n: int = 3000) -> np.ndarray:
    """Values spread over the whole float64 range, both signs, with the special points."""
    return np.concatenate(
        [
            RNG.uniform(-60, 60, n),
            RNG.uniform(-3, 3, n),
            10.0 ** RNG.uniform(-12, 300, n // 3),
            -(10.0 ** RNG.uniform(-12, 3, n // 3)) + 0.25,
            POLES,
            SPECIAL,
        ]
    )


def _agree(ours: np.ndarray, theirs: np.ndarray, rel: float, abs_: float = 0.0) -> None:
    """Same NaNs, same infinities (with sign), finite values within ``rel`` (or ``abs_``)."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    inf = np.isinf(theirs)
    np.testing.assert_array_equal(ours[inf], theirs[inf])
    fin = np.isfinite(theirs)
    np.testing.assert_allclose(ours[fin], theirs[fin], rtol=rel, atol=abs_)


KERNELS = [
    pytest.param(SF.lgamma_np, torch.lgamma, 4e-15, 1e-15, id="lgamma"),
    pytest.param(SF.digamma_np, torch.digamma, 4e-15, 1e-15, id="digamma"),
    pytest.param(SF.trigamma_np, lambda t: torch.polygamma(1, t), 4e-15, 0.0, id="trigamma"),
    pytest.param(SF.i0_np, torch.i0, 4e-15, 0.0, id="i0"),
    pytest.param(SF.i0e_np, torch.special.i0e, 4e-15, 0.0, id="i0e"),
    pytest.param(SF.i1_np, torch.special.i1, 4e-15, 0.0, id="i1"),
    pytest.param(SF.i1e_np, torch.special.i1e, 4e-15, 0.0, id="i1e"),
]


@pytest.mark.parametrize("kernel, reference, rel, abs_", KERNELS)
def test_kernel_matches_torch_over_the_float64_range(kernel, reference, rel, abs_):
    x = _wide()
    _agree(kernel(x), reference(torch.tensor(x)).numpy(), rel, abs_)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8])
def test_polygamma_kernel_matches_torch(n):
    x = _wide()
    x = x[np.abs(x) < 1e10]  # beyond that PyTorch's zeta underflows the same way; both 0
    _agree(SF.polygamma_np(n, x), torch.polygamma(n, torch.tensor(x)).numpy(), 1e-14, 1e-300)


def test_erfinv_kernel_matches_torch_including_the_far_tails():
    y = np.concatenate(
        [
            RNG.uniform(-1, 1, 4000),
            1 - 10.0 ** RNG.uniform(-16, -1, 500),
            -1 + 10.0 ** RNG.uniform(-16, -1, 500),
            10.0 ** RNG.uniform(-300, -1, 300),
            [0.0, -0.0, 1.0, -1.0, 1.5, -2.0, np.nan, np.nextafter(1.0, 0.0), 1 - 2**-52],
        ]
    )
    _agree(SF.erfinv_np(y), torch.erfinv(torch.tensor(y)).numpy(), 1e-15)


def test_lgamma_near_its_roots_one_and_two_is_accurate():
    x = np.linspace(0.5, 2.5, 4001)
    _agree(SF.lgamma_np(x), torch.lgamma(torch.tensor(x)).numpy(), 1e-13, 3e-16)
    assert SF.lgamma_np(np.array([1.0, 2.0])).tolist() == [0.0, 0.0]


def test_hurwitz_zeta_domain():
    z = SF.zeta_np(np.array([1.0, 0.5, 2.0, 2.0, 2.5]), np.array([1.0, 1.0, -2.0, -1.5, -1.5]))
    assert z[0] == np.inf and np.isnan(z[1]) and z[2] == np.inf and np.isnan(z[4])
    assert z[3] == pytest.approx(torch.special.zeta(torch.tensor(2.0), torch.tensor(-1.5)).item())
    assert SF.zeta_np(2.0, np.array(1.0)) == pytest.approx(np.pi**2 / 6, rel=1e-15)


UNARY = [
    ("lgamma", lambda m, x: m.lgamma(x)),
    ("digamma", lambda m, x: m.digamma(x)),
    ("polygamma1", lambda m, x: m.polygamma(1, x)),
    ("polygamma3", lambda m, x: m.polygamma(3, x)),
    ("polygamma_method", lambda m, x: x.polygamma(2)),
    ("i0", lambda m, x: m.i0(x)),
    ("i0_method", lambda m, x: x.i0()),
    ("lgamma_method", lambda m, x: x.lgamma()),
    ("digamma_method", lambda m, x: x.digamma()),
]

CASES = [case(f"{name}_f64", fn, d(3, 4, low=-6, high=6), rtol=1e-12) for name, fn in UNARY]
CASES += [case(f"{name}_f32", fn, f(3, 4, low=-6, high=6), rtol=1e-5) for name, fn in UNARY]
CASES += [case(f"{name}_int", fn, i(5, low=1, high=9), rtol=1e-6) for name, fn in UNARY]
CASES += [
    case("erfinv_f64", lambda m, x: m.erfinv(x), d(3, 4, low=-0.99, high=0.99), rtol=1e-12),
    case("erfinv_f32", lambda m, x: x.erfinv(), f(3, 4, low=-0.99, high=0.99)),
    case("erfinv_int", lambda m, x: m.erfinv(x), i(5, low=-1, high=1)),
    case("erfinv_0d", lambda m, x: m.erfinv(x), d(low=-0.5, high=0.5), rtol=1e-12),
    case("i0_large", lambda m, x: m.i0(x), d(4, low=20, high=700), rtol=1e-12),
    case("i0_f32_large", lambda m, x: m.i0(x), f(4, low=20, high=80)),
    case("xlogy", lambda m, x, y: m.xlogy(x, y), d(3, 4), pos(3, 4), rtol=1e-12),
    case("xlogy_bcast", lambda m, x, y: m.xlogy(x, y), f(3, 1), pos(4)),
    case("xlogy_zero_x", lambda m, x, y: m.xlogy(x * 0, y), d(3), d(3), rtol=1e-12),
    case("xlogy_scalar_x", lambda m, y: m.xlogy(2.0, y), pos(3)),
    case("xlogy_scalar_y", lambda m, x: m.xlogy(x, 3), f(3)),
    case("xlogy_method", lambda m, x, y: x.xlogy(y), f(3), pos(3)),
    case("xlogy_int", lambda m, x, y: m.xlogy(x, y), i(4, low=0, high=3), i(4, low=0, high=3)),
    case("xlogy_int_float", lambda m, x, y: m.xlogy(x, y), i(4, low=0, high=3), pos(4)),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", CASES)
def test_special_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


EDGES = [
    ("lgamma", lambda m: m.lgamma(m.tensor([0.0, -0.0, -1.0, -2.5, float("inf"), -float("inf")]))),
    ("digamma", lambda m: m.digamma(m.tensor([0.0, -0.0, -1.0, -2.5, float("inf"), 1e-30]))),
    ("polygamma", lambda m: m.polygamma(2, m.tensor([0.0, -1.0, -1.5, float("inf"), 1e-5]))),
    ("erfinv", lambda m: m.erfinv(m.tensor([1.0, -1.0, 1.5, -0.0, float("nan")]))),
    ("i0", lambda m: m.i0(m.tensor([0.0, 800.0, -800.0, float("inf"), float("nan")]))),
    (
        "xlogy",
        lambda m: m.xlogy(m.tensor([0.0, 0.0, 1.0, 0.0]), m.tensor([0.0, -1.0, 0.0, 1e-320])),
    ),
    ("xlogy_nan", lambda m: m.xlogy(m.tensor([0.0, float("nan")]), m.tensor([float("nan"), 1.0]))),
]


@pytest.mark.parametrize("fn", [e[1] for e in EDGES], ids=[e[0] for e in EDGES])
def test_edge_values_match_torch(fn):
    _agree(fn(ember).numpy(), fn(torch).numpy(), 1e-6)
    assert fn(ember).dtype.name == str(fn(torch).dtype).replace("torch.", "")


GRAD_EDGES = [
    ("xlogy_at_x_zero", lambda m, x, y: m.xlogy(x, y), [0.0, 0.0, 2.0], [-1.0, 3.0, 0.5]),
    ("erfinv_tail", lambda m, x, y: m.erfinv(x) * y, [0.999999, -0.9999999, 0.0], [1.0, 2.0, 3.0]),
    ("digamma_negative", lambda m, x, y: m.digamma(x) + y, [-0.5, -3.7, 1e-3], [1.0, 1.0, 1.0]),
    ("i0_large", lambda m, x, y: m.i0(x) * y, [30.0, -50.0, 0.0], [1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("fn, xs, ys", [g[1:] for g in GRAD_EDGES], ids=[g[0] for g in GRAD_EDGES])
def test_gradients_at_edges_match_torch(fn, xs, ys):
    xe = ember.tensor(xs, dtype=ember.float64, requires_grad=True)
    ye = ember.tensor(ys, dtype=ember.float64, requires_grad=True)
    xt = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(ys, dtype=torch.float64, requires_grad=True)
    fn(ember, xe, ye).sum().backward()
    fn(torch, xt, yt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ye.grad.numpy(), yt.grad.numpy(), rtol=1e-10)


def test_polygamma_refuses_bad_order_as_torch():
    for bad, exc in ((-1, RuntimeError), (1.5, TypeError)):
        with pytest.raises(exc):
            torch.polygamma(bad, torch.ones(2))
        with pytest.raises(exc):
            ember.polygamma(bad, ember.ones(2))


def test_no_numpy_warning_escapes():
    import warnings

    x = ember.tensor([0.0, -1.0, float("nan"), float("inf"), -float("inf"), 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (ember.lgamma, ember.digamma, ember.erfinv, ember.i0, SF.i1, SF.i1e, SF.i0e):
            fn(x)
        ember.polygamma(3, x)
        ember.xlogy(x, x)
