"""Sampling is right in distribution: moments of many samples (fixed seed) against each
family's mean and variance, reproducibility under ember.manual_seed, and reparameterised
gradients (rsample) against the analytic gradients of expectations."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as D

N = 40_000


def t64(*values):
    return ember.tensor(np.array(values, dtype=np.float64))


SAMPLERS = [
    ("Normal", lambda: D.Normal(t64(0.5, -2.0), t64(1.0, 3.0))),
    ("Uniform", lambda: D.Uniform(t64(-1.0, 2.0), t64(3.0, 2.5))),
    ("Exponential", lambda: D.Exponential(t64(0.5, 4.0))),
    ("Laplace", lambda: D.Laplace(t64(1.0, -1.0), t64(0.5, 2.0))),
    ("Gamma", lambda: D.Gamma(t64(0.3, 2.0, 9.0), t64(1.0, 0.5, 3.0))),
    ("Chi2", lambda: D.Chi2(t64(1.0, 4.0))),
    ("Beta", lambda: D.Beta(t64(0.5, 2.0, 5.0), t64(0.5, 3.0, 1.0))),
    ("Dirichlet", lambda: D.Dirichlet(t64(0.5, 1.0, 3.0))),
    ("LogNormal", lambda: D.LogNormal(t64(0.0, 0.5), t64(0.25, 0.5))),
    ("HalfNormal", lambda: D.HalfNormal(t64(1.0, 2.0))),
    ("StudentT", lambda: D.StudentT(t64(5.0, 8.0), t64(0.0, 1.0), t64(1.0, 2.0))),
    ("Bernoulli", lambda: D.Bernoulli(t64(0.2, 0.7))),
    ("Geometric", lambda: D.Geometric(t64(0.3, 0.8))),
    ("Poisson", lambda: D.Poisson(t64(0.5, 7.0))),
    ("Binomial", lambda: D.Binomial(t64(10.0, 3.0), t64(0.3, 0.9))),
    ("Categorical", lambda: D.OneHotCategorical(t64(0.1, 0.6, 0.3))),
    ("Multinomial", lambda: D.Multinomial(5, t64(0.2, 0.5, 0.3))),
    (
        "MVN",
        lambda: D.MultivariateNormal(t64(1.0, -1.0), covariance_matrix=t64([2.0, 0.6], [0.6, 1.0])),
    ),
    ("Gumbel", lambda: D.Gumbel(t64(0.5, -1.0), t64(1.0, 2.0))),
    ("Pareto", lambda: D.Pareto(t64(1.0, 2.0), t64(5.0, 6.0))),
    ("Weibull", lambda: D.Weibull(t64(1.0, 2.0), t64(0.8, 3.0))),
    ("NegativeBinomial", lambda: D.NegativeBinomial(t64(3.0, 0.5), t64(0.4, 0.7))),
    (
        "LowRankMVN",
        lambda: D.LowRankMultivariateNormal(
            t64(1.0, -1.0, 0.0), t64([1.0], [0.5], [-1.0]), t64(0.5, 1.0, 2.0)
        ),
    ),
    (
        "Mixture",
        lambda: D.MixtureSameFamily(
            D.Categorical(t64(0.3, 0.7)), D.Normal(t64(-2.0, 2.0), t64(0.5, 1.0))
        ),
    ),
    ("Independent", lambda: D.Independent(D.Normal(t64(0.0, 1.0), t64(1.0, 0.5)), 1)),
]


@pytest.mark.parametrize("name, make", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_sample_moments(name, make):
    ember.manual_seed(1234)
    d = make()
    x = d.sample((N,)).numpy()
    assert x.shape == (N,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert np.isfinite(x).all()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    # The sample mean is within 5 standard errors; the sample variance within 10% (+ 5 s.e.
    # of the mean squared, for variances near 0).
    se = np.sqrt(var / N)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * se + 1e-12, err_msg=name)
    np.testing.assert_allclose(x.var(0), var, rtol=0.1, atol=1e-3, err_msg=name)
    assert bool(np.all(d.support.check(ember.tensor(x)).numpy()))


def test_relaxed_samples_keep_the_discrete_probabilities():
    """P(RelaxedBernoulli > 1/2) = p, and the argmax of a RelaxedOneHotCategorical sample is
    Categorical(p) (the Gumbel-max property), at any temperature."""
    ember.manual_seed(11)
    x = D.RelaxedBernoulli(t64(0.7), probs=t64(0.3, 0.8)).sample((N,)).numpy()
    np.testing.assert_allclose((x > 0.5).mean(0), [0.3, 0.8], atol=0.01)
    p = np.array([0.2, 0.5, 0.3])
    y = D.RelaxedOneHotCategorical(t64(2.0), probs=ember.tensor(p)).sample((N,)).numpy()
    freq = np.bincount(y.argmax(-1), minlength=3) / N
    np.testing.assert_allclose(freq, p, atol=0.01)


def test_categorical_sample_frequencies():
    ember.manual_seed(0)
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    x = D.Categorical(ember.tensor(p)).sample((N,)).numpy()
    assert x.dtype == np.int64
    freq = np.stack([(x == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, p, atol=0.01)
    assert (x[:, 1] != 1).all()


def test_samples_are_reproducible_under_manual_seed():
    d = D.Gamma(t64(0.7, 2.0), t64(1.0, 1.0))
    ember.manual_seed(7)
    a = d.rsample((5,)).detach().numpy()
    ember.manual_seed(7)
    b = d.rsample((5,)).detach().numpy()
    np.testing.assert_array_equal(a, b)
    c = d.rsample((5,)).detach().numpy()
    assert not np.array_equal(a, c)


def test_sample_has_no_graph_and_rsample_has_one():
    loc = ember.tensor([0.0, 1.0], requires_grad=True)
    d = D.Normal(loc, ember.ones(2))
    assert not d.sample().requires_grad
    assert d.rsample().requires_grad


def test_normal_rsample_gradient_per_sample():
    """x = loc + scale * eps: dx/dloc = 1 and dx/dscale = (x - loc) / scale, sample by sample."""
    loc = ember.tensor([0.5, -1.0], requires_grad=True)
    scale = ember.tensor([2.0, 0.5], requires_grad=True)
    x = D.Normal(loc, scale).rsample((100,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [100.0, 100.0])
    eps = (x.detach().numpy() - np.array([0.5, -1.0])) / np.array([2.0, 0.5])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-5)


def _grad_of_mean(make, params, f, n=N):
    """The gradient of the Monte-Carlo mean of f(rsample) with respect to params."""
    for p in params:
        p.grad = None
    f(make().rsample((n,))).mean(0).sum().backward()
    return [None if p.grad is None else p.grad.numpy() for p in params]


REPARAM = [
    # (name, parameters, distribution, f, gradient of E[f] wrt each parameter)
    ("Normal E[x^2]", [1.0, 2.0], lambda a, b: D.Normal(a, b), lambda x: x**2,
     lambda a, b: [2 * a, 2 * b]),
    ("Gamma E[x]", [0.4, 2.0], lambda a, b: D.Gamma(a, b), lambda x: x,
     lambda a, b: [1 / b, -a / b**2]),
    ("Gamma E[x^2]", [3.0, 1.5], lambda a, b: D.Gamma(a, b), lambda x: x**2,
     lambda a, b: [(2 * a + 1) / b**2, -2 * a * (a + 1) / b**3]),
    ("Beta E[x]", [2.0, 3.0], lambda a, b: D.Beta(a, b), lambda x: x,
     lambda a, b: [b / (a + b) ** 2, -a / (a + b) ** 2]),
    ("Exponential E[x^2]", [1.5, 0.0], lambda a, b: D.Exponential(a), lambda x: x**2,
     lambda a, b: [-4 / a**3, 0.0]),
    ("Laplace E[|x|]", [0.0, 1.5], lambda a, b: D.Laplace(a, b), lambda x: x.abs(),
     lambda a, b: [0.0, 1.0]),
    ("Uniform E[x^2]", [0.5, 2.0], lambda a, b: D.Uniform(a, b), lambda x: x**2,
     lambda a, b: [(2 * a + b) / 3, (a + 2 * b) / 3]),
    ("LogNormal E[x]", [0.2, 0.5], lambda a, b: D.LogNormal(a, b), lambda x: x,
     lambda a, b: [np.exp(a + b * b / 2), b * np.exp(a + b * b / 2)]),
    ("Chi2 E[x^2]", [3.0, 0.0], lambda a, b: D.Chi2(a), lambda x: x**2,
     lambda a, b: [2 * a + 2, 0.0]),
]  # fmt: skip


@pytest.mark.parametrize("case", REPARAM, ids=[c[0] for c in REPARAM])
def test_rsample_gradients_are_unbiased(case):
    name, values, make, f, exact = case
    ember.manual_seed(99)
    a = ember.tensor(values[0], dtype=ember.float64, requires_grad=True)
    b = ember.tensor(values[1], dtype=ember.float64, requires_grad=True)
    got = _grad_of_mean(lambda: make(a, b), [a, b], f)
    want = exact(*values)
    for g, w, which in zip(got, want, "ab"):
        if g is None:
            assert w == 0.0
            continue
        np.testing.assert_allclose(g, w, rtol=0.05, atol=0.02, err_msg=f"{name} d/d{which}")


def test_dirichlet_rsample_gradient_is_unbiased():
    """d E[x_i] / d alpha_j = (delta_ij a0 - alpha_i) / a0^2."""
    ember.manual_seed(5)
    alpha_np = np.array([0.8, 2.0, 4.0])
    alpha = ember.tensor(alpha_np, requires_grad=True)
    x = D.Dirichlet(alpha).rsample((N,))
    a0 = alpha_np.sum()
    for i in range(3):
        alpha.grad = None
        x[:, i].mean().backward(retain_graph=True)
        want = ((np.arange(3) == i) * a0 - alpha_np[i]) / a0**2
        np.testing.assert_allclose(alpha.grad.numpy(), want, atol=0.01)


def test_mvn_rsample_gradient_is_unbiased():
    """E[x^T x] = |loc|^2 + trace(L L^T): gradient 2 L with respect to scale_tril."""
    ember.manual_seed(3)
    low_np = np.array([[1.0, 0.0], [0.5, 2.0]])
    loc = ember.tensor([1.0, -1.0], dtype=ember.float64, requires_grad=True)
    low = ember.tensor(low_np, requires_grad=True)
    x = D.MultivariateNormal(loc, scale_tril=low).rsample((N,))
    (x**2).sum(-1).mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [2.0, -2.0], atol=0.05)
    np.testing.assert_allclose(low.grad.numpy(), 2 * low_np, atol=0.08)


def test_relaxed_one_hot_rsample_lies_on_the_simplex_and_carries_gradients():
    ember.manual_seed(0)
    logits = ember.tensor([0.1, 1.0, -0.5], requires_grad=True)
    d = D.RelaxedOneHotCategorical(ember.tensor(0.5), logits=logits)
    x = d.rsample((1000,))
    np.testing.assert_allclose(x.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    x[:, 1].mean().backward()
    g = logits.grad.numpy()
    assert g[1] > 0 and g[0] < 0 and g[2] < 0
    st = D.OneHotCategoricalStraightThrough(logits=logits)
    logits.grad = None
    (st.rsample() * ember.tensor([0.0, 1.0, 0.0])).sum().backward()
    probs = np.exp(logits.detach().numpy()) / np.exp(logits.detach().numpy()).sum()
    np.testing.assert_allclose(
        logits.grad.numpy(), probs[1] * ((np.arange(3) == 1) - probs), rtol=1e-5
    )
