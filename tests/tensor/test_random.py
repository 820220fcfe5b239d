"""Random creation: ember's own streams (not torch's) but torch's shapes, dtypes, bounds and
seeding contract: the same seed or Generator state gives the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

CALLS = [
    ("rand", lambda m, **kw: m.rand(3, 4, **kw)),
    ("rand_tuple", lambda m, **kw: m.rand((2, 5), **kw)),
    ("randn", lambda m, **kw: m.randn(4, 3, **kw)),
    ("randn_f64", lambda m, **kw: m.randn(5, dtype=m.float64, **kw)),
    ("randint_high", lambda m, **kw: m.randint(10, (3, 3), **kw)),
    ("randint_low_high", lambda m, **kw: m.randint(-5, 5, (20,), **kw)),
    ("randint_dtype", lambda m, **kw: m.randint(0, 3, (4,), dtype=m.int32, **kw)),
    ("randperm", lambda m, **kw: m.randperm(10, **kw)),
    ("randperm_dtype", lambda m, **kw: m.randperm(5, dtype=m.int32, **kw)),
    ("normal_floats", lambda m, **kw: m.normal(2.0, 3.0, (3, 2), **kw)),
    ("normal_tensor_mean", lambda m, **kw: m.normal(m.zeros(4, 2), 1.0, **kw)),
    ("normal_tensor_std", lambda m, **kw: m.normal(1.0, m.ones(5), **kw)),
    ("normal_both", lambda m, **kw: m.normal(m.zeros(3, 1), m.ones(1, 2), **kw)),
    ("normal_f64", lambda m, **kw: m.normal(m.zeros(3, dtype=m.float64), 1.0, **kw)),
]


@pytest.mark.parametrize("name,make", CALLS, ids=[c[0] for c in CALLS])
def test_shape_and_dtype_match_torch(name, make):
    e, t = make(ember), make(torch)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype)[6:]
    assert not e.requires_grad


@pytest.mark.parametrize("name,make", CALLS, ids=[c[0] for c in CALLS])
def test_manual_seed_reproduces(name, make):
    ember.manual_seed(123)
    a = make(ember).numpy().copy()
    b = make(ember).numpy().copy()
    ember.manual_seed(123)
    np.testing.assert_array_equal(make(ember).numpy(), a)
    np.testing.assert_array_equal(make(ember).numpy(), b)
    if a.size > 3:
        assert not np.array_equal(a, b)  # the stream advances


@pytest.mark.parametrize("name,make", CALLS, ids=[c[0] for c in CALLS])
def test_generator_is_independent_of_global_seed(name, make):
    g = ember.Generator().manual_seed(7)
    a = make(ember, generator=g).numpy().copy()
    ember.manual_seed(999)  # must not affect g
    g2 = ember.Generator()
    assert g2.manual_seed(7) is g2
    np.testing.assert_array_equal(make(ember, generator=g2).numpy(), a)
    # and drawing from g does not move the default generator
    ember.manual_seed(5)
    ref = ember.rand(4).numpy().copy()
    ember.manual_seed(5)
    make(ember, generator=g)
    np.testing.assert_array_equal(ember.rand(4).numpy(), ref)


def test_bounds_and_statistics():
    ember.manual_seed(0)
    u = ember.rand(20000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02
    n = ember.randn(20000, dtype=ember.float64).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1.0) < 0.05
    r = ember.randint(-3, 4, (5000,)).numpy()
    assert r.min() == -3 and r.max() == 3
    p = ember.randperm(50).numpy()
    assert sorted(p.tolist()) == list(range(50))
    x = ember.normal(5.0, 0.5, (20000,)).numpy()
    assert abs(x.mean() - 5.0) < 0.05 and abs(x.std() - 0.5) < 0.05
    x = ember.normal(ember.full((2, 10000), 3.0), ember.tensor([[0.1], [2.0]])).numpy()
    assert abs(x[0].std() - 0.1) < 0.01 and abs(x[1].std() - 2.0) < 0.1
    assert ember.randperm(0).shape == (0,)


def test_inplace_random_fills():
    t = ember.empty(10000)
    assert t.uniform_(-2, 3) is t
    assert t.min().item() >= -2 and t.max().item() < 3
    v = t._version
    t.normal_(1.0, 0.1)
    assert t._version > v
    assert abs(t.mean().item() - 1.0) < 0.01
    g = ember.Generator().manual_seed(3)
    a = ember.empty(5).uniform_(generator=g).tolist()
    b = ember.empty(5).uniform_(generator=ember.Generator().manual_seed(3)).tolist()
    assert a == b
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.normal_()
    with ember.no_grad():
        x.normal_()
    assert x.requires_grad and x.grad_fn is None


def test_rng_state_round_trip():
    ember.manual_seed(11)
    ember.rand(3)
    state = ember.get_rng_state()
    a = ember.randn(6).tolist()
    ember.set_rng_state(state)
    assert ember.randn(6).tolist() == a
    g = ember.Generator().manual_seed(4)
    s = g.get_state()
    a = ember.rand(3, generator=g).tolist()
    g.set_state(s)
    assert ember.rand(3, generator=g).tolist() == a
    assert g.initial_seed() == 4
    assert ember.manual_seed(8) is ember.default_generator
    assert ember.initial_seed() == 8
    with pytest.raises(RuntimeError):
        g.set_state(ember.zeros(3, dtype=ember.uint8))


def test_random_errors_like_torch():
    cases = [
        lambda m: m.randint(5, 5, (2,)),
        lambda m: m.randint(5, 2, (2,)),
        lambda m: m.rand(2, dtype=m.int64),
        lambda m: m.randn(2, dtype=m.int64),
        lambda m: m.normal(0.0, -1.0, (2,)),
        lambda m: m.randperm(-1),
        lambda m: m.rand(-1),
    ]
    for i, make in enumerate(cases):
        with pytest.raises(RuntimeError):
            make(torch)
        with pytest.raises(RuntimeError):
            make(ember)
        assert i >= 0
    for make in [lambda m: m.randint(5), lambda m: m.randint(0, 5)]:
        with pytest.raises(TypeError):
            make(torch)
        with pytest.raises(TypeError):
            make(ember)


def test_requires_grad_kwarg():
    assert ember.rand(2, requires_grad=True).requires_grad
    assert ember.randn(2, requires_grad=True).is_leaf
    assert ember.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad


def test_randint_high_with_size_keyword_as_torch():
    """``randint(n, size=...)`` (one bound, size by keyword) draws from [0, n), as torch does."""
    for lib in (ember, torch):
        lib.manual_seed(0)
        r = lib.randint(3, size=(200,))
        assert tuple(r.shape) == (200,) and r.dtype == lib.int64
        assert int(r.min()) == 0 and int(r.max()) == 2
