"""kl_divergence against torch for every registered pair (values and gradients, float64), the
registry (register_kl, dispatch to subclasses, ambiguity warning) and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.distributions._lib import assert_same, assert_same_grads, build

R = np.random.default_rng(4)


def _pos(*shape, lo=0.5, hi=2.5):
    return R.uniform(lo, hi, shape)


def _spd(n):
    a = R.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


PAIRS = [
    (
        "Normal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Normal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    ("Bernoulli", {"probs": R.uniform(0.1, 0.9, 3)}, "Bernoulli", {"logits": R.standard_normal(3)}),
    ("Categorical", {"probs": _pos(2, 4)}, "Categorical", {"logits": R.standard_normal((2, 4))}),
    (
        "OneHotCategorical",
        {"logits": R.standard_normal(4)},
        "OneHotCategorical",
        {"probs": _pos(4)},
    ),
    (
        "Beta",
        {"concentration1": _pos(3), "concentration0": _pos(3)},
        "Beta",
        {"concentration1": _pos(3), "concentration0": _pos(3)},
    ),
    (
        "Gamma",
        {"concentration": _pos(3), "rate": _pos(3)},
        "Gamma",
        {"concentration": _pos(3), "rate": _pos(3)},
    ),
    ("Dirichlet", {"concentration": _pos(2, 3)}, "Dirichlet", {"concentration": _pos(2, 3)}),
    ("Exponential", {"rate": _pos(3)}, "Exponential", {"rate": _pos(3)}),
    (
        "Laplace",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Laplace",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    ("Poisson", {"rate": _pos(3)}, "Poisson", {"rate": _pos(3)}),
    (
        "Uniform",
        {"low": np.array([0.0, -1.0]), "high": np.array([1.0, 1.0])},
        "Uniform",
        {"low": np.array([-1.0, 0.0]), "high": np.array([2.0, 3.0])},
    ),
    (
        "Geometric",
        {"probs": R.uniform(0.1, 0.9, 3)},
        "Geometric",
        {"probs": R.uniform(0.1, 0.9, 3)},
    ),
    (
        "Binomial",
        {"total_count": 5.0, "probs": R.uniform(0.1, 0.9, 3)},
        "Binomial",
        {"total_count": 5.0, "probs": R.uniform(0.1, 0.9, 3)},
    ),
    ("HalfNormal", {"scale": _pos(3)}, "HalfNormal", {"scale": _pos(3)}),
    (
        "Cauchy",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Cauchy",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    (
        "LogNormal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "LogNormal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    (
        "MultivariateNormal",
        {"loc": R.standard_normal(3), "covariance_matrix": _spd(3)},
        "MultivariateNormal",
        {"loc": R.standard_normal(3), "scale_tril": np.linalg.cholesky(_spd(3))},
    ),
    ("Exponential", {"rate": _pos(3)}, "Gamma", {"concentration": _pos(3), "rate": _pos(3)}),
    ("Gamma", {"concentration": _pos(3), "rate": _pos(3)}, "Exponential", {"rate": _pos(3)}),
    (
        "Gumbel",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Gumbel",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    (
        "Pareto",
        {"scale": _pos(3), "alpha": _pos(3)},
        "Pareto",
        {"scale": _pos(3), "alpha": _pos(3)},
    ),
    (
        "Normal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Laplace",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    (
        "Laplace",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
        "Normal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
    ("Bernoulli", {"probs": R.uniform(0.1, 0.9, 3)}, "Poisson", {"rate": _pos(3)}),
    (
        "Beta",
        {"concentration1": _pos(3), "concentration0": _pos(3)},
        "Uniform",
        {"low": np.array([0.0, -1.0, 0.2]), "high": np.array([1.0, 2.0, 1.0])},
    ),
    (
        "LowRankMultivariateNormal",
        {
            "loc": R.standard_normal(3),
            "cov_factor": R.standard_normal((2, 3, 2)),
            "cov_diag": _pos(3),
        },
        "LowRankMultivariateNormal",
        {
            "loc": R.standard_normal((2, 3)),
            "cov_factor": R.standard_normal((3, 1)),
            "cov_diag": _pos(2, 3),
        },
    ),
    (
        "MultivariateNormal",
        {"loc": R.standard_normal(3), "covariance_matrix": _spd(3)},
        "LowRankMultivariateNormal",
        {"loc": R.standard_normal(3), "cov_factor": R.standard_normal((3, 2)), "cov_diag": _pos(3)},
    ),
    (
        "LowRankMultivariateNormal",
        {
            "loc": R.standard_normal(3),
            "cov_factor": R.standard_normal((2, 3, 2)),
            "cov_diag": _pos(3),
        },
        "MultivariateNormal",
        {"loc": R.standard_normal(3), "scale_tril": np.linalg.cholesky(_spd(3))},
    ),
    (
        "Uniform",
        {"low": -_pos(3), "high": _pos(3)},
        "Normal",
        {"loc": R.standard_normal(3), "scale": _pos(3)},
    ),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{p[0]}-{p[2]}" for p in PAIRS])
def test_kl_matches_torch(pair):
    pn, pp, qn, qp = pair
    ep, ept = build(ember, pn, pp, grad=True)
    eq, eqt = build(ember, qn, qp, grad=True)
    tp, tpt = build(torch, pn, pp, grad=True)
    tq, tqt = build(torch, qn, qp, grad=True)
    ek = ember.distributions.kl_divergence(ep, eq)
    tk = torch.distributions.kl_divergence(tp, tq)
    assert_same(ek, tk, rtol=1e-8, atol=1e-10, what="kl")
    if np.isfinite(tk.detach().numpy()).all():
        e_tensors = {
            **{"p_" + k: v for k, v in ept.items()},
            **{"q_" + k: v for k, v in eqt.items()},
        }
        t_tensors = {
            **{"p_" + k: v for k, v in tpt.items()},
            **{"q_" + k: v for k, v in tqt.items()},
        }
        assert_same_grads(ek, e_tensors, tk, t_tensors, rtol=1e-6, atol=1e-9, what="kl")


def test_kl_of_independent_normals_matches_torch():
    a, b = R.standard_normal((2, 3)), _pos(2, 3)
    c, d = R.standard_normal((2, 3)), _pos(2, 3)
    out = []
    for lib in (ember, torch):
        D = lib.distributions
        p = D.Independent(D.Normal(lib.tensor(a), lib.tensor(b)), 1)
        q = D.Independent(D.Normal(lib.tensor(c), lib.tensor(d)), 1)
        out.append(D.kl_divergence(p, q))
    assert_same(*out, rtol=1e-10)


def test_kl_infinite_where_supports_do_not_nest_as_torch():
    for lib in (ember, torch):
        D = lib.distributions
        p = D.Uniform(lib.tensor([0.0, 0.0]), lib.tensor([2.0, 1.0]))
        q = D.Uniform(lib.tensor([0.0, 0.0]), lib.tensor([1.0, 2.0]))
        kl = D.kl_divergence(p, q).tolist()
        assert kl[0] == float("inf") and kl[1] == pytest.approx(np.log(2.0), rel=1e-6)


def test_unregistered_pair_raises_not_implemented_as_torch():
    for lib in (ember, torch):
        D = lib.distributions
        with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented"):
            D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))


def test_register_kl_dispatches_to_subclasses_and_checks_types():
    D = ember.distributions

    class MyNormal(D.Normal):
        pass

    # A subclass uses its parent's registered formula...
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)
    assert D.kl_divergence(p, q).item() == pytest.approx(0.5)

    # ... until a more specific one is registered.
    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return ember.tensor(42.0)

    assert D.kl_divergence(p, q).item() == 42.0
    for bad in ("Normal", 3):
        with pytest.raises(TypeError):
            D.register_kl(bad, D.Normal)
        with pytest.raises(TypeError):
            torch.distributions.register_kl(bad, torch.distributions.Normal)


def test_ambiguous_registration_warns_as_torch():
    for lib in (ember, torch):
        D = lib.distributions

        class A(D.Normal):
            pass

        class B(D.Normal):
            pass

        D.register_kl(A, D.Normal)(lambda p, q, lib=lib: lib.tensor(1.0))
        D.register_kl(D.Normal, B)(lambda p, q, lib=lib: lib.tensor(2.0))
        with pytest.warns(RuntimeWarning, match="Ambiguous kl_divergence"):
            D.kl_divergence(A(0.0, 1.0), B(0.0, 1.0))
