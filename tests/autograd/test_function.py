"""Custom ``autograd.Function``: PyTorch's documented examples, run in ember and in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


def _make_functions(m):
    """The same custom Functions written against module ``m`` (ember or torch)."""

    class Exp(m.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class LinearFunction(m.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class LinearSetup(m.autograd.Function):
        """The setup_context style: forward without ctx."""

        @staticmethod
        def forward(input, weight, bias):
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias = inputs
            ctx.save_for_backward(input, weight, bias)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class MulConstant(m.autograd.Function):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class MyCube(m.autograd.Function):
        """Two outputs; setup_context saves an intermediate via the outputs."""

        @staticmethod
        def forward(x):
            dx = 3 * x**2
            result = x**3
            return result, dx

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    class Sort(m.autograd.Function):
        """mark_non_differentiable: the indices output never requires grad."""

        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return values, idx

        @staticmethod
        def backward(ctx, g1, g2):
            x, idx = ctx.saved_tensors
            return m.zeros_like(x).scatter(0, idx, g1)

    class SimpleFunc(m.autograd.Function):
        """set_materialize_grads(False): backward sees None for unused outputs."""

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.seen = (g1 is None, g2 is None)
            x = g1 if g1 is not None else g2
            grad = m.zeros_like(x)
            if g1 is not None:
                grad = grad + g1
            if g2 is not None:
                grad = grad + 2 * g2
            return grad

    class Materialized(m.autograd.Function):
        """Default materialize_grads: an unused output's grad arrives as zeros."""

        @staticmethod
        def forward(ctx, x):
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            assert g1 is not None and g2 is not None
            return g1 + 3 * g2

    return {
        "Exp": Exp,
        "LinearFunction": LinearFunction,
        "LinearSetup": LinearSetup,
        "MulConstant": MulConstant,
        "MyCube": MyCube,
        "Sort": Sort,
        "SimpleFunc": SimpleFunc,
        "Materialized": Materialized,
    }


EF, TF = _make_functions(ember), _make_functions(torch)


def _inputs(*shapes, seed=0, dtype=np.float32):
    g = np.random.default_rng(seed)
    arrs = [g.standard_normal(s).astype(dtype) for s in shapes]
    return (
        [ember.tensor(a, requires_grad=True) for a in arrs],
        [torch.tensor(a, requires_grad=True) for a in arrs],
    )


def _compare(e_out, t_out, e_in, t_in, seed=1):
    assert_close(e_out, t_out, rtol=1e-5, atol=1e-6, what="forward")
    up = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(up))
    t_out.backward(torch.tensor(up))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.grad is None:
            assert e.grad is None, f"input {i}"
        else:
            assert_close(e.grad, t.grad, rtol=1e-5, atol=1e-5, what=f"grad {i}")


def test_exp():
    (e,), (t,) = _inputs((3, 4))
    eo, to = EF["Exp"].apply(e), TF["Exp"].apply(t)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__ == "ExpBackward"
    _compare(eo, to, [e], [t])


