"""``functional_call`` (and ``nn.utils.stateless.functional_call``) and ``stack_module_state``
against torch: values, gradients to the given tensors, buffers, tied weights, strict, errors,
the module left as it was, and an ensemble run with vmap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.func._util import BATCH, both, close_tree, same_error

W = np.random.default_rng(3).standard_normal((2, 3))
B = np.random.default_rng(4).standard_normal(2)


def _linear(L):
    m = L.nn.Linear(3, 2).double()
    with L.no_grad():
        m.weight.copy_(L.tensor(W))
        m.bias.copy_(L.tensor(B))
    return m


def test_values_and_gradients_reach_the_given_tensors():
    def run(L):
        m = _linear(L)
        w = L.tensor(W * 2, requires_grad=True)
        out = L.func.functional_call(m, {"weight": w}, (L.tensor(BATCH),))
        (gw,) = L.autograd.grad((out**2).sum(), w)
        return out.detach(), gw, m.weight.detach(), m(L.tensor(BATCH)).detach()

    close_tree(*both(run))


def test_tuple_of_dicts_kwargs_and_single_argument():
    class Scale(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = ember.nn.Linear(3, 2).double()
            self.register_buffer("s", ember.ones(2, dtype=ember.float64))

        def forward(self, x, *, shift=0.0):
            return self.lin(x) * self.s + shift

    m = Scale()
    params = {"lin.weight": ember.tensor(W), "lin.bias": ember.tensor(B)}
    buffers = {"s": ember.tensor([2.0, 3.0], dtype=ember.float64)}
    x = ember.tensor(BATCH)
    out = ember.func.functional_call(m, (params, buffers), x, {"shift": 1.0})
    expected = (BATCH @ W.T + B) * [2.0, 3.0] + 1.0
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    assert np.array_equal(m.s.numpy(), [1.0, 1.0])  # restored
    alias = ember.nn.utils.stateless.functional_call
    got = alias(m, (params, buffers), (x,)).detach().numpy()
    np.testing.assert_allclose(got, expected - 1.0, rtol=1e-12)


def test_module_restored_after_an_exception():
    m = _linear(ember)
    w0 = m.weight
    with pytest.raises(RuntimeError):
        ember.func.functional_call(
            m, {"weight": ember.ones(5, 5, dtype=ember.float64)}, (ember.tensor(BATCH),)
        )
    assert m.weight is w0 and isinstance(m.weight, ember.nn.Parameter)


def _tied(L):
    class Tied(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = L.nn.Linear(3, 3).double()
            self.b = L.nn.Linear(3, 3).double()
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    with L.no_grad():
        for p in m.parameters():
            p.copy_(L.tensor(np.full(tuple(p.shape), 0.1)))
    return m


def test_tied_weights():
    def run(L):
        m = _tied(L)
        x = L.tensor(BATCH)
        z = L.tensor(np.eye(3) * 0.5)
        return (
            L.func.functional_call(m, {"a.weight": z}, (x,)).detach(),
            L.func.functional_call(m, {"a.weight": z}, (x,), tie_weights=False).detach(),
            L.func.functional_call(m, {"a.weight": z, "b.weight": z}, (x,)).detach(),
        )

    close_tree(*both(run))


ERRORS = {
    "tied weights given twice": lambda L: L.func.functional_call(
        _tied(L), {"a.weight": L.zeros(3, 3), "b.weight": L.ones(3, 3)}, (L.ones(1, 3),)
    ),
    "strict: unexpected and missing": lambda L: L.func.functional_call(
        _linear(L), {"weight": L.zeros(2, 3), "foo": L.zeros(1)}, (L.ones(1, 3),), strict=True
    ),
    "strict: missing": lambda L: L.func.functional_call(
        _linear(L), {"weight": L.zeros(2, 3)}, (L.ones(1, 3),), strict=True
    ),
    "key in two dicts": lambda L: L.func.functional_call(
        _linear(L), ({"weight": L.zeros(2, 3)}, {"weight": L.zeros(2, 3)}), (L.ones(1, 3),)
    ),
    "stack: no models": lambda L: L.func.stack_module_state([]),
    "stack: train and eval": lambda L: L.func.stack_module_state(
        [L.nn.Linear(2, 2), L.nn.Linear(2, 2).eval()]
    ),
    "stack: different classes": lambda L: L.func.stack_module_state(
        [L.nn.Linear(2, 2), L.nn.Tanh()]
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    same_error(ERRORS[name])


def test_unknown_key_without_strict_is_set_for_the_call_only():
    def run(L):
        m = _linear(L)
        out = L.func.functional_call(
            m, {"weight": L.tensor(W), "foo": L.zeros(1)}, (L.tensor(BATCH),)
        )
        return out.detach(), hasattr(m, "foo")

    close_tree(*both(run))


def test_ensemble_with_stack_module_state_and_vmap():
    def run(L):
        models = []
        for k in range(3):
            m = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 2)).double()
            g = np.random.default_rng(10 + k)
            with L.no_grad():
                for p in m.parameters():
                    p.copy_(L.tensor(g.standard_normal(tuple(p.shape))))
            models.append(m)
        params, buffers = L.func.stack_module_state(models)
        base = models[0]

        def call(p, b, x):
            return L.func.functional_call(base, (p, b), (x,))

        out = L.func.vmap(call, in_dims=(0, 0, None))(params, buffers, L.tensor(BATCH))
        loss = (out**2).sum()
        grads = L.autograd.grad(loss, list(params.values()))
        return params, out.detach(), grads

    e, t = both(run)
    close_tree(e, t)
    assert all(p.is_leaf and p.requires_grad for p in e[0].values())


def test_stack_module_state_buffers_and_mixed_requires_grad():
    def run(L):
        ms = [L.nn.BatchNorm1d(3).double() for _ in range(2)]
        return L.func.stack_module_state(ms)

    close_tree(*both(run))
    a, b = ember.nn.Linear(2, 2), ember.nn.Linear(2, 2)
    b.weight.requires_grad_(False)
    ta, tb = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    tb.weight.requires_grad_(False)
    with pytest.raises(RuntimeError) as te:
        torch.func.stack_module_state([ta, tb])
    with pytest.raises(RuntimeError) as ee:
        ember.func.stack_module_state([a, b])
    assert str(ee.value) == str(te.value)
