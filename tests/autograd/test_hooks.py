"""Tensor hooks, retain_grad, node hooks and next_functions, run side by side with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

LIBS = pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])


def _run_leaf_hooks(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)  # replaces the gradient
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * x).sum().backward()
    grad1 = x.grad.tolist()
    h1.remove()
    x.grad = None
    (x * 2).sum().backward()
    return seen, grad1, x.grad.tolist()


def test_leaf_hooks_match_torch():
    assert _run_leaf_hooks(ember) == _run_leaf_hooks(torch)


def _run_nonleaf_hooks(m):
    x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(("y", g.tolist())))
    y.register_hook(lambda g: g + 1)
    z = y.relu()
    z.register_hook(lambda g: seen.append(("z", g.tolist())))
    z.retain_grad()
    y.retain_grad()
    (z * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return seen, x.grad.tolist(), y.grad.tolist(), z.grad.tolist(), y.retains_grad, x.retains_grad


def test_nonleaf_hooks_and_retain_grad_match_torch():
    assert _run_nonleaf_hooks(ember) == _run_nonleaf_hooks(torch)


@LIBS
def test_retain_grad_accumulates_and_hook_order(m):
    x = m.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert y.grad.tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [4.0, 4.0]


@LIBS
def test_retain_grad_errors(m):
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        m.ones(2).retain_grad()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        m.ones(2).register_hook(lambda g: g)
    x = m.ones(2, requires_grad=True)
    x.retain_grad()  # a no-op on leaves
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


@LIBS
def test_hook_handle_context_manager(m):
    x = m.ones(2, requires_grad=True)
    calls = []
    with x.register_hook(lambda g: calls.append(1)):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == [1]


@LIBS
def test_hook_on_multi_use_tensor_sees_summed_grad(m):
    x = m.ones(3, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    (y * 3 + y * 4).sum().backward()
    assert seen == [[7.0, 7.0, 7.0]]


def _run_node_hooks(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    w = m.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    log = []

    def post(grad_inputs, grad_outputs):
        log.append(
            (
                "post",
                [None if g is None else g.tolist() for g in grad_inputs],
                [g.tolist() for g in grad_outputs],
            )
        )
        return (grad_inputs[0] * 2, grad_inputs[1])

    def pre(grad_outputs):
        log.append(("pre", [g.tolist() for g in grad_outputs]))
        return (grad_outputs[0] + 1,)

    y.grad_fn.register_hook(post)
    h = y.grad_fn.register_prehook(pre)
    y.sum().backward(retain_graph=True)
    first = (x.grad.tolist(), w.grad.tolist())
    h.remove()
    x.grad = w.grad = None
    y.sum().backward()
    return log, first, x.grad.tolist(), w.grad.tolist()


def test_node_hooks_match_torch():
    assert _run_node_hooks(ember) == _run_node_hooks(torch)


def _structure(fn, depth=0, out=None):
    """The graph below ``fn`` as nested (name, children) tuples (leaves by name only)."""
    if fn is None:
        return None
    name = fn.name()
    if "AccumulateGrad" in name:
        return ("AccumulateGrad", fn.variable.shape)
    # ember lists a (None, 0) entry for every non-tensor argument too (docs/differences.md)
    return (name, tuple(_structure(f) for f, _ in fn.next_functions if f is not None))


def test_next_functions_structure_matches_torch():
    graphs = []
    for m in (ember, torch):
        a = m.ones(2, requires_grad=True)
        b = m.ones(2, requires_grad=True)
        c = m.ones(2)
        y = ((a * b) + (a * c)).exp().sum()
        graphs.append(_structure(y.grad_fn))
        assert y.grad_fn.next_functions[0][1] == 0
    norm = lambda s: tuple(s) if not isinstance(s, tuple) else s  # noqa: E731
    assert norm(graphs[0]) == norm(graphs[1])


def test_accumulate_grad_variable_is_the_leaf():
    a = ember.ones(2, requires_grad=True)
    y = a * 2
    acc = y.grad_fn.next_functions[0][0]
    assert acc.variable is a
    assert y.grad_fn.next_functions[1] == (None, 0)
    assert acc.next_functions == ()


def test_grad_fn_metadata_and_name():
    a = ember.ones(2, requires_grad=True)
    y = a.exp()
    assert y.grad_fn.name() == "ExpBackward0"
    y.grad_fn.metadata["k"] = 1
    assert y.grad_fn.metadata == {"k": 1}


def test_hooks_with_autograd_grad():
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 2)
        (gx,) = m.autograd.grad(y.sum(), x)
        assert gx.tolist() == [6.0, 6.0]
        assert x.grad is None


def test_hook_gradient_feeds_leaf_values():
    g = np.random.default_rng(0).standard_normal(4).astype(np.float32)
    res = []
    for m in (ember, torch):
        x = m.tensor(g, requires_grad=True)
        x.register_hook(lambda gr: gr.clamp(-0.1, 0.1))
        (x.tanh() * 5).sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])
