"""no_grad, enable_grad, set_grad_enabled, inference_mode: contexts, decorators, generators, and
"no graph node is allocated when grad is off or no input requires grad"."""

from __future__ import annotations

import pytest
import torch

import ember
from ember.autograd.function import BackwardNode

LIBS = pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])


def _ops(x):
    """A spread of op families; each result must carry no graph node when none is recorded."""
    return [
        x * 2,
        x + x,
        x - 1,
        x / 3,
        x**2,
        -x,
        x.exp(),
        x.tanh(),
        x.sum(),
        x.mean(0),
        x.max(),
        x.view(-1),
        x.reshape(3, 2),
        x.T,
        x[0],
        x[:, 1:],
        x.unsqueeze(0),
        ember.cat([x, x]),
        ember.stack([x, x]),
        x @ x.T,
        x.softmax(-1),
        x.clamp(0, 1),
        ember.where(x > 0, x, x * 0),
        x.double(),
        x.clone(),
        x.expand(2, 2, 3),
    ]


def _count_nodes():
    import gc

    gc.collect()  # garbage from earlier tests, freed mid-test, would shift the count
    return sum(1 for o in gc.get_objects() if issubclass(type(o), BackwardNode))


def test_no_graph_when_no_input_requires_grad():
    x = ember.ones(2, 3)
    for i, y in enumerate(_ops(x)):
        assert y.grad_fn is None and not y.requires_grad, f"op {i}"


def test_no_graph_under_no_grad():
    x = ember.ones(2, 3, requires_grad=True)
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        outs = _ops(x)
    assert ember.is_grad_enabled()
    for i, y in enumerate(outs):
        assert y.grad_fn is None and not y.requires_grad, f"op {i}"


def test_no_node_objects_are_allocated():
    x = ember.ones(2, 3, requires_grad=True)
    before = _count_nodes()
    with ember.no_grad():
        keep = _ops(x)
    keep += _ops(ember.ones(2, 3))
    assert _count_nodes() == before
    keep += _ops(x)  # and the counter does see nodes when a graph is recorded
    assert _count_nodes() >= before + len(_ops(x))


def test_graph_recorded_normally():
    x = ember.ones(2, 3, requires_grad=True)
    for i, y in enumerate(_ops(x)):
        assert y.requires_grad and y.grad_fn is not None, f"op {i}"


def test_nested_contexts():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        with ember.enable_grad():
            assert ember.is_grad_enabled()
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad
    with ember.enable_grad():
        with ember.no_grad():
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad


def test_context_restores_on_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()
    with pytest.raises(ValueError):
        with ember.set_grad_enabled(False):
            raise ValueError
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context():
    x = ember.ones(2, requires_grad=True)
    ember.set_grad_enabled(False)
    try:
        assert not ember.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        ember.set_grad_enabled(True)
    assert (x * 2).requires_grad
    for mode in (True, False):
        with ember.set_grad_enabled(mode):
            assert ember.is_grad_enabled() is mode
            assert (x * 2).requires_grad is mode
        assert ember.is_grad_enabled()
    with ember.no_grad():
        with ember.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not ember.is_grad_enabled()


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.no_grad(),
        lambda m: m.set_grad_enabled(False),
        lambda m: m.inference_mode(),
        lambda m: m.autograd.no_grad(),
    ],
    ids=["no_grad", "set_grad_enabled", "inference_mode", "autograd.no_grad"],
)
@LIBS
def test_decorators_with_instances(make, m):
    x = m.ones(2, requires_grad=True)

    @make(m)
    def f(t):
        return t * 2, m.is_grad_enabled()

    assert m.is_grad_enabled()  # decorating must not change the mode
    y, enabled = f(x)
    assert not enabled and not y.requires_grad, m.__name__
    assert m.is_grad_enabled()
    assert f.__name__ == "f"


@LIBS
def test_bare_decorators(m):

    @m.no_grad
    def f(t):
        return t * 2

    @m.inference_mode
    def g(t):
        return t * 2

    x = m.ones(2, requires_grad=True)
    assert not f(x).requires_grad and not g(x).requires_grad
    assert m.is_grad_enabled()


@LIBS
def test_enable_grad_decorator_inside_no_grad(m):

    @m.enable_grad()
    def f(t):
        return t * 2

    @m.enable_grad
    def g(t):
        return t * 2

    x = m.ones(2, requires_grad=True)
    with m.no_grad():
        assert f(x).requires_grad and g(x).requires_grad
        assert not m.is_grad_enabled()


@LIBS
def test_generator_functions(m):
    modes = []

    @m.no_grad()
    def gen(t):
        for _ in range(3):
            modes.append(m.is_grad_enabled())
            received = yield t * 2
            modes.append(received)
        return "done"

    x = m.ones(2, requires_grad=True)
    g = gen(x)
    first = next(g)
    assert not first.requires_grad
    assert m.is_grad_enabled()  # between steps the caller's mode is back
    second = g.send("hello")
    assert not second.requires_grad
    assert m.is_grad_enabled()
    g.send("a")
    with pytest.raises(StopIteration) as stop:
        g.send("b")
    assert stop.value.value == "done"
    assert modes == [False, "hello", False, "a", False, "b"], m.__name__
    assert m.is_grad_enabled()


@LIBS
def test_generator_close_and_throw(m):
    log = []

    @m.no_grad()
    def gen():
        try:
            while True:
                try:
                    yield 1
                except KeyError:
                    log.append(("caught", m.is_grad_enabled()))
        finally:
            log.append(("closed", m.is_grad_enabled()))

    g = gen()
    next(g)
    assert g.throw(KeyError) == 1
    g.close()
    assert log == [("caught", False), ("closed", False)], m.__name__
    assert m.is_grad_enabled()


def test_decorating_a_class_raises():
    with pytest.raises(TypeError):

        @ember.no_grad()
        class A:
            pass


def test_inference_mode():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        assert not ember.is_grad_enabled()
        assert ember.is_inference_mode_enabled()
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert not ember.is_inference_mode_enabled() and ember.is_grad_enabled()
    with ember.inference_mode(False):
        assert ember.is_grad_enabled()
        assert (x * 2).requires_grad
    with torch.inference_mode(False):
        assert torch.is_grad_enabled()


def test_backward_inside_no_grad_still_works():
    x = ember.ones(2, requires_grad=True)
    y = (x * 3).sum()
    t = torch.ones(2, requires_grad=True)
    ty = (t * 3).sum()
    with ember.no_grad():
        y.backward()
    with torch.no_grad():
        ty.backward()
    assert x.grad.tolist() == t.grad.tolist()


def test_requires_grad_leaf_created_under_no_grad():
    with ember.no_grad():
        w = ember.zeros(2, requires_grad=True)
        w2 = ember.ones(2).requires_grad_()
    assert w.requires_grad and w.is_leaf and w2.requires_grad
    (w * 2 + w2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]
