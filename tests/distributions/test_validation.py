"""Argument and value validation as torch: the same exception types and messages for invalid
parameters, values outside the support, shape mismatches, and the validation switches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _raises_like_torch(fn, match_message=True):
    """Run ``fn(lib)`` for torch then ember: both raise, the same type (and message)."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember)
    if match_message:
        t_msg = str(t_err.value).replace("torch.", "").split("\n")[0]
        e_msg = str(e_err.value).replace("ember.", "").split("\n")[0]
        assert e_msg == t_msg


BAD_PARAMS = [
    ("Normal-scale", lambda lib: lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0]))),
    (
        "Normal-nan-loc",
        lambda lib: lib.distributions.Normal(lib.tensor([float("nan")]), lib.tensor([1.0])),
    ),
    ("Exponential", lambda lib: lib.distributions.Exponential(lib.tensor([0.0]))),
    ("Gamma", lambda lib: lib.distributions.Gamma(lib.tensor([1.0]), lib.tensor([-2.0]))),
    ("Beta", lambda lib: lib.distributions.Beta(lib.tensor([0.0]), lib.tensor([1.0]))),
    ("Dirichlet", lambda lib: lib.distributions.Dirichlet(lib.tensor([1.0, -1.0]))),
    ("Bernoulli", lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([1.5]))),
    ("Categorical-neg", lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.5, -0.1]))),
    ("Poisson", lambda lib: lib.distributions.Poisson(lib.tensor([-1.0]))),
    (
        "Binomial-count",
        lambda lib: lib.distributions.Binomial(lib.tensor([2.5]), probs=lib.tensor([0.5])),
    ),
    ("Uniform-order", lambda lib: lib.distributions.Uniform(lib.tensor([1.0]), lib.tensor([0.0]))),
    ("Laplace", lambda lib: lib.distributions.Laplace(lib.tensor([0.0]), lib.tensor([0.0]))),
    ("StudentT", lambda lib: lib.distributions.StudentT(lib.tensor([-1.0]))),
    ("Geometric-zero", lambda lib: lib.distributions.Geometric(probs=lib.tensor([0.0]))),
    (
        "MVN-not-pd",
        lambda lib: lib.distributions.MultivariateNormal(
            lib.zeros(2), covariance_matrix=lib.tensor([[1.0, 2.0], [2.0, 1.0]])
        ),
    ),
    (
        "MVN-tril",
        lambda lib: lib.distributions.MultivariateNormal(
            lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0], [0.0, 1.0]])
        ),
    ),
    ("HalfNormal", lambda lib: lib.distributions.HalfNormal(lib.tensor([-1.0]))),
    ("LogNormal", lambda lib: lib.distributions.LogNormal(lib.tensor([0.0]), lib.tensor([-1.0]))),
]


@pytest.mark.parametrize("make", [b[1] for b in BAD_PARAMS], ids=[b[0] for b in BAD_PARAMS])
def test_invalid_parameters_raise_torch_value_error(make):
    _raises_like_torch(make)


BAD_CONSTRUCTION = [
    (
        "probs-and-logits",
        lambda lib: lib.distributions.Bernoulli(probs=lib.tensor(0.5), logits=lib.tensor(0.0)),
    ),
    ("neither", lambda lib: lib.distributions.Categorical()),
    ("categorical-0d", lambda lib: lib.distributions.Categorical(probs=lib.tensor(1.0))),
    ("dirichlet-0d", lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0))),
    (
        "mvn-two-matrices",
        lambda lib: lib.distributions.MultivariateNormal(
            lib.zeros(2), covariance_matrix=lib.eye(2), scale_tril=lib.eye(2)
        ),
    ),
    (
        "mvn-0d-loc",
        lambda lib: lib.distributions.MultivariateNormal(
            lib.tensor(0.0), covariance_matrix=lib.eye(1)
        ),
    ),
    (
        "mvn-1d-matrix",
        lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.ones(2)),
    ),
    (
        "independent-ndims",
        lambda lib: lib.distributions.Independent(
            lib.distributions.Normal(lib.zeros(2), lib.ones(2)), 2
        ),
    ),
    (
        "multinomial-tensor-count",
        lambda lib: lib.distributions.Multinomial(lib.tensor(3), lib.ones(3)),
    ),
    (
        "mixture-not-categorical",
        lambda lib: lib.distributions.MixtureSameFamily(
            lib.distributions.Normal(0.0, 1.0), lib.distributions.Normal(lib.zeros(2), lib.ones(2))
        ),
    ),
    (
        "mixture-k",
        lambda lib: lib.distributions.MixtureSameFamily(
            lib.distributions.Categorical(lib.ones(3)),
            lib.distributions.Normal(lib.zeros(2), lib.ones(2)),
        ),
    ),
    (
        "transforms-type",
        lambda lib: lib.distributions.TransformedDistribution(
            lib.distributions.Normal(0.0, 1.0), "exp"
        ),
    ),
    (
        "lowrank-factor-1d",
        lambda lib: lib.distributions.LowRankMultivariateNormal(
            lib.zeros(3), lib.ones(3), lib.ones(3)
        ),
    ),
    (
        "lowrank-factor-rows",
        lambda lib: lib.distributions.LowRankMultivariateNormal(
            lib.zeros(3), lib.ones(2, 1), lib.ones(3)
        ),
    ),
    (
        "lowrank-diag",
        lambda lib: lib.distributions.LowRankMultivariateNormal(
            lib.zeros(3), lib.ones(3, 1), lib.ones(2)
        ),
    ),
    (
        "lowrank-batch",
        lambda lib: lib.distributions.LowRankMultivariateNormal(
            lib.zeros(2, 3), lib.ones(4, 3, 1), lib.ones(3)
        ),
    ),
    ("broadcast_all", lambda lib: lib.distributions.Normal("a", 1.0)),
    ("shapes", lambda lib: lib.distributions.Normal(lib.zeros(2), lib.ones(3))),
    ("cache_size", lambda lib: lib.distributions.transforms.ExpTransform(cache_size=2)),
]


