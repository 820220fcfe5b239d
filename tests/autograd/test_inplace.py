"""In-place ops and the version counter: values and gradients vs torch, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

INPLACE = [
    ("add_", lambda x: x.add_(2.0)),
    ("add_tensor", lambda x: x.add_(x.detach() * 0 + 1.5)),
    ("add_alpha", lambda x: x.add_(x.detach() * 0 + 1.0, alpha=3)),
    ("sub_", lambda x: x.sub_(1.0)),
    ("mul_", lambda x: x.mul_(3.0)),
    ("div_", lambda x: x.div_(4.0)),
    ("iadd", lambda x: x.__iadd__(1.0)),
    ("isub", lambda x: x.__isub__(1.0)),
    ("imul", lambda x: x.__imul__(2.0)),
    ("idiv", lambda x: x.__itruediv__(2.0)),
    ("zero_", lambda x: x.zero_()),
    ("fill_", lambda x: x.fill_(7.0)),
    ("clamp_", lambda x: x.clamp_(-0.5, 0.5)),
    ("clamp_min", lambda x: x.clamp_(min=0.0)),
    ("exp_", lambda x: x.exp_()),
    ("tanh_", lambda x: x.tanh_()),
    ("sigmoid_", lambda x: x.sigmoid_()),
    ("relu_", lambda x: x.relu_()),
    ("pow_", lambda x: x.pow_(2)),
    ("neg_", lambda x: x.neg_()),
    ("abs_", lambda x: x.abs_()),
]

LIBS = pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])


def _mask(m, x):
    return x.detach() > 0


def _lib_fns(m):
    return {
        "masked_fill_": lambda x: x.masked_fill_(_mask(m, x), 0.25),
        "copy_": lambda x: x.copy_(m.arange(6.0).reshape(2, 3)),
        "copy_broadcast": lambda x: x.copy_(m.tensor([1.0, 2.0, 3.0])),
        "setitem_scalar": lambda x: x.__setitem__((0, 1), 5.0),
        "setitem_slice": lambda x: x.__setitem__((slice(None), 0), m.tensor([9.0, 8.0])),
        "setitem_mask": lambda x: x.__setitem__(_mask(m, x), 0.0),
    }


ALL = [n for n, _ in INPLACE] + list(_lib_fns(ember))


def _get(m, name):
    d = dict(INPLACE)
    return d[name] if name in d else _lib_fns(m)[name]


def _data(seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (2, 3)).astype(np.float32)


@pytest.mark.parametrize("name", ALL)
def test_inplace_value_and_version(name):
    a = _data()
    e, t = ember.tensor(a), torch.tensor(a)
    v = e._version
    r = _get(ember, name)(e)
    _get(torch, name)(t)
    assert_close(e, t, rtol=1e-6, atol=1e-6)
    assert e._version > v
    if r is not None:
        assert r is e


@pytest.mark.parametrize("name", ALL)
def test_inplace_on_non_leaf_gradient(name):
    a = _data()
    w = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye, yt = xe * 1.5, xt * 1.5
    _get(ember, name)(ye)
    _get(torch, name)(yt)
    assert_close(ye, yt, rtol=1e-6, atol=1e-6)
    assert ye.requires_grad == yt.requires_grad
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-6)


def test_inplace_with_grad_requiring_other_operand():
    a = _data()
    xe, xt = ember.tensor(a), torch.tensor(a)
    be, bt = ember.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    xe.mul_(be)
    xt.mul_(bt)
    assert xe.requires_grad and xt.requires_grad and not xe.is_leaf
    (xe * 2).sum().backward()
    (xt * 2).sum().backward()
    assert_close(be.grad, bt.grad)
    ce, ct = ember.zeros(2, 3), torch.zeros(2, 3)
    ce.copy_(be.expand(2, 3) * 3)
    ct.copy_(bt.expand(2, 3) * 3)
    ce.sum().backward()
    ct.sum().backward()
    assert_close(be.grad, bt.grad)


@pytest.mark.parametrize(
    "name,op",
    [
        ("exp", lambda x: x.exp()),  # saves its output
        ("mul", lambda x: x * x),  # saves inputs
        ("tanh", lambda x: x.tanh()),
        ("sigmoid", lambda x: x.sigmoid()),
        ("pow", lambda x: x**3),
        ("div", lambda x: x / x),
        ("matmul", lambda x: x @ x.T),
    ],
)
def test_modifying_saved_tensor_raises_at_backward(name, op):
    for m in (torch, ember):
        x = m.tensor(_data() + 2, requires_grad=True)
        h = x * 1.0  # non-leaf, saved by `op`
        y = op(h)
        if name in ("exp", "tanh", "sigmoid"):
            y.add_(1)  # these save their output
        else:
            h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@LIBS
def test_modification_not_saved_is_fine(m):
    x = m.ones(3, requires_grad=True)
    h = x * 2
    y = h + 1  # add saves nothing
    h.mul_(5)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_error_message_names_version():
    x = ember.ones(3, requires_grad=True)
    h = x * 1.0
    y = h * h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0 instead"):
        y.sum().backward()


@LIBS
def test_leaf_requiring_grad_inplace(m):
    w = m.ones(3, requires_grad=True)
    for f in [
        lambda: w.add_(1),
        lambda: w.mul_(2),
        lambda: w.zero_(),
        lambda: w.fill_(1.0),
        lambda: w.copy_(m.zeros(3)),
        lambda: w.clamp_(0, 1),
        lambda: w.uniform_(),
        lambda: w.normal_(),
        lambda: w.masked_fill_(m.tensor([True, False, True]), 0.0),
        lambda: w.__setitem__(0, 5.0),
        lambda: w.exp_(),
    ]:
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            f()
    with m.no_grad():
        w.add_(1)
        w.mul_(2)
        w[0] = 10.0
        w.clamp_(max=5.0)
    assert w.tolist() == [5.0, 4.0, 4.0]
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    (w * w).sum().backward()
    assert w.grad.tolist() == [10.0, 8.0, 8.0]


@LIBS
def test_view_of_leaf_inplace_raises(m):
    w = m.ones(2, 3, requires_grad=True)
    v = w[0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        v.add_(1)


def test_views_share_version_counter():
    x = ember.ones(4, 3)
    views = [x[0], x.view(12), x.reshape(3, 4), x.T, x[:, 1], x.unsqueeze(0), x.detach()]
    t = torch.ones(4, 3)
    tviews = [t[0], t.view(12), t.reshape(3, 4), t.T, t[:, 1], t.unsqueeze(0), t.detach()]
    x.add_(1)
    t.add_(1)
    for i, (v, tv) in enumerate(zip(views, tviews)):
        assert v._version == x._version == tv._version == t._version == 1, i
    views[0].mul_(2)  # writing through a view bumps the base's version
    tviews[0].mul_(2)
    assert x._version == t._version == 2
    assert x[0].tolist() == t[0].tolist()
    # .data has its own counter
    d = x.data
    d.add_(1)
    td = t.data
    td.add_(1)
    assert x._version == t._version == 2
    assert d._version == td._version == 1


@LIBS
def test_inplace_through_view_detected_at_backward(m):
    x = m.ones(2, 3, requires_grad=True)
    h = x * 2
    y = h.exp()
    h[0].mul_(0) if m is torch else h[0].mul_(0)
    # h was not saved by exp (exp saves its output): backward works
    y.sum().backward()
    x.grad = None
    h = x * 2
    y = h * h
    h[1].add_(1)  # h was saved by mul: its view shares the counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@LIBS
def test_version_counter_increments(m):
    x = m.zeros(3)
    assert x._version == 0
    x.add_(1)
    x += 1
    x[0] = 3
    x.zero_()
    x.fill_(2.0)
    x.copy_(m.ones(3))
    x.clamp_(0, 1)
    assert x._version == 7, m.__name__


@LIBS
def test_inplace_dtype_errors(m):
    i = m.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.mul_(m.tensor([0.5, 0.5]))
    f = m.zeros(3)
    with pytest.raises(RuntimeError):
        f.add_(m.ones(4))
    f.add_(m.tensor([1, 2, 3]))  # int into float is fine
    assert f.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_inplace_write_into_a_saved_output_raises_at_backward_as_torch(shape):
    """A 0-d result (NumPy hands back a scalar) is checked like any other saved output."""
    for lib in (ember, torch):
        x = lib.full(shape, 2.0, requires_grad=True)
        y = lib.exp(x)
        y.masked_fill_(y > 0, -0.5)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
