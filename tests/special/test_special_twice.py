"""ember.special where PyTorch cannot differentiate (again): the same exception type and message.
Second derivatives that exist are compared with torch in tests/autograd/test_higher_order.py and
gradgradchecked from tests/special/test_special_gradcheck.py's rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _error(fn):
    with pytest.raises(NotImplementedError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("name", ["zeta", "gammainc", "gammaincc"])
def test_no_derivative_in_the_first_argument_like_torch(name):
    messages = []
    for m in (ember, torch):
        a = m.tensor([1.5, 2.5, 4.0], dtype=m.float64, requires_grad=True)
        x = m.tensor([0.5, 1.0, 3.0], dtype=m.float64)
        y = getattr(m.special, name)(a, x).sum()
        messages.append(_error(y.backward))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name", ["zeta", "gammainc", "gammaincc"])
def test_second_argument_differentiates_when_the_first_is_constant_like_torch(name):
    # The first-order derivative reads the first argument; it stays a constant on the graph.
    hessians = []
    for m in (ember, torch):
        a = m.tensor([1.5, 2.5, 4.0], dtype=m.float64)
        x = m.tensor([0.5, 1.0, 3.0], dtype=m.float64, requires_grad=True)
        (g,) = m.autograd.grad(getattr(m.special, name)(a, x).sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        hessians.append(h.numpy())
    np.testing.assert_allclose(hessians[0], hessians[1], rtol=1e-10, atol=1e-14)


def test_gamma_rsample_second_derivative_raises_like_torch():
    messages = []
    for m in (ember, torch):
        m.manual_seed(0)
        alpha = m.tensor([0.5, 2.0, 7.0], dtype=m.float64, requires_grad=True)
        sample = m.distributions.Gamma(alpha, 2.0).rsample()
        (g,) = m.autograd.grad(sample.sum(), alpha, create_graph=True)
        assert g.requires_grad
        messages.append(_error(g.sum().backward))
    assert messages[0] == messages[1]


def test_gamma_rsample_first_derivative_is_the_same_with_create_graph():
    alpha = ember.tensor([0.5, 2.0, 7.0], dtype=ember.float64, requires_grad=True)
    sample = ember.distributions.Gamma(alpha, 2.0).rsample()
    (first,) = ember.autograd.grad(sample.sum(), alpha, retain_graph=True)
    (graph,) = ember.autograd.grad(sample.sum(), alpha, create_graph=True)
    np.testing.assert_array_equal(graph.detach().numpy(), first.numpy())


def test_sinc_gradient_where_pi_x_squared_underflows_like_torch():
    values = [0.0, -0.0, 1e-300, -1e-170, 1e-150, 0.5]
    grads = []
    for m in (ember, torch):
        x = m.tensor(values, dtype=m.float64, requires_grad=True)
        m.special.sinc(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=0)


_BINARY = ("xlogy", "xlog1py", "zeta", "gammainc", "gammaincc")
_NOT_DIFFERENTIABLE = {"round", "softmax", "log_softmax", "logsumexp"}  # covered elsewhere


def _call(m, name, x):
    fn = getattr(m.special, name)
    if name in _BINARY:
        return fn(x.detach() + 1, x)  # the second argument (the first has no derivative)
    if name == "polygamma":
        return fn(2, x)
    if name == "multigammaln":
        return fn(x + 1, 2)
    if "polynomial" in name:
        return fn(x, 3)
    return fn(x / 3 if name in ("erfinv", "logit", "ndtri") else x)


@pytest.mark.parametrize("name", sorted(set(ember.special.__all__) - _NOT_DIFFERENTIABLE))
def test_every_function_differentiates_twice_where_torch_does(name):
    results = []
    for m in (ember, torch):
        x = m.tensor([0.3, 0.7, 1.3, 2.5], dtype=m.float64, requires_grad=True)
        y = _call(m, name, x)
        if not y.requires_grad:  # Bessel functions and polynomials: constants in both
            results.append(None)
            continue
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = m.autograd.grad((g * g).sum(), x)
        results.append(h.numpy())
    if results[1] is None:
        assert results[0] is None
    else:
        np.testing.assert_allclose(results[0], results[1], rtol=1e-8, atol=1e-12)