@pytest.mark.parametrize("name", ["LinearFunction", "LinearSetup"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_function(name, with_bias):
    (x, w, b), (tx, tw, tb) = _inputs((5, 3), (4, 3), (4,))
    args_e = (x, w, b if with_bias else None)
    args_t = (tx, tw, tb if with_bias else None)
    _compare(EF[name].apply(*args_e), TF[name].apply(*args_t), [x, w, b], [tx, tw, tb])


def test_linear_needs_input_grad():
    (x, w, b), (tx, tw, tb) = _inputs((5, 3), (4, 3), (4,))
    x.requires_grad_(False)
    tx.requires_grad_(False)
    seen = {}

    class Spy(ember.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias):
            return EF["LinearFunction"].forward(ctx, input, weight, bias)

        @staticmethod
        def backward(ctx, g):
            seen["nig"] = tuple(ctx.needs_input_grad)
            return EF["LinearFunction"].backward(ctx, g)

    _compare(Spy.apply(x, w, b), TF["LinearFunction"].apply(tx, tw, tb), [x, w, b], [tx, tw, tb])
    assert seen["nig"] == (False, True, True)


def test_mul_constant_non_tensor_argument():
    (x,), (tx,) = _inputs((2, 3))
    _compare(EF["MulConstant"].apply(x, 5.5), TF["MulConstant"].apply(tx, 5.5), [x], [tx])


def test_gradcheck_of_custom_functions():
    g = np.random.default_rng(3)
    x = ember.tensor(g.standard_normal((3, 2)), requires_grad=True)
    w = ember.tensor(g.standard_normal((4, 2)), requires_grad=True)
    b = ember.tensor(g.standard_normal(4), requires_grad=True)
    assert ember.autograd.gradcheck(EF["LinearFunction"].apply, (x, w, b))
    assert ember.autograd.gradcheck(EF["LinearSetup"].apply, (x, w, b))
    assert ember.autograd.gradcheck(EF["Exp"].apply, (x,))
    assert ember.autograd.gradcheck(lambda t: EF["MulConstant"].apply(t, 3.0), (x,))
    assert ember.autograd.gradcheck(EF["MyCube"].apply, (x,))


def test_two_outputs_with_setup_context():
    (x,), (tx,) = _inputs((4,))
    er, edx = EF["MyCube"].apply(x)
    tr, tdx = TF["MyCube"].apply(tx)
    assert_close(er, tr)
    assert_close(edx, tdx)
    assert edx.requires_grad and edx.grad_fn is er.grad_fn
    ((er * 2).sum() + edx.sum()).backward()
    ((tr * 2).sum() + tdx.sum()).backward()
    assert_close(x.grad, tx.grad, rtol=1e-5, atol=1e-5)


def test_mark_non_differentiable():
    (x,), (tx,) = _inputs((5,))
    ev, ei = EF["Sort"].apply(x)
    tv, ti = TF["Sort"].apply(tx)
    assert ev.requires_grad and not ei.requires_grad and ei.grad_fn is None
    assert ei.tolist() == ti.tolist()
    (ev * ember.arange(5.0)).sum().backward()
    (tv * torch.arange(5.0)).sum().backward()
    assert_close(x.grad, tx.grad)


def test_set_materialize_grads_false():
    (x,), (tx,) = _inputs((3,))
    e1, e2 = EF["SimpleFunc"].apply(x)
    t1, t2 = TF["SimpleFunc"].apply(tx)
    e1.sum().backward()  # only the first output is used
    t1.sum().backward()
    assert e1.grad_fn.seen == t1.grad_fn.seen == (False, True)
    assert_close(x.grad, tx.grad)
    x.grad = None
    tx.grad = None
    e1, e2 = EF["SimpleFunc"].apply(x)
    t1, t2 = TF["SimpleFunc"].apply(tx)
    e2.sum().backward()
    t2.sum().backward()
    assert e1.grad_fn.seen == t1.grad_fn.seen == (True, False)
    assert_close(x.grad, tx.grad)


def test_materialized_grads_by_default():
    (x,), (tx,) = _inputs((3,))
    EF["Materialized"].apply(x)[1].sum().backward()
    TF["Materialized"].apply(tx)[1].sum().backward()
    assert_close(x.grad, tx.grad)


def test_saved_tensors_freed_after_backward():
    (x,), _ = _inputs((3,))
    y = EF["Exp"].apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.grad_fn.saved_tensors
    z = EF["Exp"].apply(x)
    z.sum().backward(retain_graph=True)
    assert len(z.grad_fn.saved_tensors) == 1
    z.sum().backward()
    assert_close(x.grad, torch.tensor(3 * np.exp(x.detach().numpy())))


def test_saved_tensor_modified_inplace_raises():
    (x,), _ = _inputs((3,))
    y = EF["Exp"].apply(x)
    y.add_(1)  # y itself was saved for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_no_graph_without_grad():
    x = ember.ones(3)
    y = EF["Exp"].apply(x)
    assert y.grad_fn is None and not y.requires_grad
    xr = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        y = EF["Exp"].apply(xr)
    assert y.grad_fn is None and not y.requires_grad


def test_forward_runs_without_grad():
    seen = {}

    class Peek(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            seen["inner"] = (y.requires_grad, ember.is_grad_enabled())
            return y

        @staticmethod
        def backward(ctx, g):
            seen["backward_grad_mode"] = ember.is_grad_enabled()
            return g * 2

    x = ember.ones(2, requires_grad=True)
    y = Peek.apply(x)
    assert seen["inner"] == (False, False)
    assert y.requires_grad and type(y.grad_fn).__name__ == "PeekBackward"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_return_input_unchanged_is_a_new_tensor():
    class Identity(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = ember.ones(2, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_wrong_number_of_gradients():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class TBad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TBad.apply(torch.ones(2, requires_grad=True), torch.ones(2)).sum().backward()
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(ember.ones(2, requires_grad=True), ember.ones(2)).sum().backward()


def test_missing_backward_raises():
    class NoBackward(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    y = NoBackward.apply(ember.ones(2, requires_grad=True))
    with pytest.raises(NotImplementedError):
        y.sum().backward()


def test_function_in_a_chain_with_builtin_ops():
    (x, w, b), (tx, tw, tb) = _inputs((6, 3), (2, 3), (2,))
    eo = EF["Exp"].apply(EF["LinearFunction"].apply(x.tanh(), w, b) * 0.1).mean(0)
    to = TF["Exp"].apply(TF["LinearFunction"].apply(tx.tanh(), tw, tb) * 0.1).mean(0)
    _compare(eo, to, [x, w, b], [tx, tw, tb])


def test_ctx_attributes_and_once_differentiable():
    class Scale(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, k=2.0):
            ctx.k = k
            ctx.shape = x.shape
            return x * k

        @staticmethod
        @ember.autograd.function.once_differentiable
        def backward(ctx, g):
            assert ctx.shape == (2,)
            return g * ctx.k, None

    x = ember.ones(2, requires_grad=True)
    Scale.apply(x, 4.0).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]
