"""Property tests: hypothesis draws mutually broadcastable shapes for the elementwise family;
ember must match torch in shape, dtype, values and the (un-broadcast) gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember
from tests.parity import check_op, rand_array

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
SHAPES2 = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)
SHAPES3 = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)

BINARY = {
    "add": lambda m, x, y: x + y,
    "sub": lambda m, x, y: m.sub(x, y, alpha=2),
    "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / (y.abs() + 0.5),
    "pow": lambda m, x, y: (x.abs() + 0.5) ** y,
    "maximum": lambda m, x, y: m.maximum(x, y),
    "minimum": lambda m, x, y: m.minimum(x, y),
    "remainder": lambda m, x, y: x % (y.abs() + 0.5),
    "atan2": lambda m, x, y: m.atan2(x, y),
    "lerp": lambda m, x, y: m.lerp(x, y, 0.25),
    "clamp_min": lambda m, x, y: m.clamp(x, min=y),
}
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=SHAPES2, seed=st.integers(0, 2**16))
def test_binary_broadcasting(name, shapes, seed):
    (sx, sy), _ = shapes
    fn = BINARY[name]
    x = rand_array(sx, np.float32, seed)
    y = rand_array(sy, np.float32, seed + 1)
    check_op(lambda a, b: fn(ember, a, b), lambda a, b: fn(torch, a, b), x, y)


@pytest.mark.parametrize("name", COMPARE)
@SETTINGS
@given(shapes=SHAPES2, seed=st.integers(0, 2**16))
def test_compare_broadcasting(name, shapes, seed):
    (sx, sy), _ = shapes
    x = rand_array(sx, np.int64, seed, -2, 2)
    y = rand_array(sy, np.int64, seed + 1, -2, 2)
    check_op(lambda a, b: getattr(ember, name)(a, b), lambda a, b: getattr(torch, name)(a, b), x, y)


@SETTINGS
@given(shapes=SHAPES3, seed=st.integers(0, 2**16))
def test_where_broadcasting(shapes, seed):
    (sc, sx, sy), _ = shapes
    c = rand_array(sc, np.bool_, seed)
    x = rand_array(sx, np.float32, seed + 1)
    y = rand_array(sy, np.float32, seed + 2)
    check_op(ember.where, torch.where, c, x, y)


@SETTINGS
@given(shapes=SHAPES3, seed=st.integers(0, 2**16))
def test_clamp_tensor_bounds_broadcasting(shapes, seed):
    # The input takes the broadcast shape: torch's own backward fails when the bounds enlarge
    # the input (it cannot reduce the input's gradient).
    (_, slo, shi), sx = shapes
    x = rand_array(sx, np.float32, seed)
    lo = rand_array(slo, np.float32, seed + 1, -2.0, -0.1)
    hi = rand_array(shi, np.float32, seed + 2, 0.1, 2.0)
    check_op(ember.clamp, torch.clamp, x, lo, hi)


DTYPES = [np.float32, np.float64, np.int64, np.int32, np.bool_]


@SETTINGS
@given(
    shapes=SHAPES2,
    dx=st.sampled_from(DTYPES),
    dy=st.sampled_from(DTYPES),
    op=st.sampled_from(["add", "mul", "div", "maximum"]),
    seed=st.integers(0, 2**16),
)
def test_type_promotion_with_broadcasting(shapes, dx, dy, op, seed):
    (sx, sy), _ = shapes
    x = rand_array(sx, dx, seed, 1, 3)
    y = rand_array(sy, dy, seed + 1, 1, 3)
    if op == "div" and dy is np.bool_:
        y = np.ones(sy, np.bool_)
    check_op(lambda a, b: getattr(ember, op)(a, b), lambda a, b: getattr(torch, op)(a, b), x, y)


@SETTINGS
@given(
    shape=mutually_broadcastable_shapes(num_shapes=1, min_dims=1, max_dims=4, max_side=4),
    scalar=st.one_of(st.integers(-3, 3), st.floats(-3, 3, width=32)),
    dtype=st.sampled_from([np.float32, np.int64]),
    reflected=st.booleans(),
    op=st.sampled_from(["+", "-", "*"]),
    seed=st.integers(0, 2**16),
)
def test_scalar_operands(shape, scalar, dtype, reflected, op, seed):
    (sx,), _ = shape
    x = rand_array(sx, dtype, seed)

    def fn(a):
        if op == "+":
            return scalar + a if reflected else a + scalar
        if op == "-":
            return scalar - a if reflected else a - scalar
        return scalar * a if reflected else a * scalar

    check_op(fn, fn, x)


# ---- reductions over drawn dims ----------------------------------------------------------
REDUCTIONS = {
    "sum": lambda m, x, dims, k: x.sum(dims, keepdim=k),
    "mean": lambda m, x, dims, k: x.mean(dims, keepdim=k),
    "amax": lambda m, x, dims, k: x.amax(dims, keepdim=k),
    "var": lambda m, x, dims, k: x.var(dims, keepdim=k, correction=0),
    "logsumexp": lambda m, x, dims, k: x.logsumexp(dims, keepdim=k),
    "norm": lambda m, x, dims, k: x.norm(2, dim=dims, keepdim=k),
}


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    nd = len(shape)
    dims = draw(
        st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda d: d % nd)
    )
    return shape, tuple(dims)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_reduction_dims(name, sd, keepdim, seed):
    shape, dims = sd
    fn = REDUCTIONS[name]
    x = rand_array(shape, np.float32, seed)
    check_op(
        lambda a: fn(ember, a, dims, keepdim),
        lambda a: fn(torch, a, dims, keepdim),
        x,
        rtol=1e-5,
        atol=1e-5,
    )
