"""The rest of ``ctx``'s API (mark_dirty, setup_context without a graph, save_for_forward,
jvp/vmap) and anomaly mode: each custom Function body runs under ember and under torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

LIBS = [ember, torch]


def _inc(m):
    """Multiplies its input by 3 in place and marks it dirty."""

    class Inc(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(3)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    return Inc


def _run_dirty(m):
    a = m.tensor([1.0, -2.0, 0.5], requires_grad=True)
    b = a * 2
    v0 = b._version
    out = _inc(m).apply(b)
    facts = (out is b, b._version - v0, type(b.grad_fn).__name__, b.requires_grad)
    (out * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return facts, a.grad


def test_mark_dirty_returns_the_input_bumps_its_version_and_rebases_it():
    e_facts, e_grad = _run_dirty(ember)
    t_facts, t_grad = _run_dirty(torch)
    assert e_facts == t_facts == (True, 2, "IncBackward", True)
    assert_close(e_grad, t_grad)


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_mark_dirty_without_a_graph_still_bumps_the_version(m):
    x = m.ones(2)
    y = _inc(m).apply(x)
    assert y is x and x._version == 2 and x.tolist() == [3.0, 3.0]


def _leaf(m):
    return m.ones(2, requires_grad=True)


def _view_of_leaf(m):
    return m.ones(3, requires_grad=True)[:2]


@pytest.mark.parametrize("make", [_leaf, _view_of_leaf])
def test_mark_dirty_on_a_leaf_raises_as_torch(make):
    with pytest.raises(RuntimeError) as te:
        _inc(torch).apply(make(torch))
    with pytest.raises(RuntimeError) as ee:
        _inc(ember).apply(make(ember))
    assert str(ee.value) == str(te.value)


def test_mark_dirty_input_not_returned_raises_as_torch():
    def run(m):
        class Inc2(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

        with pytest.raises(RuntimeError) as e:
            Inc2.apply(m.ones(2, requires_grad=True) * 1)
        return str(e.value)

    assert run(ember) == run(torch)
    assert "marked as dirty" in run(ember)


def _setup_calls(m):
    calls = []

    class Double(m.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            calls.append(len(inputs))

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Double.apply(m.ones(2))
    with m.no_grad():
        Double.apply(m.ones(2, requires_grad=True))
    return calls


def test_setup_context_runs_with_or_without_a_graph():
    assert _setup_calls(ember) == _setup_calls(torch) == [1, 1]


def _saves_for_forward(m):
    class Fwd(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = m.tensor([1.0, 2.0], requires_grad=True)
    Fwd.apply(x).sum().backward()
    return Fwd, x.grad


def test_save_for_forward_is_accepted_and_jvp_vmap_raise_as_torch():
    ef, eg = _saves_for_forward(ember)
    tf, tg = _saves_for_forward(torch)
    assert_close(eg, tg)
    assert ef.generate_vmap_rule is tf.generate_vmap_rule is False
    for f in (ef, tf):
        with pytest.raises(NotImplementedError, match="jvp function"):
            f.jvp(None, None)
        with pytest.raises(NotImplementedError, match="generate_vmap_rule=True"):
            f.vmap(None, (0,), None)


# ---- anomaly mode ---------------------------------------------------------------------------
def _nan_backward(m):
    class NanGrad(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    return NanGrad


def _anomaly_run(m, build):
    """Run ``build(m)`` (which makes the graph) and backward in anomaly mode; return the error
    message and the warnings' texts."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly():
            assert m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
            x = m.tensor([-1.0, 4.0], requires_grad=True)
            y = build(m, x)
            with pytest.raises(RuntimeError) as e:
                y.sum().backward()
    assert not m.is_anomaly_enabled()
    return str(e.value), [str(x.message) for x in w]


def _sqrt_graph(m, x):
    with np.errstate(invalid="ignore"):
        return (x * 1).sqrt()  # the forward line the warning must name


def _custom_graph(m, x):
    return _nan_backward(m).apply(x)


@pytest.mark.parametrize("build", [_sqrt_graph, _custom_graph])
def test_anomaly_mode_names_the_node_that_returned_nan(build):
    e_msg, e_warn = _anomaly_run(ember, build)
    t_msg, t_warn = _anomaly_run(torch, build)
    assert e_msg == t_msg
    assert "returned nan values in its 0th output" in e_msg
    assert e_warn[0] == t_warn[0]  # "Anomaly Detection has been enabled..."
    line = "return (x * 1).sqrt()" if build is _sqrt_graph else "_nan_backward(m).apply(x)"
    for ws in (e_warn, t_warn):
        trace = [w for w in ws if w.startswith("Error detected in")]
        assert len(trace) == 1 and line in trace[0]


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_anomaly_mode_reports_an_error_in_backward_with_the_forward_trace(m):
    class Boom(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise ValueError("Some error in backward")

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly():
            out = Boom.apply(m.ones(2, requires_grad=True))  # the forward call
            with pytest.raises(ValueError, match="Some error in backward"):
                out.sum().backward()
    trace = [str(x.message) for x in w if str(x.message).startswith("Error detected in")]
    assert len(trace) == 1 and "BoomBackward" in trace[0] and "the forward call" in trace[0]


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_anomaly_check_nan_false_and_set_detect_anomaly(m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with m.autograd.detect_anomaly(check_nan=False):
            x = m.ones(2, requires_grad=True)
            _nan_backward(m).apply(x).sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    m.autograd.set_detect_anomaly(True)
    try:
        assert m.is_anomaly_enabled()
        with m.autograd.set_detect_anomaly(False):
            assert not m.is_anomaly_enabled()
            _nan_backward(m).apply(m.ones(2, requires_grad=True)).sum().backward()
        assert m.is_anomaly_enabled()
    finally:
        m.autograd.set_detect_anomaly(False)
    assert not m.is_anomaly_enabled()


def test_anomaly_mode_keeps_gradients_and_create_graph_exact():
    def run(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly():
                x = m.tensor([0.5, 1.5, -0.3], requires_grad=True)
                y = (x.tanh() * x.exp()).sum()
                (g,) = m.autograd.grad(y, x, create_graph=True)
                g.sum().backward()
        return g.detach(), x.grad

    (eg, egg), (tg, tgg) = run(ember), run(torch)
    assert_close(eg, tg, rtol=1e-5, atol=1e-6)
    assert_close(egg, tgg, rtol=1e-5, atol=1e-6)
