"""nn.Parameter and nn.Buffer, side by side with torch."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.nn._lib import norm, same_error


def both(fn):
    return fn(ember), fn(torch)


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: lib.nn.Parameter(lib.zeros(2, dtype=lib.float64)),
        lambda lib: lib.nn.Parameter(),
        lambda lib: lib.nn.Parameter(lib.FloatTensor([[0]])),
        lambda lib: lib.nn.Parameter(lib.tensor([1, 2]), requires_grad=False),
        lambda lib: lib.nn.Parameter(lib.ones(2), requires_grad=False),
    ],
)
def test_construction_and_repr(build):
    def run(lib):
        p = build(lib)
        return norm(repr(p)), p.requires_grad, p.is_leaf, tuple(p.shape), str(p.dtype)[6:]

    e, t = both(run)
    assert e == t


def test_is_tensor_and_shares_memory():
    data = ember.zeros(3)
    p = nn.Parameter(data)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert np.shares_memory(p._data, data._data)


def test_from_non_leaf_is_a_leaf():
    def run(lib):
        x = lib.ones(2, requires_grad=True)
        p = lib.nn.Parameter(x * 2)
        return p.is_leaf, p.requires_grad, p.grad_fn is None, p.tolist()

    e, t = both(run)
    assert e == t


def test_integer_parameter_cannot_require_grad():
    same_error(lambda lib: lib.nn.Parameter(lib.zeros(2, dtype=lib.int64)))


def test_non_tensor_data_rejected():
    with pytest.raises(TypeError, match="must be a Tensor, not list"):
        nn.Parameter([1.0])


def test_in_place_updates_keep_the_parameter():
    """Optimizer-style updates keep the same Parameter object (and type)."""
    p = nn.Parameter(ember.ones(3))
    (p * 2).sum().backward()
    with ember.no_grad():
        p.sub_(0.5 * p.grad)
    p.data.mul_(2)
    p.data = ember.full((3,), 7.0)
    assert type(p) is nn.Parameter and p.requires_grad and p.is_leaf
    assert p.tolist() == [7.0, 7.0, 7.0]


def test_leaf_parameter_in_place_under_grad_raises():
    same_error(lambda lib: lib.nn.Parameter(lib.ones(1)).add_(1))


def test_deepcopy_and_pickle():
    p = nn.Parameter(ember.arange(3.0), requires_grad=False)
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q is not p
        assert q.requires_grad is False and q.tolist() == [0.0, 1.0, 2.0]
        assert not np.shares_memory(q._data, p._data)


def test_parameter_ops_return_plain_tensors():
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2))
        return type(p * 2).__name__, type(p.detach()).__name__

    e, t = both(run)
    assert e == ("Tensor", "Tensor") == t


@pytest.mark.parametrize("persistent", [True, False])
def test_buffer_marker(persistent):
    def run(lib):
        m = lib.nn.Module()
        m.buf = lib.nn.Buffer(lib.ones(2), persistent=persistent)
        return type(m.buf).__name__, list(m.state_dict()), [n for n, _ in m.named_buffers()]

    e, t = both(run)
    assert e == t
