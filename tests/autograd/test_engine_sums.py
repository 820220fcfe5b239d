"""Gradient sums in the backward engine: a node with several consumers gets their gradients
added up; the engine adds into sums it made itself in place (pooled when big), so the cases
where one gradient array reaches a node twice, or a sum flows on unchanged, are checked against
PyTorch here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _both(fn, shape):
    x_np = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xe = ember.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    fn(ember, xe).sum().backward()
    fn(torch, xt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


CASES = {
    # y feeds four consumers: one sum made by the engine, then two in-place additions.
    "four_consumers": lambda m, x: (lambda y: y.sin() + y.cos() + y * y + y.exp())(x * 2),
    # Add hands the same gradient array to both of its edges, which lead to the same node.
    "same_array_twice": lambda m, x: (lambda y: (y + y) * 3)(x.tanh()),
    # The engine's sum flows on through an Add unchanged into a node with another consumer.
    "sum_passed_on": lambda m, x: (lambda y: (lambda s: s + s.sigmoid())(y + y * y))(x * 0.5),
    # Chunks of one tensor: each chunk's gradient lands in the same input.
    "chunks": lambda m, x: sum(c * (i + 1) for i, c in enumerate(m.chunk(x * 1.5, 3, dim=-1))),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape", [(3, 6), (300, 600)], ids=["small", "pooled"])
def test_engine_gradient_sums_match_torch(name, shape):
    _both(CASES[name], shape)


def test_sums_do_not_touch_gradients_held_by_hooks():
    seen = []
    x = ember.randn(300, 600, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or None)
    z = y.sin() + y.cos() + y * y
    z.sum().backward()
    yd = y.detach().numpy()
    expected = np.cos(yd) - np.sin(yd) + 2 * yd
    np.testing.assert_allclose(seen[0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected, rtol=1e-5, atol=1e-5)
