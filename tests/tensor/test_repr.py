"""Tensor printing: ember's repr equals torch's with 'torch.' replaced by 'ember.'."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember


def _reprs(data, dtype=None, **kw):
    e = ember.tensor(data, dtype=getattr(ember, dtype) if dtype else None, **kw)
    t = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None, **kw)
    return repr(e), repr(t).replace("torch.", "ember.")


CASES = [
    ([1, 2, 3], None),
    ([[1, 2], [30, 400]], None),
    ([-1, 0, 7], "int32"),
    ([1, 2], "int8"),
    ([250, 3], "uint8"),
    ([1, 2], "int16"),
    ([True, False], None),
    ([[1.0, 2.0]], None),
    ([1.0, -2.0, 3.0], None),
    ([1.5, 2.25, -3.125], None),
    ([0.1, 0.2, 0.3333333], None),
    ([1e-5, 1.0], None),
    ([1e10, 1.0], None),
    ([123456789.0, 1.5], None),
    ([1e9, 2e9], None),
    ([0.0, 0.0], None),
    ([1.0, float("nan"), float("inf"), -float("inf")], None),
    ([float("nan"), 1.5], None),
    ([1.0, 2.0], "float64"),
    ([1.5, 2.0], "float16"),
    ([0.001, 1000.0], None),
    ([0.0001, 1.0], None),
    ([1e-4, 0.5], "float64"),
    ([[1.0, -1.0], [0.5, 100.0]], "float64"),
    ([3.0], None),
    (3.0, None),
    (-7, None),
    (True, None),
    (2.5, "float64"),
    ([], None),
    ([], "int64"),
    ([[], []], None),
    ([[], []], "float64"),
    (np.zeros((0, 3)), None),
    (np.zeros((2, 0, 1), dtype=np.int32), None),
    (np.arange(12.0).reshape(3, 4) / 7, None),
    (np.arange(24).reshape(2, 3, 4), None),
    (np.arange(24.0).reshape(2, 3, 4) - 11.5, None),
    (np.arange(2000.0), None),
    (np.arange(1001), None),
    (np.arange(3000.0).reshape(30, 100) / 3, None),
    (np.arange(1200).reshape(10, 10, 12), None),
    (np.linspace(-1, 1, 40), None),
    (np.linspace(0, 1e6, 30), None),
    (np.array([1e-8, 1e8]), None),
    (np.array([[1, 2], [3, 4]], dtype=np.float32) * 1e-3, None),
    (np.full((3, 30), 1.5), None),
]


@pytest.mark.parametrize("data,dtype", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_repr_matches_torch(data, dtype):
    e, t = _reprs(data, dtype)
    assert e == t


@pytest.mark.parametrize("data", [[1.0, 2.0], [[1.0, 2.5], [3.0, 4.0]], 2.0, np.arange(5000.0)])
def test_repr_requires_grad(data):
    e, t = _reprs(data, None, requires_grad=True)
    assert e == t
    e, t = _reprs(data, "float64", requires_grad=True)
    assert e == t


def test_repr_grad_fn():
    pairs = [
        (lambda m, x: x * 2),
        (lambda m, x: x + x),
        (lambda m, x: x.sum()),
        (lambda m, x: x.mean()),
        (lambda m, x: m.exp(x)),
        (lambda m, x: x.tanh()),
        (lambda m, x: x.permute(1, 0)),
        (lambda m, x: 1 - x),
        (lambda m, x: m.cat([x, x])),
        (lambda m, x: x.expand(2, 2, 2)),
        (lambda m, x: x.sigmoid() / 3),
    ]
    for i, f in enumerate(pairs):
        xe = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        xt = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        e, t = repr(f(ember, xe)), repr(f(torch, xt)).replace("torch.", "ember.")
        assert e == t, f"case {i}"


def test_repr_grad_fn_format_for_any_op():
    """Node names of view/reduction ops may differ from torch's; the format never does."""
    import re

    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for y in [x.view(-1), x.sum(0), x.t(), x[0], x.double(), x @ x]:
        assert re.fullmatch(r"tensor\(.*, grad_fn=<\w+Backward\d>\)", repr(y), re.S), repr(y)


def test_repr_long_suffix_wraps():
    e, t = _reprs(np.arange(8.0) / 3, "float64", requires_grad=True)
    assert e == t
    e, t = _reprs(np.arange(12) * 1000, "int16")
    assert e == t


def test_repr_print_options():
    try:
        for kw in [
            {"precision": 2},
            {"sci_mode": True},
            {"sci_mode": False},
            {"threshold": 5},
            {"edgeitems": 1, "threshold": 5},
            {"linewidth": 40},
            {"profile": "full"},
            {"profile": "short"},
        ]:
            ember.set_printoptions(**kw)
            torch.set_printoptions(**kw)
            for data in [np.arange(20.0) / 7, [1e-5, 3.0], np.arange(12).reshape(3, 4)]:
                e, t = _reprs(data)
                assert e == t, kw
            ember.set_printoptions(profile="default", sci_mode=None)
            torch.set_printoptions(profile="default", sci_mode=None)
    finally:
        ember.set_printoptions(profile="default", sci_mode=None)
        torch.set_printoptions(profile="default", sci_mode=None)


def test_str_and_parameter():
    e, t = ember.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0])
    assert str(e) == str(t)
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp)


def test_dtype_and_size_repr():
    assert repr(ember.float64) == "ember.float64"
    assert repr(ember.zeros(2, 3).shape) == "ember.Size([2, 3])"
    assert repr(ember.zeros(()).shape) == "ember.Size([])"
    assert str(ember.device("cpu")) == "cpu"
    assert not math.isnan(0.0)
