"""dtypes, aliases, the default dtype and type promotion, checked against torch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import ember

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
PAIRS = list(itertools.product(NAMES, NAMES))
ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
}


def _name(d) -> str:
    return str(d).split(".")[-1]


def _pair_arrays(name: str, shape: tuple = (3,)) -> np.ndarray:
    """Small valid values of dtype ``name`` (ones and twos: never overflow or divide by zero)."""
    if name == "bool":
        return np.ones(shape, dtype=np.bool_)
    return (np.arange(int(np.prod(shape))) % 2 + 1).reshape(shape).astype(name)


@pytest.mark.parametrize("name", NAMES + ["bfloat16", "complex64", "complex128"])
def test_dtype_objects_match_torch(name):
    d, t = getattr(ember, name), getattr(torch, name)
    assert isinstance(d, ember.dtype)
    assert repr(d) == repr(t).replace("torch.", "ember.")
    assert d.is_floating_point == t.is_floating_point
    assert d.is_complex == t.is_complex
    assert d.is_signed == t.is_signed
    assert d.itemsize == t.itemsize


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()))
def test_aliases(alias, name):
    assert getattr(ember, alias) is getattr(ember, name)
    assert _name(getattr(torch, alias)) == name


def test_default_dtype_is_float32():
    assert ember.get_default_dtype() is ember.float32
    assert ember.tensor([1.5]).dtype is ember.float32
    assert ember.zeros(2).dtype is ember.float32


@pytest.mark.parametrize("dflt", ["float32", "float64"])
def test_set_default_dtype_effects(dflt):
    ember.set_default_dtype(getattr(ember, dflt))
    torch.set_default_dtype(getattr(torch, dflt))
    try:
        cases = [
            (lambda m: m.tensor([1.5])),
            (lambda m: m.tensor([1, 2.5])),
            (lambda m: m.tensor(2.0)),
            (lambda m: m.arange(0.0, 1.0, 0.25)),
            (lambda m: m.arange(5)),
            (lambda m: m.full((2,), 1.5)),
            (lambda m: m.full((2,), 3)),
            (lambda m: m.full((2,), True)),
            (lambda m: m.zeros(2)),
            (lambda m: m.ones(2, 2)),
            (lambda m: m.empty(1)),
            (lambda m: m.rand(2)),
            (lambda m: m.randn(2)),
            (lambda m: m.linspace(0, 1, 5)),
            (lambda m: m.eye(2)),
            (lambda m: m.tensor([1, 2]) * 1.5),
            (lambda m: m.tensor([1, 2]) / 2),
            (lambda m: m.tensor([True]) + 0.5),
            (lambda m: m.tensor([1, 2]).float()),
            (lambda m: m.tensor([1.0], dtype=m.float64) * 2.5),
            (lambda m: m.tensor([1.0], dtype=m.float16) * 2.5),
            (lambda m: m.FloatTensor([1])),
            (lambda m: m.Tensor([1])),
            (lambda m: m.tensor([1j])),
        ]
        for i, make in enumerate(cases):
            e, t = make(ember), make(torch)
            assert _name(e.dtype) == _name(t.dtype), f"case {i}: {e.dtype} vs {t.dtype}"
        assert ember.get_default_dtype() is getattr(ember, dflt)
    finally:
        torch.set_default_dtype(torch.float32)


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    assert ember.get_default_dtype() is ember.float32


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_table(a, b):
    e = ember.promote_types(getattr(ember, a), getattr(ember, b))
    t = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert _name(e) == _name(t)


@pytest.mark.parametrize("a,b", PAIRS)
def test_tensor_tensor_promotion(a, b):
    x, y = _pair_arrays(a), _pair_arrays(b)
    for op in ("add", "mul"):
        e = getattr(ember, op)(ember.tensor(x), ember.tensor(y))
        t = getattr(torch, op)(torch.tensor(x), torch.tensor(y))
        assert _name(e.dtype) == _name(t.dtype), (op, a, b)
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("a,b", PAIRS)
def test_tensor_zero_dim_promotion(a, b):
    """A 0-dim tensor only lifts the category of a dimensioned tensor (both orders)."""
    x, y = _pair_arrays(a), _pair_arrays(b, ())
    e = ember.tensor(x) + ember.tensor(y)
    t = torch.tensor(x) + torch.tensor(y)
    assert _name(e.dtype) == _name(t.dtype), (a, b)
    e = ember.tensor(y) * ember.tensor(x)
    t = torch.tensor(y) * torch.tensor(x)
    assert _name(e.dtype) == _name(t.dtype), (b, a)
    # two 0-dim tensors promote normally
    e = ember.tensor(_pair_arrays(a, ())) + ember.tensor(y)
    t = torch.tensor(_pair_arrays(a, ())) + torch.tensor(y)
    assert _name(e.dtype) == _name(t.dtype)


SCALARS = [True, 2, 2.5, -1]


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_tensor_python_scalar_promotion(a, scalar):
    if a == "uint8" and scalar == -1:
        scalar = 1
    # subtraction with a bool operand is an error in torch (tested separately)
    ops = ["add", "mul"] if a == "bool" or isinstance(scalar, bool) else ["add", "mul", "rsub"]
    x = _pair_arrays(a)
    for op in ops:
        if op == "rsub":
            e, t = scalar - ember.tensor(x), scalar - torch.tensor(x)
        elif op == "add":
            e, t = ember.tensor(x) + scalar, torch.tensor(x) + scalar
        else:
            e, t = scalar * ember.tensor(x), scalar * torch.tensor(x)
        assert _name(e.dtype) == _name(t.dtype), (op, a, scalar)
        np.testing.assert_allclose(
            e.numpy().astype(np.float64), t.numpy().astype(np.float64), rtol=1e-3
        )


@pytest.mark.parametrize("a", NAMES)
def test_true_division_promotes_to_float(a):
    x = _pair_arrays(a)
    for e, t in [
        (ember.tensor(x) / 2, torch.tensor(x) / 2),
        (ember.tensor(x) / ember.tensor(x), torch.tensor(x) / torch.tensor(x)),
        (ember.tensor(x) ** 2, torch.tensor(x) ** 2),
        (ember.tensor(x) ** 0.5, torch.tensor(x) ** 0.5),
    ]:
        assert _name(e.dtype) == _name(t.dtype), a
        np.testing.assert_allclose(
            e.numpy().astype(np.float64), t.numpy().astype(np.float64), rtol=1e-3
        )


def test_documented_rules():
    """The two rules the issue spells out."""
    assert (ember.tensor([1, 2]) * 0.5).dtype is ember.float32
    assert (ember.ones(2) * np.float64(2.0)).dtype is ember.float32
    assert (ember.ones(2) * 2.0).dtype is ember.float32
    assert (ember.ones(2) * ember.tensor(2.0, dtype=ember.float64)).dtype is ember.float32
    assert (ember.ones(2) * ember.ones(2, dtype=ember.float64)).dtype is ember.float64


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_to_and_casts(a, b):
    x = _pair_arrays(a)
    e = ember.tensor(x).to(getattr(ember, b))
    t = torch.tensor(x).to(getattr(torch, b))
    assert _name(e.dtype) == b
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_comparisons_give_bool():
    for a, b in [("int64", "float32"), ("uint8", "int8"), ("bool", "float16")]:
        e = ember.tensor(_pair_arrays(a)) < ember.tensor(_pair_arrays(b))
        t = torch.tensor(_pair_arrays(a)) < torch.tensor(_pair_arrays(b))
        assert e.dtype is ember.bool and t.dtype is torch.bool
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_bool_subtraction_raises_like_torch():
    for make in [
        lambda m: m.tensor([True]) - m.tensor([False]),
        lambda m: True - m.tensor([1, 2]),
        lambda m: m.tensor([True]) - 1,
        lambda m: -m.tensor([True]),
    ]:
        with pytest.raises(RuntimeError):
            make(torch)
        with pytest.raises(RuntimeError, match="bool"):
            make(ember)
