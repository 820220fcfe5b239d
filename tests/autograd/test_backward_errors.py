"""backward / autograd.grad contracts and PyTorch's errors for misuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

LIBS = pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])


@LIBS
def test_second_backward_through_freed_graph(m):
    x = m.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


@LIBS
def test_second_backward_on_graph_without_saved_tensors_is_allowed(m):
    x = m.ones(3, requires_grad=True)
    y = (x + 1).sum()  # add and sum save nothing
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


@LIBS
def test_retain_graph_allows_second_backward_and_accumulates(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert x.grad.tolist() == [2.0, 4.0]
    y.backward(retain_graph=True)
    assert x.grad.tolist() == [4.0, 8.0]
    y.backward()
    assert x.grad.tolist() == [6.0, 12.0]
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


@LIBS
def test_implicit_grad_of_non_scalar(m):
    x = m.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError, match="grad can be implicitly created only for scalar outputs"
    ):
        (x * 2).backward()
    with pytest.raises(
        RuntimeError, match="grad can be implicitly created only for scalar outputs"
    ):
        m.autograd.grad(x * 2, x)
    (x * 2).backward(m.ones(3))
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    (m.ones(1, requires_grad=True) * 2).backward()  # a one-element tensor is fine


@LIBS
def test_backward_on_tensor_without_grad(m):
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        m.ones(2).sum().backward()
    with m.no_grad():
        y = (m.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        m.autograd.grad(m.ones(1).sum(), m.ones(1, requires_grad=True))


@LIBS
def test_gradient_shape_mismatch(m):
    x = m.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(m.ones(4))


@LIBS
def test_autograd_grad_basic_and_does_not_touch_grad(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = m.autograd.grad(y, [x, w])
    assert gx.tolist() == [0.5, -1.0, 2.0] and gw.tolist() == [1.0, 2.0, 3.0]
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


@LIBS
def test_autograd_grad_allow_unused(m):
    x = m.ones(2, requires_grad=True)
    u = m.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        m.autograd.grad((x * 2).sum(), [x, u])
    gx, gu = m.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None
    gx, gu = m.autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
    assert gu.tolist() == [0.0, 0.0]


@LIBS
def test_autograd_grad_outputs_and_multiple_outputs(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y1, y2 = x * 3, x * x
    (g,) = m.autograd.grad(
        [y1, y2], x, grad_outputs=[m.ones(2), m.tensor([1.0, 0.5])], retain_graph=True
    )
    assert g.tolist() == [5.0, 5.0]
    (g,) = m.autograd.grad(y1, x, grad_outputs=m.tensor([2.0, -1.0]), retain_graph=True)
    assert g.tolist() == [6.0, -3.0]


@LIBS
def test_autograd_grad_on_intermediate(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    gh, gx = m.autograd.grad(y, [h, x])
    assert gh.tolist() == [6.0, 12.0] and gx.tolist() == [18.0, 36.0]


@LIBS
def test_autograd_grad_input_not_requiring_grad(m):
    x = m.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        m.autograd.grad((x * 2).sum(), m.ones(2))


@LIBS
def test_backward_inputs_argument(m):
    x = m.ones(2, requires_grad=True)
    w = m.ones(2, requires_grad=True)
    (x * w * 3).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [3.0, 3.0]
    m.autograd.backward([(x * 2).sum(), (w * 5).sum()], inputs=[x])
    assert x.grad.tolist() == [2.0, 2.0] and w.grad.tolist() == [3.0, 3.0]


@LIBS
def test_autograd_backward_several_roots(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    m.autograd.backward([x * 2, (x * x).sum()], [m.tensor([1.0, 1.0]), None])
    assert x.grad.tolist() == [4.0, 6.0]


@LIBS
def test_create_graph(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad((x * x).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    assert m.autograd.grad(g.sum(), x)[0].tolist() == [2.0, 2.0]


def test_gradient_accumulates_across_backwards_and_zeroing():
    for m in (ember, torch):
        x = m.tensor([1.0, -1.0], requires_grad=True)
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        assert x.grad.tolist() == [5.0, 5.0]
        x.grad.zero_()
        (x * 1).sum().backward()
        assert x.grad.tolist() == [1.0, 1.0]


def test_gradient_accumulates_in_place_like_torch():
    # Outside create_graph a second backward adds into the existing .grad (PyTorch's
    # AccumulateGrad: a view taken of .grad before sees the sum; the upstream stays untouched).
    res = []
    for m in (ember, torch):
        x = m.tensor([[1.0, -1.0], [2.0, 0.5]], requires_grad=True)
        up = m.tensor([[1.0, 2.0], [3.0, 4.0]])
        (x * 2).backward(up)
        held = x.grad
        view = held[1]
        (x * x).backward(up)
        res.append((held is x.grad, view.tolist(), x.grad.tolist(), up.tolist()))
    assert res[0] == res[1]


def test_grad_is_not_aliased_with_upstream():
    """The upstream gradient passed to backward never becomes a leaf's .grad in place."""
    x = ember.ones(3, requires_grad=True)
    up = ember.tensor([1.0, 2.0, 3.0])
    (x + 0).backward(up)
    x.grad.mul_(0)
    assert up.tolist() == [1.0, 2.0, 3.0]
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(5)
    assert b.grad.tolist() == [1.0, 1.0]


def test_long_chain_no_recursion_error():
    x = ember.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    # and a deep chain through a user Function and views
    y = x
    for _ in range(20_000):
        y = y.view(1) + 0.0
    (g,) = ember.autograd.grad(y.sum(), x)
    assert g.tolist() == [1.0]


def test_diamond_graph_matches_torch():
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    res = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        h = x.tanh()
        p, q = h * 2, h.exp()
        r = (p * q).sum(1) + h.mean(1) * p.max()
        r.sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1], rtol=1e-5, atol=1e-6)


def test_grad_of_integer_output_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2, requires_grad=True).argmax().backward()
    with pytest.raises(RuntimeError):
        ember.ones(2, requires_grad=True).argmax().backward()
