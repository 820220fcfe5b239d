"""Random fills refuse the arguments torch refuses, with torch's exception type and message."""

from __future__ import annotations

import pytest
import torch

import ember

NAN, INF = float("nan"), float("inf")


def _z(m, dtype="float32"):
    return m.zeros(4, dtype=getattr(m, dtype))


BAD = [
    lambda m: _z(m).normal_(0, -1),
    lambda m: _z(m).normal_(0, NAN),
    lambda m: m.normal(0.0, -1.0, (2,)),
    lambda m: m.normal(m.zeros(2), m.tensor([-1.0, 1.0])),
    lambda m: _z(m).uniform_(1, 0),
    lambda m: _z(m).uniform_(0, INF),
    lambda m: _z(m).uniform_(NAN, 1),
    lambda m: _z(m).bernoulli_(1.5),
    lambda m: _z(m).bernoulli_(-0.1),
    lambda m: _z(m).bernoulli_(NAN),
    lambda m: _z(m).bernoulli_(m.tensor([0.5, 2.0, 0.1, 0.0])),
    lambda m: m.bernoulli(m.tensor([1.5])),
    lambda m: m.bernoulli(m.tensor([NAN])),
    lambda m: m.bernoulli(m.tensor([1, 0])),
    lambda m: _z(m).exponential_(0),
    lambda m: _z(m).exponential_(-1),
    lambda m: _z(m).random_(5, 3),
    lambda m: _z(m).random_(-1),
    lambda m: _z(m, "int8").random_(0, 1000),
    lambda m: m.randint(5, 3, (2,)),
    lambda m: _z(m, "int64").normal_(),
    lambda m: _z(m, "int64").uniform_(),
    lambda m: _z(m, "int64").exponential_(),
]


@pytest.mark.parametrize("fn", BAD)
def test_bad_arguments_raise_as_torch(fn):
    errs = []
    for m in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(m)
        errs.append(info.value)
    e, t = errs
    assert type(e) is type(t), (e, t)
    # the gist of torch's message (torch adds C++ type names or a report-a-bug tail)
    assert str(e).split(" for ")[0].split("  (")[0] == str(t).split(" for ")[0].split("  (")[0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: _z(m).normal_(2.0, 0.0),
        lambda m: _z(m).uniform_(3.0, 3.0),
        lambda m: _z(m).bernoulli_(1.0),
        lambda m: _z(m).bernoulli_(0.0),
        lambda m: _z(m, "int64").bernoulli_(1.0),
        lambda m: _z(m, "int8").random_(4, 5),
        lambda m: m.bernoulli(m.tensor([0.0, 1.0, 1.0])),
    ],
)
def test_boundary_arguments_give_torch_values(fn):
    assert fn(ember).tolist() == fn(torch).tolist()


@pytest.mark.parametrize("dtype,top", [("bool", 2), ("uint8", 256), ("int8", 128)])
def test_random_default_range_is_the_dtype(dtype, top):
    x = ember.zeros(4000, dtype=getattr(ember, dtype)).random_()
    v = x.long()
    assert int(v.min()) >= 0 and int(v.max()) < top
    assert int(v.max()) >= top * 3 // 4  # the whole range is used, not a wrapped 2**24


def test_random_default_float_range():
    x = ember.zeros(4000).random_()
    assert float(x.min()) >= 0 and float(x.max()) <= 2**24 and float(x.max()) > 2**23
