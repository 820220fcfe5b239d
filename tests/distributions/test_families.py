"""Every family against torch.distributions (float64): log_prob, cdf, icdf, entropy, mean,
mode, variance, stddev, shapes, expand, and the gradient of each with respect to every
parameter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.distributions._lib import assert_same, build, grads_of

R = np.random.default_rng(0)


def _pos(*shape, lo=0.5, hi=2.5):
    return R.uniform(lo, hi, shape)


def _real(*shape):
    return R.standard_normal(shape)


def _simplex(*shape):
    p = R.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def _spd(n, batch=()):
    a = R.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(n, batch=()):
    a = np.tril(R.standard_normal(batch + (n, n)))
    idx = np.arange(n)
    a[..., idx, idx] = np.abs(a[..., idx, idx]) + 0.5
    return a


# (id, family, parameters, values at which to evaluate log_prob/cdf, probabilities for icdf)
CASES = [
    ("Normal", "Normal", {"loc": _real(3, 2), "scale": _pos(3, 2)}, _real(4, 3, 2), True),
    ("Normal-scalar", "Normal", {"loc": 0.5, "scale": 2.0}, _real(5), True),
    ("Normal-bcast", "Normal", {"loc": _real(3, 1), "scale": _pos(4)}, _real(3, 4), True),
    ("Uniform", "Uniform", {"low": -_pos(3), "high": _pos(3)}, R.uniform(-0.4, 0.4, (2, 3)), True),
    ("Exponential", "Exponential", {"rate": _pos(4)}, _pos(2, 4), True),
    ("Laplace", "Laplace", {"loc": _real(4), "scale": _pos(4)}, _real(3, 4), True),
    ("Cauchy", "Cauchy", {"loc": _real(4), "scale": _pos(4)}, _real(3, 4), True),
    ("Gamma", "Gamma", {"concentration": _pos(4), "rate": _pos(4)}, _pos(3, 4), True),
    ("Chi2", "Chi2", {"df": _pos(4, lo=1, hi=5)}, _pos(3, 4), False),
    (
        "Beta",
        "Beta",
        {"concentration1": _pos(4), "concentration0": _pos(4)},
        R.uniform(0.05, 0.95, (3, 4)),
        False,
    ),  # fmt: skip
    ("Dirichlet", "Dirichlet", {"concentration": _pos(2, 3)}, _simplex(4, 2, 3), False),
    ("LogNormal", "LogNormal", {"loc": _real(4), "scale": _pos(4)}, _pos(3, 4), True),
    ("HalfNormal", "HalfNormal", {"scale": _pos(4)}, _pos(3, 4), True),
    (
        "StudentT",
        "StudentT",
        {"df": _pos(4, lo=2.5, hi=6), "loc": _real(4), "scale": _pos(4)},
        _real(3, 4),
        False,
    ),  # fmt: skip
    ("StudentT-lowdf", "StudentT", {"df": np.array([0.5, 1.5, 3.0])}, _real(3), False),
    (
        "Bernoulli-probs",
        "Bernoulli",
        {"probs": R.uniform(0.1, 0.9, (4,))},
        R.integers(0, 2, (3, 4)).astype(float),
        False,
    ),  # fmt: skip
    (
        "Bernoulli-logits",
        "Bernoulli",
        {"logits": _real(4)},
        R.integers(0, 2, (3, 4)).astype(float),
        False,
    ),  # fmt: skip
    (
        "Geometric",
        "Geometric",
        {"probs": R.uniform(0.1, 0.9, (4,))},
        R.integers(0, 6, (3, 4)).astype(float),
        False,
    ),  # fmt: skip
    (
        "Geometric-logits",
        "Geometric",
        {"logits": _real(4)},
        R.integers(0, 6, (3, 4)).astype(float),
        False,
    ),  # fmt: skip
    ("Poisson", "Poisson", {"rate": _pos(4, hi=6)}, R.integers(0, 8, (3, 4)).astype(float), False),
    (
        "Binomial-probs",
        "Binomial",
        {"total_count": 7.0, "probs": R.uniform(0.1, 0.9, (4,))},
        R.integers(0, 8, (3, 4)).astype(float),
        False,
    ),  # fmt: skip
    (
        "Binomial-logits",
        "Binomial",
        {"total_count": np.array([3.0, 5.0, 9.0, 9.0]), "logits": _real(4)},
        np.array([[0, 5, 2, 9], [3, 1, 9, 0.0]]),
        False,
    ),  # fmt: skip
    (
        "Categorical-probs",
        "Categorical",
        {"probs": R.uniform(0.1, 1, (2, 5))},
        R.integers(0, 5, (3, 2)),
        False,
    ),  # fmt: skip
    ("Categorical-logits", "Categorical", {"logits": _real(2, 5)}, R.integers(0, 5, (3, 2)), False),
    (
        "OneHotCategorical",
        "OneHotCategorical",
        {"logits": _real(2, 4)},
        np.eye(4)[R.integers(0, 4, (3, 2))],
        False,
    ),  # fmt: skip
    (
        "Multinomial",
        "Multinomial",
        {"total_count": 6, "probs": R.uniform(0.1, 1, (2, 4))},
        R.multinomial(6, [0.25] * 4, (3, 2)).astype(float),
        False,
    ),  # fmt: skip
    (
        "MVN-cov",
        "MultivariateNormal",
        {"loc": _real(2, 3), "covariance_matrix": _spd(3, (2,))},
        _real(4, 2, 3),
        False,
    ),  # fmt: skip
    (
        "MVN-precision",
        "MultivariateNormal",
        {"loc": _real(3), "precision_matrix": _spd(3)},
        _real(4, 3),
        False,
    ),  # fmt: skip
    ("Gumbel", "Gumbel", {"loc": _real(4), "scale": _pos(4)}, _real(3, 4), True),
    ("Gumbel-scalar", "Gumbel", {"loc": 0.5, "scale": 2.0}, _real(3), True),
    (
        "Pareto",
        "Pareto",
        {"scale": _pos(4), "alpha": _pos(4, lo=0.5, hi=4)},
        _pos(3, 4, lo=2.6, hi=5),
        True,
    ),
    ("Weibull", "Weibull", {"scale": _pos(4), "concentration": _pos(4)}, _pos(3, 4), True),
    (
        "NegativeBinomial",
        "NegativeBinomial",
        {"total_count": _pos(4, lo=0.5, hi=6), "probs": R.uniform(0.1, 0.9, (4,))},
        R.integers(0, 9, (3, 4)).astype(float),
        False,
    ),
    (
        "NegativeBinomial-logits",
        "NegativeBinomial",
        {"total_count": np.array([0.0, 2.0, 5.0]), "logits": _real(3)},
        np.array([[0.0, 3.0, 1.0], [0.0, 0.0, 7.0]]),
        False,
    ),
    (
        "LowRankMVN",
        "LowRankMultivariateNormal",
        {"loc": _real(2, 3), "cov_factor": _real(3, 2), "cov_diag": _pos(2, 3)},
        _real(4, 2, 3),
        False,
    ),
    (
        "MVN-tril",
        "MultivariateNormal",
        {"loc": _real(3), "scale_tril": _tril(3, (2,))},
        _real(4, 2, 3),
        False,
    ),  # fmt: skip
]
IDS = [c[0] for c in CASES]


def _pair(case, grad=True):
    _, name, params, *_ = case
    e, et = build(ember, name, params, grad=grad)
    t, tt = build(torch, name, params, grad=grad)
    return e, et, t, tt


def _fn_pairs(case):
    """(what, ember function, torch function) of every quantity torch defines for this family."""
    _, _, _, values, has_icdf = case
    out = []
    for attr in ("mean", "mode", "variance", "stddev"):
        out.append((attr, lambda d, lib, a=attr: getattr(d, a)))
    out.append(("entropy", lambda d, lib: d.entropy()))
    out.append(("log_prob", lambda d, lib: d.log_prob(lib.tensor(values))))
    if has_icdf:
        out.append(("cdf", lambda d, lib: d.cdf(lib.tensor(values))))
        probs = np.random.default_rng(9).uniform(0.05, 0.95, values.shape)
        out.append(("icdf", lambda d, lib: d.icdf(lib.tensor(probs))))
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shapes_and_support(case):
    e, _, t, _ = _pair(case, grad=False)
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    assert e.has_rsample == t.has_rsample
    assert e.has_enumerate_support == t.has_enumerate_support
    assert type(e.support).__name__ == type(t.support).__name__
    for shape in [(), (5,), (2, 3)]:
        assert tuple(e.sample(shape).shape) == tuple(t.sample(shape).shape)
    assert e.sample().dtype.is_floating_point == t.sample().dtype.is_floating_point
    assert repr(e).split("(")[0] == repr(t).split("(")[0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_and_gradients_match_torch(case):
    for what, fn in _fn_pairs(case):
        e, et, t, tt = _pair(case)
        try:
            tv = fn(t, torch)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                fn(e, ember)
            continue
        ev = fn(e, ember)
        assert_same(ev, tv, rtol=1e-6, atol=1e-9, what=f"{case[0]}.{what}")
        if tv.requires_grad and np.isfinite(tv.detach().numpy()).all():
            assert ev.requires_grad, f"{what} lost the graph"
            try:
                gt = grads_of(tv, tt)
            except NotImplementedError:  # e.g. Gamma.cdf in the concentration, as torch
                with pytest.raises(NotImplementedError):
                    grads_of(ev, et)
                continue
            ge = grads_of(ev, et)
            assert set(ge) == set(gt)
            for k in gt:
                assert (ge[k] is None) == (gt[k] is None), f"{case[0]}.{what} d/d{k}: None-ness"
                if gt[k] is not None:
                    assert_same(ge[k], gt[k], rtol=1e-5, atol=1e-8, what=f"{case[0]}.{what} d/d{k}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expand_matches_torch(case):
    e, _, t, _ = _pair(case, grad=False)
    new_batch = (2,) + tuple(t.batch_shape)
    ee, te = e.expand(new_batch), t.expand(new_batch)
    assert tuple(ee.batch_shape) == tuple(te.batch_shape) == new_batch
    assert type(ee) is type(e)
    values = te.sample().numpy()
    assert_same(ee.log_prob(ember.tensor(values)), te.log_prob(torch.tensor(values)), 1e-6, 1e-9)
    assert tuple(ee.sample((3,)).shape) == tuple(te.sample((3,)).shape)


ENUMERABLE = [
    c for c in CASES if c[1] in ("Bernoulli", "Binomial", "Categorical", "OneHotCategorical")
]


@pytest.mark.parametrize("case", ENUMERABLE, ids=[c[0] for c in ENUMERABLE])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support_matches_torch(case, expand):
    e, _, t, _ = _pair(case, grad=False)
    try:
        tv = t.enumerate_support(expand)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            e.enumerate_support(expand)
        return
    assert_same(e.enumerate_support(expand), tv)


def test_lazy_probs_and_logits_match_torch():
    logits = R.standard_normal((3, 4))
    for name in ("Categorical", "OneHotCategorical"):
        e, _ = build(ember, name, {"logits": logits})
        t, _ = build(torch, name, {"logits": logits})
        assert_same(e.probs, t.probs)
        assert_same(e.logits, t.logits)
    probs = R.uniform(0.01, 0.99, (4,))
    for name in ("Bernoulli", "Geometric"):
        e, _ = build(ember, name, {"probs": probs})
        t, _ = build(torch, name, {"probs": probs})
        assert_same(e.logits, t.logits)


def test_gamma_cdf_gradient_in_the_value_matches_torch():
    """The CDF's derivative in the value is the density; in the concentration neither library
    implements it."""
    grads = []
    for lib in (ember, torch):
        x = lib.tensor([0.3, 1.0, 4.0], dtype=lib.float64, requires_grad=True)
        d = lib.distributions.Gamma(lib.tensor([0.5, 2.0, 7.0], dtype=lib.float64), 1.5)
        d.cdf(x).sum().backward()
        grads.append(x.grad)
    assert_same(grads[0], grads[1], rtol=1e-9)


def test_perplexity_and_sample_n():
    e = ember.distributions.Normal(
        ember.zeros(2, dtype=ember.float64), ember.ones(2, dtype=ember.float64)
    )
    t = torch.distributions.Normal(
        torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    )
    assert_same(e.perplexity(), t.perplexity())
    with pytest.warns(UserWarning):
        assert tuple(e.sample_n(4).shape) == (4, 2)


def test_float32_parameters_give_float32_results():
    e = ember.distributions.Normal(ember.zeros(3), ember.ones(3))
    assert e.sample().dtype == ember.float32
    assert e.log_prob(ember.zeros(3)).dtype == ember.float32
    g = ember.distributions.Gamma(ember.ones(3), ember.ones(3))
    assert g.rsample().dtype == ember.float32
    assert ember.distributions.Categorical(logits=ember.zeros(3)).sample().dtype == ember.int64
