"""``ember.func.vmap`` against ``torch.func.vmap``: in_dims/out_dims forms, nesting, pytrees,
keyword arguments, composition with grad (per-sample gradients) and jacrev, randomness modes
and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.func._util import BATCH, RNG, X, Y, both, close_tree, same_error

M = RNG.standard_normal((3, 4, 5))


def _t(L, a):
    return L.tensor(a)


CASES = {
    "default": lambda L: L.vmap(lambda x: x.sin() * 2)(_t(L, BATCH)),
    "in_dim 1": lambda L: L.func.vmap(lambda x: x.sum(0), in_dims=1)(_t(L, M)),
    "in_dim -1": lambda L: L.func.vmap(lambda x: x @ x.T, in_dims=-1)(_t(L, M)),
    "None in_dim": lambda L: L.func.vmap(lambda x, w: x @ w, in_dims=(0, None))(
        _t(L, BATCH), _t(L, Y.T)
    ),
    "nested in_dims": lambda L: L.func.vmap(lambda p, s: p[0] * p[1] + s, in_dims=((0, 1), None))(
        (_t(L, BATCH), _t(L, BATCH.T)), _t(L, X)
    ),
    "dict input": lambda L: L.func.vmap(lambda d: d["a"] * d["b"].sum())(
        {"a": _t(L, BATCH), "b": _t(L, M[:, :4, 0].T)}
    ),
    "out_dims 1": lambda L: L.func.vmap(lambda x: x * 2, out_dims=1)(_t(L, BATCH)),
    "out_dims tuple": lambda L: L.func.vmap(lambda x: (x, x.sum()), out_dims=(1, 0))(_t(L, BATCH)),
    "out_dims None": lambda L: L.func.vmap(lambda x, y: (x * 2, y), (0, None), out_dims=(0, None))(
        _t(L, BATCH), _t(L, X)
    ),
    "dict output": lambda L: L.func.vmap(lambda x: {"s": x.sum(), "v": x.exp()})(_t(L, BATCH)),
    "kwargs unmapped": lambda L: L.func.vmap(lambda x, *, scale: x * scale)(
        _t(L, BATCH), scale=_t(L, X)
    ),
    "nested vmap": lambda L: L.func.vmap(
        L.func.vmap(lambda a, b: a * b, in_dims=(0, None)), (0, None)
    )(_t(L, M), _t(L, M[0, 0])),
    "chunk_size": lambda L: L.func.vmap(lambda x: x.cos(), chunk_size=3)(_t(L, BATCH)),
    "empty batch": lambda L: L.func.vmap(lambda x: (x * 2).sum(), out_dims=0)(
        _t(L, np.zeros((0, 3)))
    ),
    "jacrev per sample": lambda L: L.func.vmap(L.func.jacrev(lambda x: x.sin() * x.sum()))(
        _t(L, BATCH)
    ),
    "hessian per sample": lambda L: L.func.vmap(L.func.hessian(lambda x: (x.sin() ** 2).sum()))(
        _t(L, BATCH)
    ),
    "jacrev of vmap": lambda L: L.func.jacrev(L.func.vmap(lambda x: (x**2).sum()))(_t(L, BATCH)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    e, t = both(CASES[name])
    close_tree(e, t)


def test_per_sample_gradients_of_a_model():
    def run(L):
        model = L.nn.Sequential(L.nn.Linear(3, 5), L.nn.Tanh(), L.nn.Linear(5, 2)).double()
        with L.no_grad():
            for p, a in zip(model.parameters(), _weights()):
                p.copy_(L.tensor(a))
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(params, x, y):
            out = L.func.functional_call(model, params, (x.unsqueeze(0),))
            return ((out - y) ** 2).mean()

        grads = L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(
            params, L.tensor(BATCH), L.tensor(BATCH[:, :2])
        )
        per_sample_hvp = L.func.vmap(
            L.func.grad(lambda p, x, y: (L.func.grad(loss)(p, x, y)["0.weight"] ** 2).sum()),
            in_dims=(None, 0, 0),
        )(params, L.tensor(BATCH), L.tensor(BATCH[:, :2]))
        return grads, per_sample_hvp

    e, t = both(run)
    close_tree(e, t, rtol=1e-9, atol=1e-12)


def _weights():
    g = np.random.default_rng(7)
    return [g.standard_normal(s) * 0.5 for s in ((5, 3), (5,), (2, 5), (2,))]


def test_vmap_of_a_function_of_a_requires_grad_input_is_differentiable():
    def run(L):
        x = L.tensor(BATCH, requires_grad=True)
        y = L.func.vmap(lambda r: (r.sin() * r).sum())(x)
        (g,) = L.autograd.grad((y**2).sum(), x)
        return y.detach(), g

    e, t = both(run)
    close_tree(e, t)


def test_randomness_modes():
    ember.manual_seed(0)
    x = ember.zeros(4, 3)
    diff = ember.func.vmap(lambda r: r + ember.rand(3), randomness="different")(x)
    assert len({tuple(row) for row in diff.numpy().tolist()}) == 4
    ember.manual_seed(0)
    same = ember.func.vmap(lambda r: r + ember.rand(3), randomness="same")(x)
    rows = same.numpy()
    assert (rows == rows[0]).all()
    ember.manual_seed(0)
    assert np.array_equal(ember.rand(3).numpy(), rows[0])  # same draws as outside vmap
    drop = ember.func.vmap(lambda r: ember.nn.functional.dropout(r + 1, 0.5), randomness="same")(
        ember.zeros(5, 8)
    )
    assert (drop.numpy() == drop.numpy()[0]).all()


def test_randomness_error_restores_the_generator():
    with pytest.raises(RuntimeError, match="randomness error mode"):
        ember.func.vmap(lambda r: ember.nn.functional.dropout(r, 0.5))(ember.ones(2, 3))
    assert ember.rand(2).shape == (2,)
    # no random draw: "error" mode is fine
    close_tree(*both(lambda L: L.func.vmap(lambda r: r * 2)(L.tensor(X))))


ERRORS = {
    "sizes differ": lambda L: L.func.vmap(lambda x, y: x)(L.ones(2, 3), L.ones(3, 3)),
    "no mapped input": lambda L: L.func.vmap(lambda x: x, in_dims=(None,))(L.ones(2, 3)),
    "in_dim out of range": lambda L: L.func.vmap(lambda x: x, in_dims=3)(L.ones(2, 3)),
    "mapped non-tensor": lambda L: L.func.vmap(lambda x, y: x, in_dims=(0, 0))(L.ones(2, 3), 3),
    "in_dims structure": lambda L: L.func.vmap(lambda x: x, in_dims=(0, 0))(L.ones(2, 3)),
    "non-tensor output": lambda L: L.func.vmap(lambda x: 3)(L.ones(2, 3)),
    "out_dim out of range": lambda L: L.func.vmap(lambda x: x, out_dims=2)(L.ones(2, 3)),
    "random in error mode": lambda L: L.func.vmap(lambda x: x + L.rand(3))(L.ones(2, 3)),
    "bad randomness": lambda L: L.func.vmap(lambda x: x, randomness="foo")(L.ones(2, 3)),
    "chunk_size 0": lambda L: L.func.vmap(lambda x: x, chunk_size=0)(L.ones(2, 3)),
    "no inputs": lambda L: L.func.vmap(lambda: L.ones(1))(),
    "in_dims a str": lambda L: L.func.vmap(lambda x: x, in_dims="a")(L.ones(2)),
    "out_dims structure": lambda L: L.func.vmap(lambda x: (x, x), out_dims=(0, 1, 2))(L.ones(2, 3)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    same_error(ERRORS[name])


def test_torch_vmap_alias():
    assert ember.vmap is ember.func.vmap and torch.vmap is torch.func.vmap