@pytest.mark.parametrize(
    "make", [b[1] for b in BAD_CONSTRUCTION], ids=[b[0] for b in BAD_CONSTRUCTION]
)
def test_invalid_construction_raises_as_torch(make):
    _raises_like_torch(make)


BAD_VALUES = [
    (
        "outside-support",
        lambda lib: lib.distributions.Exponential(lib.ones(2)).log_prob(lib.tensor([-1.0, 1.0])),
    ),
    ("not-a-tensor", lambda lib: lib.distributions.Normal(lib.zeros(2), lib.ones(2)).log_prob(0.5)),
    ("event-shape", lambda lib: lib.distributions.Dirichlet(lib.ones(3)).log_prob(lib.ones(2) / 2)),
    (
        "not-broadcastable",
        lambda lib: lib.distributions.Normal(lib.zeros(3), lib.ones(3)).log_prob(lib.zeros(2)),
    ),
    (
        "bernoulli-value",
        lambda lib: lib.distributions.Bernoulli(lib.tensor([0.5])).log_prob(lib.tensor([0.5])),
    ),
    (
        "categorical-value",
        lambda lib: lib.distributions.Categorical(lib.ones(3)).log_prob(lib.tensor([3])),
    ),
    (
        "simplex-value",
        lambda lib: lib.distributions.Dirichlet(lib.ones(3)).log_prob(lib.tensor([0.5, 0.6, 0.1])),
    ),
    ("uniform-cdf", lambda lib: lib.distributions.Uniform(0.0, 1.0).cdf(lib.tensor(2.0))),
    (
        "binomial-value",
        lambda lib: lib.distributions.Binomial(3, lib.tensor(0.5)).log_prob(lib.tensor(4.0)),
    ),
]


@pytest.mark.parametrize("make", [b[1] for b in BAD_VALUES], ids=[b[0] for b in BAD_VALUES])
def test_invalid_values_raise_torch_value_error(make):
    _raises_like_torch(make)


def test_validate_args_false_skips_the_checks_as_torch():
    for lib in (ember, torch):
        d = lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0]), validate_args=False)
        assert np.isnan(d.log_prob(lib.tensor([0.0])).numpy()).all()
        e = lib.distributions.Exponential(lib.ones(1), validate_args=False)
        assert e.log_prob(lib.tensor([-1.0])).item() == pytest.approx(-1.0 * -1.0)


def test_set_default_validate_args():
    for lib in (ember, torch):
        D = lib.distributions.Distribution
        try:
            D.set_default_validate_args(False)
            lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0]))  # no error
            with pytest.raises(ValueError):
                lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0]), validate_args=True)
        finally:
            D.set_default_validate_args(True)
        with pytest.raises(ValueError):
            D.set_default_validate_args("yes")
        with pytest.raises(ValueError):
            lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0]))


def test_unimplemented_methods_raise_not_implemented_as_torch():
    for lib in (ember, torch):
        D = lib.distributions
        with pytest.raises(NotImplementedError):
            D.Gamma(lib.ones(1), lib.ones(1)).icdf(lib.tensor([0.5]))
        with pytest.raises(NotImplementedError):
            D.Categorical(lib.ones(2)).rsample()
        with pytest.raises(NotImplementedError):
            D.Binomial(lib.tensor([2.0, 3.0]), lib.tensor([0.5, 0.5])).entropy()
        with pytest.raises(NotImplementedError):
            D.MixtureSameFamily(
                D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), lib.ones(2))
            ).rsample()


def test_custom_subclass_without_expand_is_refused_as_torch():
    for lib in (ember, torch):

        class Mine(lib.distributions.Normal):
            def __init__(self):
                super().__init__(0.0, 1.0)

        with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
            Mine().expand((2,))
