"""The backward engine on graphs of many shapes, compared with torch: accumulation, fan-out,
multi-output nodes, broadcasting, dtypes, saved-tensor release."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


def _arr(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


GRAPHS = {
    "fanout": lambda m, x, w: (x * w[:2] + x.exp() * w[1:] - x).sum(),
    "reuse_many": lambda m, x, w: sum((x * (k + 1)).sum() for k in range(10)) * w.sum(),
    "broadcast": lambda m, x, w: (x + w[0]).mul(w[1:2].T.sum()).pow(2).mean(),
    "split_cat": lambda m, x, w: m.cat(list(x.chunk(3, 1))[::-1], 1).mul(w[:2]).sum(),
    "multi_output": lambda m, x, w: (x.max(1).values * w.sum(1)[:2].sum()).sum(),
    "unbind": lambda m, x, w: sum(r.sum() * (i + 1) for i, r in enumerate(x.unbind(0))) * w.mean(),
    "indexing": lambda m, x, w: (x[:, [0, 2]] * w[0, :2]).sum() + x[x > 0].sum(),
    "views": lambda m, x, w: (x.view(6).reshape(3, 2).T @ w[:, :2]).sum(),
    "matmul_chain": lambda m, x, w: (x @ w.T @ x.T).tanh().sum(),
    "softmax": lambda m, x, w: (x.softmax(1) * w[:2]).sum() + x.log_softmax(0).sum(),
    "where_clamp": lambda m, x, w: m.where(x > 0, x * w[:2], x.clamp(-0.5, 0.5)).sum(),
    "scalar_ops": lambda m, x, w: ((x * 2.0 + 1.0) / 3.0 - 0.5).pow(3).sum() * (1 - w).sum(),
    "zero_dim_chain": lambda m, x, w: x[0, 0] * 2.0 + x[1, 1] * 3.0 + w.sum() * x.sum(),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_gradients_match_torch(name):
    a, b = _arr((2, 3), 0), _arr((3, 3), 1)
    fn = GRAPHS[name]
    xe, we = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    xt, wt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ye, yt = fn(ember, xe, we), fn(torch, xt, wt)
    assert_close(ye, yt, rtol=1e-5, atol=1e-5)
    ye.backward()
    yt.backward()
    for e, t in [(xe, xt), (we, wt)]:
        if t.grad is None:
            assert e.grad is None or not e.grad.numpy().any()
        else:
            assert_close(e.grad, t.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_grad_of_one_input_matches_torch(name, wrt, create_graph):
    # autograd.grad with respect to one of two leaves: the engine computes only the gradients
    # on paths to it (engine._prune); with create_graph, the second derivative too.
    a, b = _arr((2, 3), 0).astype(np.float64), _arr((3, 3), 1).astype(np.float64)
    res = []
    for m in (ember, torch):
        xs = [m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)]
        y = GRAPHS[name](m, *xs)
        (g,) = m.autograd.grad(y, xs[wrt], create_graph=create_graph, allow_unused=True)
        hs = [None, None]
        if create_graph and g is not None and g.requires_grad:
            hs = m.autograd.grad((g * g).sum(), xs, allow_unused=True)
        res.append((g, hs))
    (ge, he), (gt, ht) = res
    if gt is None:
        assert ge is None or not ge.detach().numpy().any()
    else:
        assert_close(ge.detach(), gt.detach(), rtol=1e-10, atol=1e-12)
    for e, t in zip(he, ht):
        if t is None:
            assert e is None or not e.numpy().any()
        else:
            assert_close(e, t, rtol=1e-10, atol=1e-12)


def test_grad_leaves_nodes_off_its_paths_unrun():
    # As torch: autograd.grad(z, y) runs only the nodes between z and y, so (without
    # retain_graph) the saved values of the others are kept and z.backward() still works.
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = m.tensor([3.0, 4.0], requires_grad=True)
        z = x.exp().sum() + (y + 1).sum()
        (gy,) = m.autograd.grad(z, y)
        z.backward()
        assert_close(x.grad, torch.tensor([1.0, 2.0]).exp(), rtol=1e-6, atol=0)
        assert_close(gy, torch.ones(2), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_leaf_grad_keeps_leaf_dtype(dtype):
    for m in (ember, torch):
        x = m.ones(3, dtype=getattr(m, dtype), requires_grad=True)
        (x.float() * 2).sum().backward()
        assert str(x.grad.dtype).endswith(dtype)
        assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_broadcast_leaf_gets_its_own_shape():
    for m in (ember, torch):
        b = m.zeros(1, 3, requires_grad=True)
        s = m.zeros((), requires_grad=True)
        (m.ones(4, 3) * b + s).sum().backward()
        assert tuple(b.grad.shape) == (1, 3) and b.grad.tolist() == [[4.0, 4.0, 4.0]]
        assert tuple(s.grad.shape) == () and s.grad.item() == 12.0


def test_saved_arrays_released_after_backward():
    x = ember.ones(1000, requires_grad=True)
    h = x * 1.0
    y = h * h  # saves h's array
    ref = weakref.ref(h._data) if hasattr(h._data, "__weakref__") else None
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None
    del h
    gc.collect()
    if ref is not None:
        assert ref() is None or ref() is x._data


def test_retain_graph_keeps_saved_arrays():
    x = ember.ones(3, requires_grad=True)
    y = (x * x).sum()
    node = y.grad_fn.next_functions[0][0]
    y.backward(retain_graph=True)
    assert node._saved is not None
    y.backward()
    assert node._saved is None


def test_no_grad_inputs_get_no_grad():
    for m in (ember, torch):
        x = m.ones(2, requires_grad=True)
        c = m.ones(2)
        (x * c).sum().backward()
        assert c.grad is None and x.grad.tolist() == [1.0, 1.0]


def test_detach_stops_gradient():
    for m in (ember, torch):
        x = m.tensor([2.0], requires_grad=True)
        y = x * x.detach() + x.detach() ** 2
        y.backward()
        assert x.grad.tolist() == [2.0]


def test_requires_grad_propagation():
    x = ember.ones(2, requires_grad=True)
    c = ember.ones(2)
    assert (x + c).requires_grad and not (c + c).requires_grad
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None
    assert not x.argmax().requires_grad
    v, i = x.max(0)
    assert v.requires_grad and not i.requires_grad


def test_non_float_outputs_of_float_inputs_have_no_grad_fn():
    x = ember.ones(2, requires_grad=True)
    for y in [x.long(), x.int(), x.bool(), x == 1, x.argmax()]:
        assert not y.requires_grad and y.grad_fn is None


def test_multi_output_partial_use():
    a = _arr((4, 5), 3)
    res = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        parts = x.split(2, 1)
        (parts[0].sum() * 2 + parts[2].sum()).backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


def test_same_leaf_many_paths_accumulates_once_per_backward():
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x
        for _ in range(5):
            y = y + x
        y.sum().backward()
        assert x.grad.tolist() == [6.0, 6.0]


def test_backward_through_parameter_and_module_style_reuse():
    a = _arr((3, 3), 5)
    res = []
    for m in (ember, torch):
        w = m.nn.Parameter(m.tensor(a))
        x = m.ones(2, 3)
        for _ in range(3):
            x = (x @ w).tanh()
        x.sum().backward()
        res.append(w.grad)
    assert_close(res[0], res[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", ["mean", "sum", "mean_dim", "sum_dim"])
def test_a_reductions_gradient_is_writable_as_torchs(reduce):
    """mean's gradient is a fresh tensor (expand, then divide), sum's an expanded view that
    refuses in-place writes: as in PyTorch."""
    outcomes = []
    for lib in (torch, ember):
        x = lib.ones(2, 3, requires_grad=True)
        name, _, dim = reduce.partition("_")
        y = getattr(x, name)(1) if dim else getattr(x, name)()
        (g,) = lib.autograd.grad(y.sum(), x)
        try:
            g.add_(1)
            outcomes.append(("ok", g.tolist()))
        except RuntimeError as e:
            outcomes.append(("error", str(e)[:60]))
    assert outcomes[0] == outcomes[1]
