"""ember.special's incomplete gamma functions, Bessel functions and orthogonal polynomials
against torch.special: values over wide ranges, special points, dtypes, gradients (where torch
has them) and non-differentiable results (where it has none)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.ops._cases import case, d, f, run_case

RNG = np.random.default_rng(7)


def _both(name: str, *arrays: np.ndarray, **kw):
    e = getattr(ember.special, name)(*[ember.tensor(a) for a in arrays], **kw)
    t = getattr(torch.special, name)(*[torch.tensor(a) for a in arrays], **kw)
    return np.asarray(e._data), t.numpy(), e, t


# torch's incomplete gamma uses Temme's expansion near a = x (~1e-9 relative); ember's series
# and continued fraction agree with 30-digit references to ~1e-14 there.
GAMMA = dict(rtol=1e-8, atol=1e-300)
CASES = [
    case(
        "gammainc",
        lambda m, a, x: m.special.gammainc(a.detach(), x),
        d(40, low=0.05, high=30),
        d(40, low=0.01, high=40),
        **GAMMA,
    ),
    case(
        "gammaincc",
        lambda m, a, x: m.special.gammaincc(a.detach(), x),
        d(40, low=0.05, high=30),
        d(40, low=0.01, high=40),
        **GAMMA,
    ),
    case(
        "gammainc_f32",
        lambda m, a, x: m.special.gammainc(a.detach(), x),
        f(20, low=0.5, high=9),
        f(20, low=0.1, high=9),
        rtol=1e-5,
    ),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", CASES)
def test_incomplete_gamma_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


def test_incomplete_gamma_takes_tensors_only():
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="argument 'input' \\(position 1\\) must be Tensor"):
            lib.special.gammainc(2.5, lib.ones(2))


def test_incomplete_gamma_edges_and_errors():
    a = np.array([0.0, 0.0, -1.0, np.inf, np.inf, 1.0, 2.0, np.nan, 3.0, 1e4, 0.5])
    x = np.array([1.0, 0.0, 1.0, 1.0, np.inf, np.inf, 0.0, 1.0, -1.0, 1e4 + 3, 1e-300])
    for name in ("gammainc", "gammaincc"):
        e, t, *_ = _both(name, a, x)
        np.testing.assert_allclose(e, t, rtol=1e-8, equal_nan=True, err_msg=name)
    for name, tname in (("gammainc", "igamma"), ("gammaincc", "igammac")):
        for lib in (ember, torch):
            a_ = lib.tensor([1.5], requires_grad=True)
            with pytest.raises(NotImplementedError, match=f"derivative for '{tname}: input'"):
                getattr(lib.special, name)(a_, lib.tensor([2.0])).sum().backward()


X_WIDE = np.concatenate([RNG.uniform(-60, 60, 400), RNG.uniform(-3, 3, 200), [0.0, 25.0, -25.0]])
X_POS = np.concatenate([10 ** RNG.uniform(-6, 2.8, 400), [0.0, -1.0, np.inf, np.nan, 2.0, 30.0]])
BESSEL = [
    # torch's J/Y kernels are accurate to ~1e-7 absolute only; ember's agree with 30-digit
    # references to ~3e-13 relative (docs/differences.md).
    ("bessel_j0", X_WIDE, dict(rtol=0, atol=1e-6)),
    ("bessel_j1", X_WIDE, dict(rtol=0, atol=1e-6)),
    ("bessel_y0", X_POS[X_POS > 0.05], dict(rtol=1e-5, atol=1e-6)),
    ("bessel_y1", X_POS[X_POS > 0.05], dict(rtol=1e-5, atol=1e-6)),
    ("bessel_y0", np.array([0.0, -1.0, np.inf, np.nan]), dict(rtol=0)),
    ("modified_bessel_i0", X_WIDE, dict(rtol=1e-12)),
    ("modified_bessel_i1", X_WIDE, dict(rtol=1e-12)),
    ("modified_bessel_k0", X_POS, dict(rtol=1e-12)),
    ("modified_bessel_k1", X_POS, dict(rtol=1e-12)),
    ("scaled_modified_bessel_k0", X_POS, dict(rtol=1e-12)),
    ("scaled_modified_bessel_k1", X_POS, dict(rtol=1e-12)),
    # torch's Ai is good to ~3e-5 relative; ember's to ~4e-10 (series near 0, K_1/3 to the
    # right, the asymptotic expansion to the left).
    (
        "airy_ai",
        np.concatenate([RNG.uniform(-40, 30, 400), [0.0, np.inf, -np.inf, np.nan]]),
        dict(rtol=1e-4, atol=1e-12),
    ),
    ("spherical_bessel_j0", np.concatenate([X_WIDE, [1e-9, np.inf, np.nan]]), dict(rtol=1e-13)),
]


@pytest.mark.parametrize(
    "name, x, tol",
    BESSEL,
    ids=[b[0] for b in BESSEL[:4]] + ["y0_edges"] + [b[0] for b in BESSEL[5:]],
)
def test_bessel_values(name, x, tol):
    e, t, *_ = _both(name, x)
    np.testing.assert_allclose(e, t, equal_nan=True, **tol)


def test_bessel_and_polynomials_do_not_require_grad_as_in_torch():
    for name in ("bessel_j0", "modified_bessel_k1", "spherical_bessel_j0"):
        e = getattr(ember.special, name)(ember.tensor([0.5], requires_grad=True))
        t = getattr(torch.special, name)(torch.tensor([0.5], requires_grad=True))
        assert e.requires_grad is t.requires_grad is False
    e = ember.special.legendre_polynomial_p(ember.tensor([0.5], requires_grad=True), 3)
    assert not e.requires_grad


POLYS = [
    n
    for n in dir(torch.special)
    if n.endswith(
        (
            "_polynomial_t",
            "_polynomial_u",
            "_polynomial_v",
            "_polynomial_w",
            "_polynomial_h",
            "_polynomial_he",
            "_polynomial_l",
            "_polynomial_p",
        )
    )
]


@pytest.mark.parametrize("name", POLYS)
def test_polynomials(name):
    assert hasattr(ember.special, name)
    x = np.concatenate([RNG.uniform(-1.5, 1.5, 300), [1.0, -1.0, 0.0, 0.5, 2.0, -2.0]])
    n = np.concatenate([RNG.integers(-2, 15, 300), [3, 4, 5, 11, 12, 9]]).astype(np.float64)
    e, t, *_ = _both(name, x, n)
    np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    e, t, et, tt = _both(name, x.astype(np.float32), np.float64(3.7))  # scalar n, truncated
    assert et.dtype is ember.float32 and tt.dtype == torch.float32
    np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
    ei = getattr(ember.special, name)(ember.tensor([1, 2]), 3)
    ti = getattr(torch.special, name)(torch.tensor([1, 2]), 3)
    assert ei.dtype is ember.float32
    np.testing.assert_allclose(ei._data, ti.numpy(), rtol=1e-6)


# Delegations to ember's core elementwise ops (erf, log1p...) are those ops' business.
_CORE = {"erf", "log1p", "exp2", "expm1", "expit", "round", "softmax", "log_softmax", "logsumexp"}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_raise_no_numpy_warning_forward_or_backward(dtype):
    big = np.finfo(dtype).max / 10
    vals = np.array([0.0, -1.0, 1e-30, np.inf, -np.inf, np.nan, big, -big, 0.5, 2.0], dtype=dtype)
    for name in sorted(set(ember.special.__all__) - _CORE):
        fn = getattr(ember.special, name)
        x = ember.tensor(vals, requires_grad=True)
        if name in ("xlogy", "xlog1py", "gammainc", "gammaincc", "zeta"):
            y = fn(x.detach(), x)
        elif name == "polygamma":
            y = fn(2, x)
        elif name == "multigammaln":
            y = fn(x, 2)
        elif "polynomial" in name:
            y = fn(x, 5)
        else:
            y = fn(x)
        if y.requires_grad:
            y.backward(ember.ones_like(y))
