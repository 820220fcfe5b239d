"""Creation functions against torch: values, shapes, dtypes, memory sharing and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


def _same(e: ember.Tensor, t: torch.Tensor) -> None:
    assert_close(e, t, rtol=1e-6, atol=1e-7, what="creation")
    assert e.requires_grad == t.requires_grad


TENSOR_DATA = [
    [[1, 2], [3, 4]],
    [1.5, 2, 3],
    [[1, 2.5]],
    [True, False],
    [[True], [False]],
    [True, 2],
    [True, 2.5],
    3,
    -2.5,
    True,
    [],
    [[], []],
    [1e10, 1e-10],
    (1, 2, 3),
    [(1, 2), (3, 4)],
    [2**40, -(2**40)],
]


@pytest.mark.parametrize("data", TENSOR_DATA, ids=repr)
def test_tensor_from_python(data):
    _same(ember.tensor(data), torch.tensor(data))


@pytest.mark.parametrize(
    "np_dtype",
    ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"],
)
def test_tensor_from_numpy_keeps_dtype_and_copies(np_dtype):
    a = (np.arange(6).reshape(2, 3) % 3).astype(np_dtype)
    e = ember.tensor(a)
    _same(e, torch.tensor(a))
    a[0, 0] = 1
    assert e[0, 0].item() == 0  # tensor() always copies


def test_tensor_from_numpy_scalars_and_mixed():
    for data in [np.float64(2.5), np.int32(3), np.float32(1.5), [np.float64(1.0), 2.0]]:
        _same(ember.tensor(data), torch.tensor(data))


@pytest.mark.parametrize(
    "data,dtype",
    [
        ([1, 2], "float64"),
        ([1.7, -2.7], "int64"),
        ([0, 1, 2], "bool"),
        ([1.5], "float16"),
        ([[1, 2]], "uint8"),
    ],
)
def test_tensor_explicit_dtype(data, dtype):
    _same(
        ember.tensor(data, dtype=getattr(ember, dtype)),
        torch.tensor(data, dtype=getattr(torch, dtype)),
    )


def test_tensor_requires_grad_and_from_tensor():
    e = ember.tensor([1.0, 2.0], requires_grad=True)
    assert e.requires_grad and e.is_leaf and e.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2], requires_grad=True)
    src = ember.tensor([1.0, 2.0])
    with pytest.warns(UserWarning):
        torch.tensor(torch.tensor([1.0]))  # torch warns; ember copies silently
    c = ember.tensor(src)
    c.add_(1)
    assert src.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "bad", ["abc", [1, "a"], object(), [[1, 2], [3]], [[1, 2], 3], [[[1], [2]], [[1], [2, 3]]]]
)
def test_tensor_bad_data(bad):
    with pytest.raises((TypeError, ValueError, RuntimeError)) as t_err:
        torch.tensor(bad)
    with pytest.raises(t_err.type) as e_err:
        ember.tensor(bad)
    if t_err.type is not TypeError:
        assert str(e_err.value) == str(t_err.value)


def test_tensor_list_of_tensors():
    data_e = [ember.tensor(1.5), ember.tensor(2.0)]
    data_t = [torch.tensor(1.5), torch.tensor(2.0)]
    _same(ember.tensor(data_e), torch.tensor(data_t))
    _same(
        ember.tensor([ember.tensor([1, 2]), ember.tensor([3, 4])]),
        torch.tensor([[1, 2], [3, 4]]),
    )


def test_as_tensor_shares_numpy_memory():
    a = np.arange(4, dtype=np.float32)
    e = ember.as_tensor(a)
    a[0] = 7
    assert e[0].item() == 7
    e2 = ember.as_tensor(a, dtype=ember.float64)  # needs a copy
    a[1] = 9
    assert e2[1].item() == 1
    assert e2.dtype is ember.float64
    t = ember.tensor([1.0, 2.0])
    assert ember.as_tensor(t) is t
    assert ember.as_tensor(t, dtype=ember.float32) is t
    assert ember.as_tensor(t, dtype=ember.float64).dtype is ember.float64
    _same(ember.as_tensor([1, 2.5]), torch.as_tensor([1, 2.5]))
    _same(ember.as_tensor(3), torch.as_tensor(3))
    _same(ember.asarray([[1, 2]]), torch.asarray([[1, 2]]))


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros((2, 3), dtype=np.float64)
    e = ember.from_numpy(a)
    assert e.dtype is ember.float64
    a[0, 1] = 5.0
    assert e[0, 1].item() == 5.0
    e[1, 2] = 3.0
    assert a[1, 2] == 3.0
    e.add_(1)
    assert a[0, 0] == 1.0
    assert np.shares_memory(e.numpy(), a)
    # non-contiguous arrays are shared too
    b = np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2]
    eb = ember.from_numpy(b)
    tb = torch.from_numpy(b)
    _same(eb, tb)
    assert eb.stride() == tb.stride()
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])
    with pytest.raises(TypeError):
        torch.from_numpy([1, 2])
    with pytest.raises(TypeError):
        ember.from_numpy(np.array(["a"]))


SIZE_ARGS = [((2, 3), {}), ((2,), {}), (((2, 3),), {}), (([4],), {}), ((0, 2), {}), (((),), {})]


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("args,kw", SIZE_ARGS, ids=repr)
def test_zeros_ones_empty(fn, args, kw):
    e, t = getattr(ember, fn)(*args, **kw), getattr(torch, fn)(*args, **kw)
    assert e.shape == t.shape and e.dtype.name == str(t.dtype)[6:]
    if fn != "empty":
        _same(e, t)


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "rand", "randn"])
def test_creation_kwargs(fn):
    e = getattr(ember, fn)(2, 3, dtype=ember.float64, requires_grad=True, device="cpu")
    t = getattr(torch, fn)(2, 3, dtype=torch.float64, requires_grad=True, device="cpu")
    assert e.shape == t.shape and e.dtype is ember.float64 and e.requires_grad
    assert e.is_leaf and str(e.device) == str(t.device) == "cpu"
    s = ember.Size([2, 3])
    assert getattr(ember, fn)(s).shape == (2, 3)


def test_size_errors():
    with pytest.raises(RuntimeError, match="negative"):
        ember.zeros(2, -1)
    with pytest.raises(RuntimeError):
        torch.zeros(2, -1)
    with pytest.raises(TypeError):
        ember.zeros(2.5)
    with pytest.raises(TypeError):
        torch.zeros(2.5)
    with pytest.raises(RuntimeError):
        ember.zeros(2, device="cuda")


@pytest.mark.parametrize(
    "size,value,dtype",
    [
        ((2, 3), 1.5, None),
        ((2,), 7, None),
        ((1, 2), True, None),
        ((3,), 2, "float64"),
        ([2], -1.0, "int32"),
    ],
    ids=repr,
)
def test_full(size, value, dtype):
    kw_e = {"dtype": getattr(ember, dtype)} if dtype else {}
    kw_t = {"dtype": getattr(torch, dtype)} if dtype else {}
    _same(ember.full(size, value, **kw_e), torch.full(size, value, **kw_t))


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("src_dtype", ["float32", "float64", "float16"])
def test_like(fn, src_dtype):
    src_e = ember.zeros(2, 3, dtype=getattr(ember, src_dtype), requires_grad=True)
    src_t = torch.zeros(2, 3, dtype=getattr(torch, src_dtype), requires_grad=True)
    e, t = getattr(ember, fn)(src_e), getattr(torch, fn)(src_t)
    assert e.shape == t.shape and e.dtype.name == str(t.dtype)[6:]
    assert not e.requires_grad and not t.requires_grad
    if fn in ("zeros_like", "ones_like"):
        _same(e, t)
    e = getattr(ember, fn)(src_e, dtype=ember.float64, requires_grad=True)
    assert e.dtype is ember.float64 and e.requires_grad


def test_like_integer_and_full_like():
    src = ember.tensor([[1, 2, 3]])
    tsrc = torch.tensor([[1, 2, 3]])
    _same(ember.zeros_like(src), torch.zeros_like(tsrc))
    _same(ember.ones_like(src, dtype=ember.bool), torch.ones_like(tsrc, dtype=torch.bool))
    _same(ember.full_like(src, 7), torch.full_like(tsrc, 7))
    _same(ember.full_like(src, 2.7), torch.full_like(tsrc, 2.7))
    _same(
        ember.full_like(src, 2.5, dtype=ember.float64),
        torch.full_like(tsrc, 2.5, dtype=torch.float64),
    )
    r = ember.randint_like(src, 10)
    assert r.dtype is ember.int64 and r.shape == (1, 3) and (r._data < 10).all()
    r = ember.randint_like(src, 3, 5)
    assert ((r._data >= 3) & (r._data < 5)).all()


ARANGE = [
    (5,),
    (2, 7),
    (0, 10, 3),
    (10, 0, -2),
    (0.0, 1.0, 0.1),
    (1, 2.5, 0.5),
    (-1.0, -3.0, -0.25),
    (0, 1, 0.3),
    (5.5,),
    (0, 0),
    (0, -5, -1),
]


@pytest.mark.parametrize("args", ARANGE, ids=repr)
def test_arange(args):
    _same(ember.arange(*args), torch.arange(*args))


def test_arange_dtype_and_errors():
    _same(ember.arange(5, dtype=ember.float64), torch.arange(5, dtype=torch.float64))
    for args in [(0, 2.5, 1.5), (0.5, 4.2, 1), (-3.7, 2, 2.9), (0.9, 5, 2), (5.5, 0.2, -2)]:
        for dt in ["int64", "int32", "uint8", "float64"]:
            e = ember.arange(*args, dtype=getattr(ember, dt))
            _same(e, torch.arange(*args, dtype=getattr(torch, dt)))
    with pytest.raises(ValueError):
        torch.arange(0, 2, 0.5, dtype=torch.int64)  # the step truncates to 0
    with pytest.raises(ValueError):
        ember.arange(0, 2, 0.5, dtype=ember.int64)
    _same(ember.arange(ember.tensor(3)), torch.arange(torch.tensor(3)))
    for args in [(0, 5, 0), (0, 5, -1), (5, 0, 1)]:
        with pytest.raises(RuntimeError):
            torch.arange(*args)
        with pytest.raises(RuntimeError):
            ember.arange(*args)


@pytest.mark.parametrize(
    "args",
    [(0, 1, 5), (-2, 2, 9), (3, 3, 1), (0, 1, 0), (1, -1, 4), (0, 10, 2), (0.5, 2, 7)],
    ids=repr,
)
def test_linspace(args):
    _same(ember.linspace(*args), torch.linspace(*args))


def test_linspace_logspace_dtype():
    _same(
        ember.linspace(0, 10, 5, dtype=ember.float64), torch.linspace(0, 10, 5, dtype=torch.float64)
    )
    _same(ember.linspace(0, 10, 4, dtype=ember.int64), torch.linspace(0, 10, 4, dtype=torch.int64))
    _same(ember.logspace(0, 2, 3), torch.logspace(0, 2, 3))
    with pytest.raises(RuntimeError):
        ember.linspace(0, 1, -1)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,), (1, 1)], ids=repr)
def test_eye(args):
    _same(ember.eye(*args), torch.eye(*args))
    _same(ember.eye(*args, dtype=ember.int64), torch.eye(*args, dtype=torch.int64))
    _same(ember.eye(*args, dtype=ember.bool), torch.eye(*args, dtype=torch.bool))


def test_eye_errors():
    with pytest.raises(RuntimeError):
        torch.eye(-1)
    with pytest.raises(RuntimeError):
        ember.eye(-1)


LEGACY = [
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors(name):
    E, T = getattr(ember, name), getattr(torch, name)
    for args in [([[0]],), ([1, 2, 3],), (2, 3), ((),), (0,)]:
        e, t = E(*args), T(*args)
        assert e.shape == t.shape, args
        assert e.dtype.name == str(t.dtype)[6:], args
        assert isinstance(e, ember.Tensor)
        assert isinstance(e, E)
        assert e.type() == t.type()
        if args[0] != 2:
            _same(e, t)
    assert not isinstance(ember.zeros(1, dtype=ember.complex64), E)


def test_tensor_class_constructor():
    for args in [(2, 3), ([1, 2],), ([[1.5]],), (ember.Size([2]),), ((),), ()]:
        targs = tuple(torch.Size(a) if isinstance(a, ember.Size) else a for a in args)
        e, t = ember.Tensor(*args), torch.Tensor(*targs)
        assert e.shape == t.shape and e.dtype is ember.float32, args
        if args and isinstance(args[0], list):
            _same(e, t)
    ember.set_default_dtype(ember.float64)
    assert ember.Tensor(2).dtype is ember.float64
    assert ember.FloatTensor(2).dtype is ember.float32
    assert isinstance(ember.tensor([1]), ember.Tensor)
    assert ember.is_tensor(ember.tensor(1)) and not ember.is_tensor(1)
    with pytest.raises(TypeError):
        ember.Tensor("abc")
    with pytest.raises(TypeError):
        torch.Tensor("abc")


def test_legacy_float_tensor_from_nn_tutorial():
    """The torch.nn tutorial's idiom: ``torch.FloatTensor([[0]])`` then fill it."""
    e, t = ember.FloatTensor([[0]]), torch.FloatTensor([[0]])
    e[0, 0] = 3.5
    t[0, 0] = 3.5
    _same(e, t)
    _same(ember.LongTensor([1, 2]) + 1, torch.LongTensor([1, 2]) + 1)


def test_scalar_tensor_and_misc():
    _same(ember.scalar_tensor(3), torch.scalar_tensor(3))
    _same(ember.scalar_tensor(3, dtype=ember.int64), torch.scalar_tensor(3, dtype=torch.int64))
    assert ember.numel(ember.zeros(2, 3)) == 6
    assert ember.is_floating_point(ember.zeros(1)) and not ember.is_floating_point(
        ember.tensor([1])
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.rand(2, device="cuda"),
        lambda m: m.randn(2, device="cuda"),
        lambda m: m.randint(0, 3, (2,), device="cuda"),
        lambda m: m.randperm(3, device="cuda"),
        lambda m: m.normal(0.0, 1.0, (2,), device="cuda"),
        lambda m: m.rand_like(m.ones(2), device="cuda"),
        lambda m: m.randn_like(m.ones(2), device="cuda"),
        lambda m: m.randint_like(m.ones(2), 3, device="cuda"),
    ],
)
def test_random_creation_refuses_a_missing_device(make) -> None:
    # ember has only the CPU: asking for cuda is an error, never silently a CPU tensor.
    with pytest.raises(RuntimeError, match="no 'cuda' device"):
        make(ember)
