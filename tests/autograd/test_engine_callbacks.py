"""Post-accumulate-grad hooks, end-of-backward callbacks and ``Variable``, against torch."""

from __future__ import annotations

import pytest
import torch

import ember


def _run_post_hooks(m):
    """What the hooks see: the summed .grad once per pass, after the tensor hooks."""
    log = []
    x = m.ones(3, requires_grad=True)
    x.register_hook(lambda g: g * 10)
    h = x.register_post_accumulate_grad_hook(lambda t: log.append(t.grad.tolist()))
    (x * 2 + x * 3).sum().backward()  # two uses: the hook runs once, on the sum
    (x * 1).sum().backward()  # accumulates: the hook sees the total
    m.autograd.grad((x * 2).sum(), x)  # no accumulation, no hook
    h.remove()
    (x * 1).sum().backward()
    return log, x.grad.tolist()


def test_post_accumulate_grad_hook_matches_torch():
    assert _run_post_hooks(ember) == _run_post_hooks(torch)


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_post_accumulate_grad_hook_with_inputs_and_handle_context(m):
    log = []
    a, b = m.ones(2, requires_grad=True), m.ones(2, requires_grad=True)
    with a.register_post_accumulate_grad_hook(lambda t: log.append("a")):
        b.register_post_accumulate_grad_hook(lambda t: log.append("b"))
        (a * b).sum().backward(inputs=[b])
        (a * b).sum().backward()
    (a * b).sum().backward()
    assert sorted(log) == ["a", "b", "b", "b"]


@pytest.mark.parametrize("case", ["nonleaf", "no_grad", "returns_value"])
def test_post_accumulate_grad_hook_errors_match_torch(case):
    def run(m):
        x = m.ones(2, requires_grad=case != "no_grad")
        if case == "nonleaf":
            (x * 2).register_post_accumulate_grad_hook(lambda t: None)
        elif case == "no_grad":
            x.register_post_accumulate_grad_hook(lambda t: None)
        else:
            x.register_post_accumulate_grad_hook(lambda t: t.grad)
            (x * 1).sum().backward()

    with pytest.raises(RuntimeError) as te:
        run(torch)
    with pytest.raises(RuntimeError) as ee:
        run(ember)
    assert str(ee.value) == str(te.value)


def _run_callbacks(m):
    order = []
    eng = m.autograd.Variable._execution_engine

    def cb2():
        order.append("cb2")

    def cb1():
        order.append("cb1")
        eng.queue_callback(cb2)  # queued by a callback: runs in the same pass

    def hook(g):
        order.append("hook")
        eng.queue_callback(cb1)
        return g

    x = m.ones(2, requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: order.append("post"))
    y = x * 2
    y.register_hook(hook)
    y.sum().backward()
    order.append("after")
    y = x * 2
    y.sum().backward()  # a later pass does not rerun earlier callbacks
    return order


def test_queue_callback_runs_at_end_of_backward_like_torch():
    assert _run_callbacks(ember) == _run_callbacks(torch)


def test_queue_callback_outside_backward_raises_like_torch():
    with pytest.raises(RuntimeError) as te:
        torch.autograd.Variable._execution_engine.queue_callback(lambda: None)
    with pytest.raises(RuntimeError) as ee:
        ember.autograd.Variable._execution_engine.queue_callback(lambda: None)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_queue_callback_in_nested_backward_belongs_to_the_inner_pass(m):
    order = []
    x = m.ones(2, requires_grad=True)

    def hook(g):
        z = m.ones(2, requires_grad=True)
        with m.enable_grad():  # backward runs its hooks with grad mode off
            w = z * 3
            w.register_hook(
                lambda g2: (
                    m.autograd.Variable._execution_engine.queue_callback(
                        lambda: order.append("inner")
                    ),
                    g2,
                )[1]
            )
            w.sum().backward()
        order.append("inner done")
        return g

    y = x * 2
    y.register_hook(hook)
    y.sum().backward()
    assert order == ["inner", "inner done"]


def test_variable_matches_torch():
    for m in (ember, torch):
        t = m.ones(2, requires_grad=True)
        v = m.autograd.Variable(t)
        assert v is not t and not v.requires_grad and v.grad_fn is None
        v = m.autograd.Variable(m.ones(2), requires_grad=True)
        assert v.requires_grad and v.is_leaf
        assert isinstance(m.zeros(1), m.autograd.Variable)
        assert not isinstance([1.0], m.autograd.Variable)
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        torch.autograd.Variable([1.0])
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        ember.autograd.Variable([1.0])


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_hooks_run_with_grad_mode_off_like_torch(m):
    seen = []
    x = m.ones(2, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: seen.append(m.is_grad_enabled()))
    y.sum().backward()
    assert seen == [False]
