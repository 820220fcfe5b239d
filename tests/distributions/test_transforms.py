"""Transforms, TransformedDistribution and constraints against torch: forward, inverse,
log_abs_det_jacobian (values and gradients), shapes, domains, caching, and check()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.distributions._lib import assert_same

R = np.random.default_rng(6)


def _transform(lib, name):
    T = lib.distributions.transforms
    return {
        "exp": lambda: T.ExpTransform(),
        "sigmoid": lambda: T.SigmoidTransform(),
        "tanh": lambda: T.TanhTransform(),
        "abs": lambda: T.AbsTransform(),
        "power": lambda: T.PowerTransform(lib.tensor([0.5, 2.0, 3.0], dtype=lib.float64)),
        "affine": lambda: T.AffineTransform(lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64), -2.5),
        "affine-event": lambda: T.AffineTransform(
            0.5, lib.tensor([2.0, 3.0, -1.0], dtype=lib.float64), event_dim=1
        ),
        "softmax": lambda: T.SoftmaxTransform(),
        "stick": lambda: T.StickBreakingTransform(),
        "compose": lambda: T.ComposeTransform([T.AffineTransform(0.3, 2.0), T.TanhTransform()]),
        "inverse-exp": lambda: T.ExpTransform().inv,
        "independent": lambda: T.IndependentTransform(T.SigmoidTransform(), 1),
    }[name]()


NAMES = [
    "exp",
    "sigmoid",
    "tanh",
    "abs",
    "power",
    "affine",
    "affine-event",
    "softmax",
    "stick",
    "compose",
    "inverse-exp",
    "independent",
]


def _input(name):
    x = R.standard_normal((2, 3))
    if name in ("power", "inverse-exp"):
        x = np.abs(x) + 0.1
    return x


@pytest.mark.parametrize("name", NAMES)
def test_transform_matches_torch(name):
    x = _input(name)
    et, tt = _transform(ember, name), _transform(torch, name)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = et(ex), tt(tx)
    assert_same(ey, ty, rtol=1e-10, what="forward")
    assert_same(et.inv(ey), tt.inv(ty), rtol=1e-8, atol=1e-10, what="inverse")
    assert et.domain.event_dim == tt.domain.event_dim
    assert et.codomain.event_dim == tt.codomain.event_dim
    assert et.bijective == tt.bijective
    assert tuple(et.forward_shape((4, 2, 3))) == tuple(tt.forward_shape((4, 2, 3)))
    assert tuple(et.inverse_shape((4, 2, 3))) == tuple(tt.inverse_shape((4, 2, 3)))
    try:
        tl = tt.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            et.log_abs_det_jacobian(ex, ey)
        tl = None
    if tl is not None:
        el = et.log_abs_det_jacobian(ex, ey)
        assert_same(el, tl, rtol=1e-9, atol=1e-12, what="log_abs_det_jacobian")
        (ey.sum() + el.sum()).backward()
        (ty.sum() + tl.sum()).backward()
        assert_same(ex.grad, tx.grad, rtol=1e-8, atol=1e-12, what="gradient")
    try:
        ts = tt.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            _ = et.sign
    else:
        es = et.sign
        assert np.array_equal(
            np.asarray(getattr(es, "numpy", lambda: es)()),
            np.asarray(getattr(ts, "numpy", lambda: ts)()),
        )


def test_cache_returns_the_same_object_as_torch():
    for lib in (ember, torch):
        t = lib.distributions.transforms.ExpTransform(cache_size=1)
        x = lib.tensor([0.5, 1.0])
        y = t(x)
        assert t(x) is y
        assert t.inv(y) is x
        u = lib.distributions.transforms.ExpTransform()
        assert u(x) is not u(x)
        assert u.with_cache(1)._cache_size == 1


def test_transform_equality_and_inverse_identity():
    T = ember.distributions.transforms
    assert T.ExpTransform() == T.ExpTransform()
    assert T.ExpTransform().inv == T.ExpTransform().inv
    assert T.ExpTransform().inv.inv == T.ExpTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, 2.0)])
    assert c.inv.inv is c
    assert repr(T.ExpTransform()) == "ExpTransform()"


BASES = [
    (
        "normal-exp",
        lambda lib: lib.distributions.Normal(
            lib.tensor([0.2, -0.5], dtype=lib.float64), lib.tensor([1.0, 0.5], dtype=lib.float64)
        ),
        lambda lib: [lib.distributions.transforms.ExpTransform()],
    ),
    (
        "normal-affine-neg",
        lambda lib: lib.distributions.Normal(
            lib.tensor([0.2, -0.5], dtype=lib.float64), lib.tensor([1.0, 0.5], dtype=lib.float64)
        ),
        lambda lib: [lib.distributions.transforms.AffineTransform(1.0, -3.0)],
    ),
    (
        "uniform-sigmoid-inv",
        lambda lib: lib.distributions.Uniform(
            lib.tensor([0.1, 0.2], dtype=lib.float64), lib.tensor([0.9, 0.7], dtype=lib.float64)
        ),
        lambda lib: [lib.distributions.transforms.SigmoidTransform().inv],
    ),
    (
        "normal-stick",
        lambda lib: lib.distributions.Normal(
            lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        ),
        lambda lib: [lib.distributions.transforms.StickBreakingTransform()],
    ),
    (
        "normal-tanh",
        lambda lib: lib.distributions.Normal(
            lib.tensor([0.3], dtype=lib.float64), lib.tensor([0.8], dtype=lib.float64)
        ),
        lambda lib: [
            lib.distributions.transforms.TanhTransform(),
            lib.distributions.transforms.AffineTransform(0.0, 2.0),
        ],
    ),
]


@pytest.mark.parametrize("base, transforms", [b[1:] for b in BASES], ids=[b[0] for b in BASES])
def test_transformed_distribution_matches_torch(base, transforms):
    e = ember.distributions.TransformedDistribution(base(ember), transforms(ember))
    t = torch.distributions.TransformedDistribution(base(torch), transforms(torch))
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    assert e.has_rsample == t.has_rsample
    value = t.sample((4,))
    assert_same(e.log_prob(ember.tensor(value.numpy())), t.log_prob(value), rtol=1e-9)
    assert tuple(e.sample((5,)).shape) == tuple(t.sample((5,)).shape)
    assert tuple(e.expand((3,) + tuple(t.batch_shape)).batch_shape) == tuple(
        t.expand((3,) + tuple(t.batch_shape)).batch_shape
    )
    if len(t.event_shape) == 0:
        assert_same(e.cdf(ember.tensor(value.numpy())), t.cdf(value), rtol=1e-9)
        u = torch.tensor(R.uniform(0.05, 0.95, tuple(value.shape)))
        assert_same(e.icdf(ember.tensor(u.numpy())), t.icdf(u), rtol=1e-8)


def test_transformed_distribution_gradients_match_torch():
    grads = []
    for lib in (ember, torch):
        loc = lib.tensor([0.2, -0.5], dtype=lib.float64, requires_grad=True)
        scale = lib.tensor([1.0, 0.5], dtype=lib.float64, requires_grad=True)
        T = lib.distributions.transforms
        d = lib.distributions.TransformedDistribution(
            lib.distributions.Normal(loc, scale),
            [T.AffineTransform(0.5, 2.0), T.SigmoidTransform()],
        )
        d.log_prob(lib.tensor([[0.3, 0.6], [0.9, 0.1]], dtype=lib.float64)).sum().backward()
        grads.append((loc.grad, scale.grad))
    assert_same(grads[0][0], grads[1][0], rtol=1e-9)
    assert_same(grads[0][1], grads[1][1], rtol=1e-9)


def _relaxed(lib, name):
    """The log-space relaxed bases live in submodules (not exported at the top), in both."""
    if lib is torch:
        from torch.distributions import relaxed_bernoulli, relaxed_categorical

        return getattr(relaxed_bernoulli if "Bernoulli" in name else relaxed_categorical, name)
    return getattr(ember.distributions.relaxed, name)


def _composites(lib):
    D = lib.distributions
    f64 = lib.float64
    loc = lib.tensor([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]], dtype=f64)
    scale = lib.tensor([[1.0, 0.5, 2.0], [0.3, 1.0, 1.5]], dtype=f64)
    mix = D.Categorical(logits=lib.tensor([[0.1, 0.5, -0.2], [0.0, 1.0, 0.3]], dtype=f64))
    return {
        "independent": D.Independent(D.Normal(loc, scale), 1),
        "mixture": D.MixtureSameFamily(mix, D.Normal(loc, scale)),
        "mixture-mvn": D.MixtureSameFamily(
            D.Categorical(lib.tensor([0.3, 0.7], dtype=f64)),
            D.MultivariateNormal(
                lib.tensor([[0.0, 1.0], [1.0, -1.0]], dtype=f64),
                scale_tril=lib.eye(2, dtype=f64) * 0.5,
            ),
        ),
        "mixture-independent": D.MixtureSameFamily(
            D.Categorical(lib.tensor([0.3, 0.7], dtype=f64)), D.Independent(D.Normal(loc, scale), 1)
        ),
        "relaxed-bernoulli": D.RelaxedBernoulli(lib.tensor(0.7, dtype=f64), logits=loc),
        "relaxed-one-hot": D.RelaxedOneHotCategorical(lib.tensor(0.5, dtype=f64), logits=loc),
        "logit-relaxed": _relaxed(lib, "LogitRelaxedBernoulli")(
            lib.tensor(0.7, dtype=f64), probs=scale / 3
        ),
        "exp-relaxed": _relaxed(lib, "ExpRelaxedCategorical")(
            lib.tensor(0.5, dtype=f64), probs=scale
        ),
    }


@pytest.mark.parametrize("name", list(_composites(torch)))
def test_composite_distributions_match_torch(name):
    e, t = _composites(ember)[name], _composites(torch)[name]
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    value = t.sample((4,))
    assert_same(
        e.log_prob(ember.tensor(value.numpy())), t.log_prob(value), rtol=1e-9, what="log_prob"
    )
    assert tuple(e.sample((5,)).shape) == tuple(t.sample((5,)).shape)
    for attr in ("mean", "variance"):
        try:
            tv = getattr(t, attr)
        except NotImplementedError:
            continue
        assert_same(getattr(e, attr), tv, rtol=1e-9, what=attr)
    if name == "mixture":
        assert_same(e.cdf(ember.tensor(value.numpy())), t.cdf(value), rtol=1e-9)
    if name == "independent":
        assert_same(e.entropy(), t.entropy(), rtol=1e-9)
    ex = e.expand((2,) + tuple(e.batch_shape))
    tx = t.expand((2,) + tuple(t.batch_shape))
    assert tuple(ex.batch_shape) == tuple(tx.batch_shape)


CONSTRAINTS = [
    ("real", lambda C: C.real, [0.0, -1.0, float("nan"), float("inf")]),
    ("positive", lambda C: C.positive, [0.0, 1.0, -1.0]),
    ("nonnegative", lambda C: C.nonnegative, [0.0, 1.0, -1.0]),
    ("unit_interval", lambda C: C.unit_interval, [0.0, 1.0, 1.5, -0.1]),
    ("boolean", lambda C: C.boolean, [0.0, 1.0, 0.5]),
    ("nonnegative_integer", lambda C: C.nonnegative_integer, [0.0, 3.0, 2.5, -1.0]),
    ("positive_integer", lambda C: C.positive_integer, [0.0, 3.0, 2.5]),
    ("integer_interval", lambda C: C.integer_interval(0, 3), [0.0, 3.0, 4.0, 1.5]),
    ("interval", lambda C: C.interval(-1.0, 2.0), [-1.0, 2.0, 2.1]),
    ("half_open_interval", lambda C: C.half_open_interval(-1.0, 2.0), [-1.0, 2.0, 0.0]),
    ("greater_than", lambda C: C.greater_than(1.0), [1.0, 1.5]),
    ("greater_than_eq", lambda C: C.greater_than_eq(1.0), [1.0, 0.5]),
    ("less_than", lambda C: C.less_than(1.0), [1.0, 0.5]),
    ("simplex", lambda C: C.simplex, [[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1]]),
    ("one_hot", lambda C: C.one_hot, [[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    ("real_vector", lambda C: C.real_vector, [[0.0, 1.0], [float("nan"), 0.0]]),
    ("multinomial", lambda C: C.multinomial(3), [[1.0, 2.0], [3.0, 1.0], [-1.0, 0.0]]),
    (
        "lower_triangular",
        lambda C: C.lower_triangular,
        [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]],
    ),
    (
        "lower_cholesky",
        lambda C: C.lower_cholesky,
        [[[1.0, 0.0], [2.0, 3.0]], [[-1.0, 0.0], [0.0, 1.0]]],
    ),
    (
        "positive_definite",
        lambda C: C.positive_definite,
        [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
    ),
    (
        "positive_semidefinite",
        lambda C: C.positive_semidefinite,
        [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
    ),
    ("symmetric", lambda C: C.symmetric, [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [3.0, 1.0]]]),
    ("square", lambda C: C.square, [[[1.0, 2.0], [2.0, 1.0]]]),
    ("independent", lambda C: C.independent(C.positive, 1), [[1.0, 2.0], [1.0, -2.0]]),
    (
        "corr_cholesky",
        lambda C: C.corr_cholesky,
        [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.5, 0.5]]],
    ),
]


@pytest.mark.parametrize("name, make, values", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_constraint_check_matches_torch(name, make, values):
    ec, tc = make(ember.distributions.constraints), make(torch.distributions.constraints)
    ev = ec.check(ember.tensor(values, dtype=ember.float64))
    tv = tc.check(torch.tensor(values, dtype=torch.float64))
    assert ev.dtype == ember.bool
    np.testing.assert_array_equal(ev.numpy(), tv.numpy())
    assert ec.event_dim == tc.event_dim
    assert ec.is_discrete == tc.is_discrete
    assert repr(ec) == repr(tc)


def test_dependent_constraints_as_torch():
    for lib in (ember, torch):
        C = lib.distributions.constraints
        assert C.is_dependent(C.dependent)
        assert not C.is_dependent(C.real)
        with pytest.raises(ValueError, match="Cannot determine validity"):
            C.dependent.check(lib.zeros(1))
        with pytest.raises(NotImplementedError):
            _ = C.dependent.event_dim
        assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1
