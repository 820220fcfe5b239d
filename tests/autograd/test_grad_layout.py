"""The gradient layout contract: the ``.grad`` of a dense leaf has the leaf's strides
(channels-last, transposed), the ``.grad`` of any other leaf is C-contiguous, and accumulating
keeps that layout; strides and values are checked against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

# How each leaf is laid out: a view of a fresh C-order tensor, detached into a leaf.
LEAVES = {
    "contiguous": ((2, 3, 4), lambda x: x),
    "channels_last": ((2, 4, 5, 3), lambda x: x.permute(0, 3, 1, 2)),
    "channels_last_one_channel": ((2, 4, 5, 1), lambda x: x.permute(0, 3, 1, 2)),
    "transposed": ((3, 4), lambda x: x.t()),
    "strided": ((4, 6), lambda x: x[:, ::2]),
    "expanded": ((3, 1), lambda x: x.expand(3, 4)),
}

# Losses whose gradients reach the leaf in different layouts: the leaf's own (elementwise), a
# zero-stride broadcast (sum), C order (through a reshape) and a view (slice).
LOSSES = {
    "elementwise": lambda x: (x * x).sum(),
    "sum": lambda x: x.sum(),
    "reshaped": lambda x: (x.reshape(-1) * 3).sum(),
    "sliced": lambda x: x[1:].exp().sum(),
}


def _leaf(m, name: str):
    shape, view = LEAVES[name]
    base = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return view(m.tensor(base)).detach().requires_grad_()


def _strides(t) -> tuple:
    """The strides that say how memory is laid out: those of dims of size > 1 (PyTorch keeps an
    incoming gradient whatever the strides of its size-1 dims, so those follow the ops)."""
    return tuple(s if n != 1 else None for s, n in zip(t.stride(), t.shape))


def _check(xe, xt) -> None:
    assert _strides(xe.grad) == _strides(xt.grad)
    ge, gt = xe.grad.detach().numpy(), xt.grad.detach().numpy()
    np.testing.assert_allclose(ge, gt, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_grad_strides_match_torch(leaf, loss):
    xe, xt = _leaf(ember, leaf), _leaf(torch, leaf)
    assert xe.stride() == xt.stride()
    for _ in range(2):  # the first gradient is stored, the second added into it
        LOSSES[loss](xe).backward()
        LOSSES[loss](xt).backward()
        _check(xe, xt)


@pytest.mark.parametrize("loss", ["elementwise", "reshaped", "sliced"])
@pytest.mark.parametrize(
    "shape,view",
    [((4, 16, 16, 32), lambda x: x.permute(0, 3, 1, 2)), ((256, 128), lambda x: x.t())],
    ids=["channels_last", "transposed"],
)
def test_big_gradients_in_another_layout_accumulate_as_torch(shape, view, loss):
    """Past the size where a gradient in another memory order is first copied into .grad's
    layout (engine._RELAYOUT_MIN), three backward passes give torch's values and strides."""
    base = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    xe = view(ember.tensor(base)).detach().requires_grad_()
    xt = view(torch.tensor(base)).detach().requires_grad_()
    held = None
    for _ in range(3):
        LOSSES[loss](xe).backward()
        LOSSES[loss](xt).backward()
        _check(xe, xt)
        held = xe.grad if held is None else held
    assert held is xe.grad  # accumulated in place, as PyTorch's AccumulateGrad


# (backward(create_graph=True) warns about the reference cycle in both libraries.)
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("leaf", ["channels_last", "transposed", "strided"])
def test_grad_strides_under_create_graph(leaf):
    xe, xt = _leaf(ember, leaf), _leaf(torch, leaf)
    (xe.reshape(-1) ** 3).sum().backward(create_graph=True)
    (xt.reshape(-1) ** 3).sum().backward(create_graph=True)
    _check(xe, xt)
    # The stored gradient keeps its graph: its own gradient matches too.
    ge = ember.autograd.grad(xe.grad.sum(), xe)[0]
    gt = torch.autograd.grad(xt.grad.sum(), xt)[0]
    np.testing.assert_allclose(ge.numpy(), gt.numpy(), rtol=1e-5, atol=1e-5)


def test_channels_last_conv_weight_grad():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((4, 5, 5, 3)).astype(np.float32)  # (O, kh, kw, I) memory

    def run(m):
        weight = m.tensor(w).permute(0, 3, 1, 2).detach().requires_grad_()
        m.nn.functional.conv2d(m.tensor(x), weight, padding=1).square().sum().backward()
        return weight

    we, wt = run(ember), run(torch)
    assert we.stride() == wt.stride() == (75, 1, 15, 3)
    assert we.grad.stride() == wt.grad.stride()
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_grad_owns_its_memory():
    """A gradient handed over as a view (or shared by two leaves) is copied for each leaf."""
    a = ember.randn(4, 3).t().detach().requires_grad_()
    b = ember.randn(3, 4).requires_grad_()
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.numpy().tolist() == [[1.0] * 4] * 3
    assert a.grad.stride() == a.stride()


# ---- which incoming gradients .grad keeps without a copy ---------------------------------------
class _Returns(ember.autograd.Function):
    """Identity forward; backward hands back what ``make(g)`` builds (to test the engine)."""

    @staticmethod
    def forward(ctx, x, make):
        ctx.make = make
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return ctx.make(g), None


def _grad_of(make, shape=(64, 1024)):
    x = ember.zeros(shape, requires_grad=True)
    _Returns.apply(x, make).sum().backward()
    return x.grad


def test_grad_copies_a_view_of_a_pooled_buffer():
    from ember._scratch import scratch

    held = []

    def pooled(g):
        buf = scratch.get(tuple(g.shape), np.float32)  # 256 KB: a view of a pool buffer
        buf[...] = 2.0
        held.append(buf)
        return ember.from_numpy(buf)

    grad = _grad_of(pooled)
    held[0][...] = 7.0  # the pool hands the buffer out again; .grad must not change
    assert not np.shares_memory(grad.numpy(), held[0])
    assert (grad.numpy() == 2.0).all()


def test_grad_copies_a_view_of_an_array_kept_elsewhere():
    kept = []

    def saved_view(g):
        whole = ember.full((g.numel(),), 3.0)
        kept.append(whole)
        return whole.view(g.shape)

    grad = _grad_of(saved_view)
    kept[0].fill_(5.0)
    assert (grad.numpy() == 3.0).all()


def test_grad_keeps_a_whole_view_of_a_fresh_array():
    """A gradient computed fresh and reshaped (conv and matmul weight gradients) shares memory
    with nothing else: it becomes .grad without a copy."""
    ptrs = []

    def fresh_view(g):
        v = ember.full((1, g.numel()), 4.0).view(g.shape)
        ptrs.append(v.data_ptr())
        return v

    grad = _grad_of(fresh_view)
    assert grad.data_ptr() == ptrs[0] and (grad.numpy() == 4.0).all()
    # A part of a bigger fresh array is copied (keeping it would hold the whole array).
    part = _grad_of(lambda g: ember.full((2, *g.shape), 4.0)[0])
    assert part.numpy().base is None
