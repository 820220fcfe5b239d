"""Tensor attributes, conversions and Python protocols, checked against torch."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


def _pair(data, **kw):
    return ember.tensor(data, **kw), torch.tensor(data, **kw if not kw else _tkw(kw))


def _tkw(kw):
    out = dict(kw)
    if "dtype" in out:
        out["dtype"] = getattr(torch, out["dtype"].name)
    return out


X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_shape_size_dim_numel():
    e, t = _pair(np.zeros((2, 3, 4)).tolist())
    assert e.shape == t.shape == (2, 3, 4)
    assert isinstance(e.shape, ember.Size) and isinstance(e.shape, tuple)
    assert e.size() == t.size()
    for d in (0, 1, 2, -1, -3):
        assert e.size(d) == t.size(d)
        assert e.shape[d] == t.shape[d]
    for d in (3, -4):
        with pytest.raises(IndexError):
            t.size(d)
        with pytest.raises(IndexError, match="Dimension out of range"):
            e.size(d)
    assert e.dim() == e.ndim == e.ndimension() == t.dim() == 3
    assert e.numel() == e.nelement() == t.numel() == 24
    assert e.shape.numel() == t.shape.numel()
    assert repr(e.shape) == repr(t.shape).replace("torch", "ember")
    assert e.shape[1:] == (3, 4) and isinstance(e.shape[1:], ember.Size)
    assert isinstance(e.shape + (5,), ember.Size)
    s0, t0 = _pair(3.5)
    assert s0.shape == t0.shape == () and s0.dim() == 0 and s0.numel() == 1
    with pytest.raises(IndexError):
        s0.size(1)


def test_dtype_device_and_flags():
    e, t = _pair(X)
    assert e.dtype is ember.float32
    assert str(e.device) == str(t.device) == "cpu"
    assert e.device == ember.device("cpu")
    assert e.device.type == "cpu"
    assert not e.requires_grad and e.grad is None and e.grad_fn is None and e.is_leaf
    assert e.is_floating_point() and not ember.tensor([1]).is_floating_point()
    assert e.element_size() == t.element_size()
    assert e.is_contiguous() and not e.T.is_contiguous()
    assert e.T.stride() == t.T.stride()
    assert not e.is_cuda and e.is_cpu


def test_requires_grad_setting():
    e = ember.tensor(X)
    e.requires_grad = True
    assert e.requires_grad and e.is_leaf
    assert e.requires_grad_(False) is e and not e.requires_grad
    assert e.requires_grad_() is e and e.requires_grad
    y = e * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="leaf"):
        (torch.ones(1, requires_grad=True) * 2).requires_grad_(False)
    y.requires_grad_(True)  # allowed on non-leaves (a no-op)
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).requires_grad_()


def test_grad_attribute():
    e = ember.ones(3, requires_grad=True)
    (e * e).sum().backward()
    assert_close(e.grad, torch.full((3,), 2.0))
    e.grad = None
    assert e.grad is None
    e.grad = ember.zeros(3)
    with pytest.raises(RuntimeError, match="size"):
        e.grad = ember.zeros(4)
    with pytest.raises(RuntimeError, match="type"):
        e.grad = ember.zeros(3, dtype=ember.float64)
    with pytest.raises(TypeError):
        e.grad = 3
    y = e * 2
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None


def test_data_is_detached_shares_memory_separate_version():
    e = ember.ones(3, requires_grad=True)
    y = e * 2
    for src in (e, y):
        d = src.data
        assert not d.requires_grad and d.is_leaf and d.grad_fn is None
        assert np.shares_memory(d.numpy(), src._data)
        v = src._version
        d.add_(1)  # allowed: .data escapes autograd, and does not bump src's version
        assert src._version == v
    assert e.tolist() == [2.0, 2.0, 2.0]
    t = torch.ones(3, requires_grad=True)
    t.data.add_(1)
    assert_close(e.detach(), t.detach())
    # assigning .data swaps the storage
    e.data = ember.zeros(3)
    assert e.tolist() == [0.0, 0.0, 0.0] and e.requires_grad


def test_detach_shares_memory_and_version():
    e = ember.ones(3, requires_grad=True)
    y = e * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y._data)
    v = y._version
    d.add_(1)
    assert y._version == v + 1  # detach() shares the version counter (unlike .data)
    assert y.tolist() == [3.0, 3.0, 3.0]


def test_detach_inplace():
    e = ember.ones(3, requires_grad=True)
    y = e * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    e.detach_()
    assert not e.requires_grad


def test_transposes():
    a = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    e, t = ember.tensor(a), torch.tensor(a)
    m = ember.tensor(a[0])
    assert_close(m.T, torch.tensor(a[0]).T)
    assert_close(e.mT, t.mT)
    with pytest.warns(UserWarning):  # torch deprecates .T below 2-D; ember allows it silently
        t1 = torch.tensor(a[0, 0]).T
    assert_close(ember.tensor(a[0, 0]).T, t1)
    # gradient through T and mT
    w = np.arange(24.0, dtype=np.float32).reshape(2, 4, 3)
    er = ember.tensor(a, requires_grad=True)
    tr = torch.tensor(a, requires_grad=True)
    (er.mT * ember.tensor(w)).sum().backward()
    (tr.mT * torch.tensor(w)).sum().backward()
    assert_close(er.grad, tr.grad)
    m2 = ember.tensor(a[0], requires_grad=True)
    t2 = torch.tensor(a[0], requires_grad=True)
    (m2.T * ember.tensor(w[0])).sum().backward()
    (t2.T * torch.tensor(w[0])).sum().backward()
    assert_close(m2.grad, t2.grad)
    with pytest.raises(RuntimeError):
        ember.ones(3).mT


def test_item_and_tolist():
    for data in [3.5, 7, True, [2.5], [[4]]]:
        e, t = _pair(data)
        assert e.item() == t.item() and type(e.item()) is type(t.item())
    for data in [X, [[1, 2]], [True, False], 5, []]:
        e, t = _pair(data)
        assert e.tolist() == t.tolist()
    assert type(ember.tensor([1]).tolist()[0]) is int
    with pytest.raises(RuntimeError, match="elements cannot be converted to Scalar"):
        ember.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0]).item()
    assert ember.ones(1, requires_grad=True).item() == 1.0


def test_numpy_shares_memory_and_refuses_grad():
    e = ember.tensor(X)
    a = e.numpy()
    a[0, 0] = 42
    assert e[0, 0].item() == 42
    r = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        r.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        torch.ones(2, requires_grad=True).numpy()
    assert r.detach().numpy().tolist() == [1.0, 1.0]
    assert r.numpy(force=True).tolist() == [1.0, 1.0]
    assert e.numpy().dtype == np.float32


def test_array_protocol():
    e = ember.tensor(X)
    a = np.asarray(e)
    assert a.dtype == np.float32 and a.shape == (2, 3)
    assert np.shares_memory(a, e.numpy())
    assert np.asarray(e, dtype=np.float64).dtype == np.float64
    assert_close(np.array(e), torch.tensor(X))
    # NumPy defers `ndarray op Tensor` to the Tensor
    r = np.ones(3, dtype=np.float32) + ember.ones(3)
    assert isinstance(r, ember.Tensor)


def test_clone_contiguous():
    e = ember.tensor(X, requires_grad=True)
    c = e.clone()
    assert c.grad_fn is not None and not np.shares_memory(c._data, e._data)
    assert c.grad_fn.name() == torch.tensor(X, requires_grad=True).clone().grad_fn.name()
    c.sum().backward()
    assert e.grad.tolist() == [[1.0] * 3] * 2
    e2 = ember.tensor(X)
    assert e2.contiguous() is e2
    tt = e2.T.contiguous()
    assert tt.is_contiguous() and tt.tolist() == torch.tensor(X).T.tolist()


def test_to_variants():
    e = ember.tensor(X)
    assert e.to(ember.float32) is e
    assert e.to("cpu") is e and e.to(ember.device("cpu")) is e and e.cpu() is e
    assert e.to(ember.float64).dtype is ember.float64
    assert e.to(dtype=ember.int64).tolist() == torch.tensor(X).to(torch.int64).tolist()
    assert e.to("cpu", ember.float16).dtype is ember.float16
    assert e.to(device="cpu", dtype=ember.float64).dtype is ember.float64
    assert e.to(ember.tensor([1], dtype=ember.int32)).dtype is ember.int32
    c = e.to(ember.float32, copy=True)
    assert c is not e and not np.shares_memory(c._data, e._data)
    with pytest.raises(RuntimeError):
        e.to("cuda")
    with pytest.raises(TypeError):
        e.to(foo=1)
    # to() keeps the graph for float targets
    r = ember.ones(2, requires_grad=True)
    d = r.to(ember.float64)
    assert d.requires_grad and d.grad_fn is not None
    d.sum().backward()
    assert r.grad.dtype is ember.float32 and r.grad.tolist() == [1.0, 1.0]
    assert not r.to(ember.int64).requires_grad


CASTS = ["float", "double", "half", "long", "int", "bool", "short", "char", "byte"]


@pytest.mark.parametrize("meth", CASTS)
def test_cast_methods(meth):
    data = [[1.7, -2.2], [0.0, 3.9]]
    e, t = getattr(ember.tensor(data), meth)(), getattr(torch.tensor(data), meth)()
    assert e.dtype.name == str(t.dtype)[6:]
    if meth not in ("byte",):  # negative float -> uint8 is undefined in C
        assert e.tolist() == t.tolist()


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_type_strings(dtype):
    e = ember.zeros(2, dtype=getattr(ember, dtype))
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    assert e.type() == t.type()  # ember keeps torch's legacy type strings
    assert e.type(t.type()).dtype.name == dtype
    f = ember.zeros(2)
    assert f.type(getattr(ember, dtype)).dtype.name == dtype
    assert f.type(ember.LongTensor).dtype is ember.int64
    assert f.type("torch.DoubleTensor").dtype is ember.float64
    with pytest.raises(ValueError):
        f.type("torch.NotATensor")


def test_type_as():
    assert ember.zeros(2).type_as(ember.tensor([1])).dtype is ember.int64


def test_len_iter():
    e, t = _pair(X)
    assert len(e) == len(t) == 2
    rows = list(e)
    assert [r.tolist() for r in rows] == [r.tolist() for r in t]
    assert all(isinstance(r, ember.Tensor) for r in rows)
    assert [x.item() for x in ember.tensor([3, 4])] == [3, 4]
    with pytest.raises(TypeError):
        len(ember.tensor(1.0))
    with pytest.raises(TypeError):
        len(torch.tensor(1.0))
    with pytest.raises(TypeError):
        iter(ember.tensor(1.0))
    with pytest.raises(TypeError):
        iter(torch.tensor(1.0))
    # iterating a tensor that requires grad keeps the graph
    r = ember.tensor(X, requires_grad=True)
    sum(row.sum() * (i + 1) for i, row in enumerate(r)).backward()
    assert r.grad.tolist() == [[1.0] * 3, [2.0] * 3]
    assert list(ember.zeros(0, 3)) == []


def test_bool():
    for data in [[1.0], [0], 0.0, 2, [[True]], [False]]:
        e, t = _pair(data)
        assert bool(e) is bool(t)
    for data in [[1.0, 2.0], []]:
        with pytest.raises(RuntimeError):
            bool(torch.tensor(data))
        with pytest.raises(RuntimeError):
            bool(ember.tensor(data))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if ember.ones(2):
            pass


def test_number_protocols():
    assert int(ember.tensor(3.7)) == int(torch.tensor(3.7)) == 3
    assert float(ember.tensor([2])) == 2.0
    assert [10, 20, 30][ember.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][ember.tensor(1.0)]
    assert f"{ember.tensor(3.14159):.2f}" == f"{torch.tensor(3.14159):.2f}" == "3.14"
    assert format(ember.tensor([1.0])) == str(ember.tensor([1.0]))


def test_hash_by_identity():
    a, b = ember.ones(2), ember.ones(2)
    assert hash(a) == id(a) and hash(a) != hash(b)
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    s = {a, b, a}
    assert len(s) == 2
    p = ember.nn.Parameter(ember.ones(1))
    assert p in {p} and len({p, p}) == 1


def test_equality_is_elementwise():
    a = ember.tensor([1, 2, 3])
    assert (a == ember.tensor([1, 0, 3])).tolist() == [True, False, True]
    assert (a == 2).dtype is ember.bool


def test_deepcopy():
    e = ember.tensor(X, requires_grad=True)
    e.sum().backward()
    c = copy.deepcopy(e)
    assert c is not e and c.requires_grad and c.is_leaf
    assert not np.shares_memory(c._data, e._data)
    assert c.tolist() == e.tolist() and c.grad.tolist() == e.grad.tolist()
    assert c.grad is not e.grad
    c.data.add_(1)
    assert e.tolist() == X
    # memo keeps shared references shared
    pair = copy.deepcopy([e, e])
    assert pair[0] is pair[1]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(e * 2)
    with pytest.raises(RuntimeError):
        copy.deepcopy(torch.ones(1, requires_grad=True) * 2)
    assert copy.copy(ember.ones(2)).tolist() == [1.0, 1.0]


def test_pickle_round_trip():
    for e in [ember.tensor(X), ember.tensor([1, 2], dtype=ember.int16), ember.tensor(True)]:
        r = pickle.loads(pickle.dumps(e))
        assert r.dtype is e.dtype and r.tolist() == e.tolist() and r.shape == e.shape
    g = ember.ones(2, requires_grad=True)
    r = pickle.loads(pickle.dumps(g))
    assert r.requires_grad and r.is_leaf
    s = pickle.loads(pickle.dumps(ember.Size([2, 3])))
    assert isinstance(s, ember.Size) and s == (2, 3)
    assert pickle.loads(pickle.dumps(ember.float16)) is ember.float16


def test_new_factories():
    e = ember.tensor([[1.0]], dtype=ember.float64)
    t = torch.tensor([[1.0]], dtype=torch.float64)
    for fn, args in [("new_zeros", (2, 3)), ("new_ones", ((2,),)), ("new_empty", (1,))]:
        a, b = getattr(e, fn)(*args), getattr(t, fn)(*args)
        assert a.shape == b.shape and a.dtype is ember.float64
    assert_close(e.new_full((2,), 3.0), t.new_full((2,), 3.0))
    assert_close(e.new_tensor([1, 2]), t.new_tensor([1, 2]))
    assert e.new_zeros(2, dtype=ember.int64).dtype is ember.int64
    assert e.new_ones(1, requires_grad=True).requires_grad


def test_T_reverses_dims_and_warns_once_off_two_dims(monkeypatch):
    # torch warns once per process (so its own warning cannot be re-triggered here) for x.T on
    # a tensor of other than 2 dims; values and gradients as torch's.
    import ember._methods as M

    monkeypatch.setattr(M, "_T_WARNED", [False])
    x = np.arange(24.0).reshape(2, 3, 4)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        t = ember.tensor(x, requires_grad=True)
        y = t.T
        ember.ones(3).T
        ember.ones(2, 2).T
    assert [str(w.message)[:60] for w in seen] == [
        "The use of `x.T` on tensors of dimension other than 2 to rev"
    ]
    tt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yt = tt.T
    assert tuple(y.shape) == tuple(yt.shape) == (4, 3, 2)
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    (y * ember.tensor(x.T)).sum().backward()
    (yt * torch.tensor(x.T)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
