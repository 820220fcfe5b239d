"""``out=``: every function that accepts it writes the result into ``out`` as torch does
(cast, resize with a warning, version bump, refusal under autograd), compared with torch."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


def _x(m):
    return m.tensor([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]])


def _i(m):
    return m.tensor([[1, 2, 3], [4, 5, 6]])


# name -> (call taking (lib, out), the dtype of a correct ``out``)
CALLS = {
    "add": (lambda m, o: m.add(_x(m), 1.5, alpha=2, out=o), "float32"),
    "sub": (lambda m, o: m.sub(_x(m), _x(m).flip(0), out=o), "float32"),
    "mul": (lambda m, o: m.mul(_x(m), 3, out=o), "float32"),
    "div": (lambda m, o: m.div(_x(m), 0.5, out=o), "float32"),
    "div_floor": (lambda m, o: m.div(_i(m), 2, rounding_mode="floor", out=o), "int64"),
    "floor_divide": (lambda m, o: m.floor_divide(_i(m), 4, out=o), "int64"),
    "remainder": (lambda m, o: m.remainder(_i(m), 4, out=o), "int64"),
    "fmod": (lambda m, o: m.fmod(_x(m), 0.7, out=o), "float32"),
    "pow": (lambda m, o: m.pow(_x(m), 2, out=o), "float32"),
    "float_power": (lambda m, o: m.float_power(_x(m), 2, out=o), "float64"),
    "atan2": (lambda m, o: m.atan2(_x(m), _x(m).flip(1), out=o), "float32"),
    "maximum": (lambda m, o: m.maximum(_x(m), _x(m).flip(0), out=o), "float32"),
    "fmax": (lambda m, o: m.fmax(_x(m), _x(m).flip(0), out=o), "float32"),
    "where": (lambda m, o: m.where(_x(m) > 0, _x(m), _x(m).neg(), out=o), "float32"),
    "exp": (lambda m, o: m.exp(_x(m), out=o), "float32"),
    "sqrt": (lambda m, o: m.sqrt(_x(m).abs(), out=o), "float32"),
    "neg": (lambda m, o: m.neg(_x(m), out=o), "float32"),
    "abs": (lambda m, o: m.abs(_x(m), out=o), "float32"),
    "clamp": (lambda m, o: m.clamp(_x(m), -1, 1, out=o), "float32"),
    "sigmoid": (lambda m, o: m.sigmoid(_x(m), out=o), "float32"),
    "eq": (lambda m, o: m.eq(_x(m), 2.0, out=o), "bool"),
    "gt": (lambda m, o: m.gt(_x(m), 0, out=o), "bool"),
    "logical_not": (lambda m, o: m.logical_not(_x(m), out=o), "bool"),
    "logical_and": (lambda m, o: m.logical_and(_x(m), _i(m), out=o), "bool"),
    "matmul": (lambda m, o: m.matmul(_x(m), _x(m).t(), out=o), "float32"),
    "mm": (lambda m, o: m.mm(_x(m), _x(m).t(), out=o), "float32"),
    "bmm": (lambda m, o: m.bmm(_x(m)[None], _x(m).t()[None], out=o), "float32"),
    "dot": (lambda m, o: m.dot(_x(m)[0], _x(m)[1], out=o), "float32"),
    "mv": (lambda m, o: m.mv(_x(m), _x(m)[0], out=o), "float32"),
    "outer": (lambda m, o: m.outer(_x(m)[0], _x(m)[1], out=o), "float32"),
    "addmm": (lambda m, o: m.addmm(_x(m), _x(m), m.ones(3, 3), out=o), "float32"),
    "cat": (lambda m, o: m.cat([_x(m), _x(m)], 1, out=o), "float32"),
    "stack": (lambda m, o: m.stack([_x(m), _x(m)], out=o), "float32"),
    "sum": (lambda m, o: m.sum(_x(m), 1, out=o), "float32"),
    "mean": (lambda m, o: m.mean(_x(m), 0, keepdim=True, out=o), "float32"),
    "std": (lambda m, o: m.std(_x(m), 1, out=o), "float32"),
    "var": (lambda m, o: m.var(_x(m), out=o), "float32"),
    "cumsum": (lambda m, o: m.cumsum(_x(m), 1, out=o), "float32"),
    "zeros": (lambda m, o: m.zeros(2, 3, out=o), "float32"),
    "ones": (lambda m, o: m.ones(2, 3, out=o), "int64"),
    "full": (lambda m, o: m.full((2, 2), 7, out=o), "int64"),
    "arange": (lambda m, o: m.arange(5, out=o), "float32"),
    "linspace": (lambda m, o: m.linspace(0, 1, 5, out=o), "float64"),
    "eye": (lambda m, o: m.eye(3, out=o), "int64"),
}


def _fresh(m, dtype: str, shape=(0,)):
    return m.zeros(shape, dtype=getattr(m, dtype))


@pytest.mark.parametrize("name", list(CALLS))
def test_out_is_written_returned_and_versioned(name):
    call, dtype = CALLS[name]
    res = []
    for m in (ember, torch):
        o = _fresh(m, dtype)
        v0 = o._version
        r = call(m, o)
        assert r is o
        assert o._version > v0
        res.append(o)
    assert_close(*res)


@pytest.mark.parametrize("name", ["add", "exp", "sum", "matmul", "eq", "cat"])
def test_out_resized_with_torch_warning(name):
    call, dtype = CALLS[name]
    res = []
    for m in (ember, torch):
        o = _fresh(m, dtype, (7,))
        with pytest.warns(UserWarning, match="was resized since it had shape \\[7\\]"):
            call(m, o)
        res.append(o)
    assert_close(*res)


def test_out_of_the_right_shape_is_written_in_place_without_warning():
    for m in (ember, torch):
        o = m.full((2, 3), 9.0)
        keep = o
        view = o[0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m.add(_x(m), 1, out=o)
        assert keep is o
        assert view.tolist() == [1.5, -0.5, 3.0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.add(_x(m), 1, out=m.zeros(2, 3, dtype=m.int64)),
        lambda m: m.exp(_x(m), out=m.zeros(2, 3, dtype=m.bool)),
        lambda m: m.div(_i(m), 2, out=m.zeros(2, 3, dtype=m.int64)),
        lambda m: m.add(_x(m), 1, out=[1, 2]),
        lambda m: m.add(_x(m).requires_grad_(), 1, out=m.zeros(2, 3)),
        lambda m: m.mul(_x(m), 2, out=m.zeros(2, 3, requires_grad=True)),
        lambda m: m.cat([_x(m).requires_grad_(), _x(m)], out=m.zeros(4, 3)),
    ],
)
def test_out_errors_match_torch(fn):
    errs = []
    for m in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(m)
        errs.append(info.value)
    assert type(errs[0]) is type(errs[1]), errs
    assert str(errs[0]).split(":")[0] == str(errs[1]).split(":")[0] or "argument 'out'" in str(
        errs[0]
    )


def test_sum_computes_in_the_dtype_of_out():
    for dtype in ("int32", "float64"):
        res = [m.sum(_x(m), 1, out=_fresh(m, dtype)) for m in (ember, torch)]
        assert_close(*res)
        res = [m.cumsum(_x(m), 1, out=_fresh(m, dtype)) for m in (ember, torch)]
        assert_close(*res)


def test_out_widening_casts_are_allowed():
    for dtype in ("float64", "float32"):
        res = [m.add(_i(m), 1, out=_fresh(m, dtype)) for m in (ember, torch)]
        assert_close(*res)


def test_out_under_no_grad_is_allowed():
    res = []
    for m in (ember, torch):
        x = _x(m).requires_grad_()
        with m.no_grad():
            res.append(m.mul(x, 2, out=_fresh(m, "float32")))
    assert_close(*res)


def test_max_min_write_tuples():
    for name in ("max", "min"):
        res = []
        for m in (ember, torch):
            v, i = m.empty(0), m.empty(0, dtype=m.int64)
            r = getattr(m, name)(_x(m), 1, out=(v, i))
            assert r[0] is v and r[1] is i
            res.append((v, i))
        assert_close(*res)


def test_random_creation_into_out():
    for name in ("rand", "randn"):
        o = ember.zeros(0, dtype=ember.float64)
        getattr(ember, name)(4, out=o)
        assert o.dtype == ember.float64 and o.shape == (4,) and o.std() > 0
    o = ember.zeros(0, dtype=ember.int32)
    ember.randint(0, 10, (5,), out=o)
    assert o.dtype == ember.int32 and ((o >= 0) & (o < 10)).all()


def test_every_public_function_with_out_implements_it():
    """No function takes ``out=`` and ignores it: each one is wrapped or tests ``out`` itself."""
    names = []
    for n in dir(ember):
        f = getattr(ember, n)
        if not callable(f) or isinstance(f, type):
            continue
        try:
            params = inspect.signature(f).parameters
        except (TypeError, ValueError):
            continue
        if "out" in params:
            names.append(n)
            wrapped = hasattr(f, "__wrapped__")
            src = inspect.getsource(f)
            assert wrapped or "if out is not None" in src, n
    assert len(names) > 90
    # and each really writes: a float function into a float64 out of the right shape
    x = ember.tensor([[0.5, 0.25]])
    for n in ("acos", "tanh", "log1p", "rsqrt", "reciprocal", "frac", "trunc", "sign"):
        o = ember.zeros(1, 2, dtype=ember.float64)
        getattr(ember, n)(x, out=o)
        assert np.allclose(o.numpy(), getattr(torch, n)(torch.tensor([[0.5, 0.25]])).numpy())


@pytest.mark.parametrize("name", ["column_stack", "row_stack", "dstack"])
def test_stacking_functions_write_out(name):
    # They declared out= and ignored it; now they write it, as torch.
    parts = [[1.0, 2.0], [3.0, 4.0]]
    o = ember.zeros(2, 2) if name != "dstack" else ember.zeros(1, 2, 2)
    r = getattr(ember, name)([ember.tensor(p) for p in parts], out=o)
    t = getattr(torch, name)([torch.tensor(p) for p in parts])
    assert r is o
    assert o.tolist() == t.tolist()


def test_range_writes_out_as_torch():
    """``torch.range`` (deprecated, end inclusive) takes ``out=`` through the one mechanism."""
    import warnings

    got = []
    for m in (ember, torch):
        o = m.zeros(0, dtype=m.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            r = m.range(0, 3, out=o)
        assert r is o
        got.append((o.dtype == m.float64, o.tolist()))
    assert got[0] == got[1] == (True, [0.0, 1.0, 2.0, 3.0])
