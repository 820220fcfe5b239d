"""Parity table for reductions: sum, mean, var/std, prod, max/min, amax/amin, argmax/argmin,
logsumexp, softmax/log_softmax, norm, all/any, cumsum — dims (int, negative, tuple), keepdim,
full reductions, non-contiguous inputs and integer/bool dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.ops._cases import b, case, d, f, i, pos, run_case
from tests.parity import check_op

SUM_MEAN = [
    case("sum_all", lambda m, x: m.sum(x), f(3, 4)),
    case("sum_dim", lambda m, x: m.sum(x, 1), f(3, 4)),
    case("sum_neg_dim_keepdim", lambda m, x: x.sum(-1, keepdim=True), f(2, 3, 4)),
    case("sum_tuple_dims", lambda m, x: x.sum((0, 2)), f(2, 3, 4)),
    case("sum_tuple_neg_dims_keepdim", lambda m, x: x.sum(dim=(-1, 0), keepdim=True), f(2, 3, 4)),
    case("sum_noncontig", lambda m, x: x.t().sum(0), f(4, 3)),
    case("sum_sliced", lambda m, x: x[:, ::2].sum(1), f(3, 8)),
    case("sum_0dim", lambda m, x: x.sum(), f()),
    case("sum_int", lambda m, x: x.sum(0), i(3, 4, dtype=np.int32)),
    case("sum_bool", lambda m, x: x.sum(), b(3, 4)),
    case("sum_bool_dim", lambda m, x: m.sum(x, dim=1), b(3, 4)),
    case("sum_dtype", lambda m, x: x.sum(dtype=m.float64), f(3, 4)),
    case("sum_int_to_float", lambda m, x: m.sum(x, 0, dtype=m.float32), i(3, 4)),
    case("sum_empty_dims_list", lambda m, x: x.sum(dim=[]), f(2, 3)),
    case("mean_all", lambda m, x: m.mean(x), f(3, 4)),
    case("mean_dim", lambda m, x: x.mean(0), f(3, 4)),
    case("mean_neg_dim_keepdim", lambda m, x: x.mean(-2, keepdim=True), f(2, 3, 4)),
    case("mean_tuple", lambda m, x: m.mean(x, (0, -1)), f(2, 3, 4)),
    case("mean_noncontig", lambda m, x: x.permute(2, 0, 1).mean(1), f(2, 3, 4)),
    case("mean_float64", lambda m, x: x.mean(1), d(3, 4)),
    case("mean_dtype", lambda m, x: x.mean(dtype=m.float64), f(3, 4)),
    case("mean_int_dtype", lambda m, x: x.mean(dtype=m.float32), i(3, 4)),
]

VAR_STD = [
    case("var_all", lambda m, x: m.var(x), f(3, 4)),
    case("var_dim", lambda m, x: x.var(1), f(3, 4)),
    case("var_unbiased_false", lambda m, x: x.var(0, unbiased=False), f(3, 4)),
    case("var_unbiased_positional", lambda m, x: m.var(x, 1, False, True), f(3, 4)),
    case("var_correction_0", lambda m, x: m.var(x, dim=1, correction=0), f(3, 4)),
    case("var_correction_2", lambda m, x: m.var(x, dim=(0, 1), correction=2), f(3, 4)),
    case("var_keepdim_neg", lambda m, x: x.var(-1, keepdim=True), f(2, 3, 4)),
    case("var_tuple", lambda m, x: x.var((0, 2)), f(2, 3, 4)),
    case("var_noncontig", lambda m, x: x.t().var(1), f(4, 3)),
    case("var_unbiased_flag_all", lambda m, x: x.var(False), f(3, 4)),
    case("std_all", lambda m, x: m.std(x), f(3, 4)),
    case("std_dim", lambda m, x: x.std(0), f(3, 4)),
    case("std_unbiased_false", lambda m, x: m.std(x, 1, unbiased=False), f(3, 4)),
    case(
        "std_correction_keepdim", lambda m, x: x.std(dim=-1, correction=0, keepdim=True), f(2, 3, 4)
    ),
    case("std_tuple", lambda m, x: m.std(x, (1, 2)), f(2, 3, 4)),
    case("std_float64", lambda m, x: x.std(), d(5, 6)),
]

PROD = [
    case("prod_all", lambda m, x: m.prod(x), f(3, 4, low=0.5, high=1.5)),
    case("prod_dim", lambda m, x: x.prod(1), f(3, 4)),
    case("prod_neg_dim_keepdim", lambda m, x: m.prod(x, -1, keepdim=True), f(2, 3, 4)),
    case("prod_noncontig", lambda m, x: x.t().prod(0), f(4, 3)),
    case("prod_with_zero", lambda m, x: (x * (x > 0)).prod(1), f(3, 4)),
    case("prod_int", lambda m, x: x.prod(0), i(3, 4)),
    case("prod_bool", lambda m, x: x.prod(), b(2, 3)),
    case("prod_dtype", lambda m, x: x.prod(dtype=m.float64), f(3, 2)),
]

MAXMIN = [
    case("max_all", lambda m, x: m.max(x), f(3, 4)),
    case("max_all_method", lambda m, x: x.max(), f(2, 3, 4)),
    case("max_dim", lambda m, x: m.max(x, 1), f(3, 4)),
    case("max_dim_keepdim", lambda m, x: x.max(dim=0, keepdim=True), f(3, 4)),
    case("max_neg_dim", lambda m, x: x.max(-1), f(2, 3, 4)),
    case("max_dim_values", lambda m, x: x.max(1).values, f(3, 4)),
    case("max_dim_indices", lambda m, x: x.max(1).indices, f(3, 4)),
    case("max_dim_noncontig", lambda m, x: x.t().max(1), f(4, 3)),
    case("max_int_dim", lambda m, x: x.max(0), i(3, 4, low=-100, high=100)),
    case("max_binary", lambda m, x, y: m.max(x, y), f(3, 4), f(4)),
    case("min_all", lambda m, x: m.min(x), f(3, 4)),
    case("min_dim", lambda m, x: m.min(x, 0), f(3, 4)),
    case("min_dim_keepdim_neg", lambda m, x: x.min(-2, keepdim=True), f(2, 3, 4)),
    case("min_dim_indices", lambda m, x: x.min(1)[1], f(3, 4)),
    case("min_binary", lambda m, x, y: x.min(y), f(3, 4), f(3, 1)),
    case("amax_dim", lambda m, x: m.amax(x, 1), f(3, 4)),
    case("amax_tuple_keepdim", lambda m, x: x.amax((0, 2), keepdim=True), f(2, 3, 4)),
    case("amax_all", lambda m, x: m.amax(x), f(2, 3)),
    case("amax_neg", lambda m, x: x.amax(-1), f(2, 3, 4)),
    case("amin_dim", lambda m, x: m.amin(x, 0), f(3, 4)),
    case("amin_tuple", lambda m, x: x.amin((-1, -2)), f(2, 3, 4)),
    case("amin_noncontig", lambda m, x: x.t().amin(1), f(4, 3)),
    case("amax_int", lambda m, x: x.amax(1), i(3, 4, low=-100, high=100)),
    case("argmax_all", lambda m, x: m.argmax(x), f(3, 4)),
    case("argmax_dim", lambda m, x: x.argmax(1), f(3, 4)),
    case("argmax_dim_keepdim", lambda m, x: m.argmax(x, dim=-1, keepdim=True), f(2, 3, 4)),
    case("argmax_noncontig", lambda m, x: x.t().argmax(0), f(4, 3)),
    case("argmax_ties_first", lambda m: m.argmax(m.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), 1)),
    case("argmin_all", lambda m, x: m.argmin(x), f(3, 4)),
    case("argmin_dim", lambda m, x: x.argmin(0), f(3, 4)),
    case("argmin_int", lambda m, x: x.argmin(1), i(3, 4, low=-100, high=100)),
]

SOFT = [
    case("logsumexp_dim", lambda m, x: m.logsumexp(x, 1), f(3, 4)),
    case("logsumexp_tuple_keepdim", lambda m, x: x.logsumexp((0, 2), keepdim=True), f(2, 3, 4)),
    case("logsumexp_neg", lambda m, x: x.logsumexp(-1), f(2, 3, 4, low=-50, high=50)),
    case("logsumexp_int", lambda m, x: m.logsumexp(x, 0), i(3, 4)),
    case("softmax", lambda m, x: m.softmax(x, 1), f(3, 4)),
    case("softmax_neg_dim", lambda m, x: x.softmax(-1), f(2, 3, 4)),
    case("softmax_dim0", lambda m, x: m.softmax(x, dim=0), f(3, 4)),
    case("softmax_large", lambda m, x: m.softmax(x, 1), f(3, 4, low=-80, high=80)),
    case("softmax_noncontig", lambda m, x: x.t().softmax(1), f(4, 3)),
    case("softmax_dtype", lambda m, x: m.softmax(x, 1, dtype=m.float64), f(3, 4)),
    case("log_softmax", lambda m, x: m.log_softmax(x, 1), f(3, 4)),
    case("log_softmax_neg_dim", lambda m, x: x.log_softmax(-2), f(2, 3, 4)),
    case("log_softmax_large", lambda m, x: x.log_softmax(1), f(3, 4, low=-80, high=80)),
    case("log_softmax_noncontig", lambda m, x: x[:, 1:].log_softmax(0), f(3, 5)),
]

NORM = [
    case("norm_default", lambda m, x: m.norm(x), f(3, 4)),
    case("norm_fro", lambda m, x: x.norm(p="fro"), f(3, 4)),
    case("norm_fro_dim", lambda m, x: m.norm(x, "fro", dim=(0, 1)), f(2, 3, 4)),
    case("norm_p2_dim", lambda m, x: x.norm(2, 1), f(3, 4)),
    case("norm_p2_keepdim", lambda m, x: m.norm(x, p=2, dim=-1, keepdim=True), f(2, 3, 4)),
    case("norm_p1", lambda m, x: x.norm(1), f(3, 4)),
    case("norm_p1_dim", lambda m, x: x.norm(p=1, dim=0), f(3, 4)),
    case("norm_inf", lambda m, x: x.norm(float("inf")), f(3, 4)),
    case("norm_inf_dim", lambda m, x: m.norm(x, p=float("inf"), dim=1), f(3, 4)),
    case("norm_neg_inf_dim", lambda m, x: m.norm(x, p=float("-inf"), dim=1), f(3, 4)),
    case("norm_p3_dim", lambda m, x: x.norm(3, dim=1), f(3, 4)),
    case("norm_p0", lambda m, x: x.norm(0), f(3, 4)),
    case("norm_tuple_dim", lambda m, x: x.norm(dim=(0, 2)), f(2, 3, 4)),
    case("norm_noncontig", lambda m, x: x.t().norm(dim=1), f(4, 3)),
]

LOGIC_CUMSUM = [
    case("all", lambda m, x: m.all(x), b(3, 4)),
    case("all_dim", lambda m, x: x.all(1), b(3, 4)),
    case("all_keepdim", lambda m, x: m.all(x, dim=-1, keepdim=True), b(2, 3)),
    case("all_float", lambda m, x: (x > -1.9).all(), f(3, 4)),
    case("all_int", lambda m, x: x.all(0), i(3, 4, low=0, high=3)),
    case("any", lambda m, x: m.any(x), b(3, 4)),
    case("any_dim", lambda m, x: x.any(0), b(3, 4)),
    case("any_keepdim_neg", lambda m, x: m.any(x, -1, keepdim=True), b(2, 3)),
    case("any_int", lambda m, x: x.any(1), i(3, 4, low=0, high=1)),
    case("cumsum", lambda m, x: m.cumsum(x, 1), f(3, 4)),
    case("cumsum_dim0", lambda m, x: x.cumsum(0), f(3, 4)),
    case("cumsum_neg", lambda m, x: x.cumsum(dim=-1), f(2, 3, 4)),
    case("cumsum_noncontig", lambda m, x: x.t().cumsum(1), f(4, 3)),
    case("cumsum_int", lambda m, x: x.cumsum(0), i(3, 4, dtype=np.int32)),
    case("cumsum_bool", lambda m, x: x.cumsum(1), b(3, 4)),
    case("cumsum_dtype", lambda m, x: x.cumsum(1, dtype=m.float64), f(3, 4)),
]


EDGES = [
    case("sum_none_keepdim", lambda m, x: x.sum(dim=None, keepdim=True), f(2, 3)),
    case("max_0dim_dim", lambda m, x: x.max(0), f()),
    case("softmax_0dim", lambda m, x: x.softmax(0), f()),
    case("log_softmax_0dim", lambda m, x: x.log_softmax(-1), f()),
    case("cumsum_0dim", lambda m, x: x.cumsum(0), f()),
    case("sum_0dim_dim", lambda m, x: x.sum(0), f()),
    case("mean_0dim_keepdim", lambda m, x: x.mean(-1, keepdim=True), f()),
    case("amax_0dim_dim", lambda m, x: x.amax(0), f()),
    case("logsumexp_0dim", lambda m, x: x.logsumexp(0), f()),
    case("argmax_0dim", lambda m, x: x.argmax(0), f()),
    case("prod_0dim_dim", lambda m, x: x.prod(0), f()),
    case("std_single_element_dim", lambda m, x: x.std(0, keepdim=True, correction=0), f(1, 4)),
    case("sum_uint8", lambda m, x: x.sum(), i(3, low=0, dtype=np.uint8)),
    case("cumsum_uint8", lambda m, x: x.cumsum(0), i(3, low=0, dtype=np.uint8)),
    case("prod_int32", lambda m, x: x.prod(), i(3, dtype=np.int32)),
    case("max_bool", lambda m, x: x.max(), b(5)),
    case("amax_bool", lambda m, x: x.amax(0), b(5)),
    case("mean_keepdim_all_dims", lambda m, x: x.mean((0, 1), keepdim=True), f(2, 3)),
    case("logsumexp_all_dims", lambda m, x: x.logsumexp((0, 1)), f(2, 3)),
    case(
        "logsumexp_neg_inf_row",
        lambda m: m.tensor([[float("-inf")] * 3, [0.0, 1.0, 2.0]]).logsumexp(1),
    ),
]


@pytest.mark.parametrize(
    "fn, tfn, specs, tol", SUM_MEAN + VAR_STD + PROD + MAXMIN + SOFT + NORM + LOGIC_CUMSUM + EDGES
)
def test_reduction_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


# ---- ties --------------------------------------------------------------------------------
TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0]], np.float32)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.max(),  # full reduction: gradient split evenly over the maxima
        lambda x: x.min(),
        lambda x: x.amax(1),
        lambda x: x.amin(0),
        lambda x: x.amax((0, 1)),
        lambda x: x.max(1),  # with dim: all of it to the returned index
        lambda x: x.max(1, keepdim=True),
        lambda x: x.min(0),
        lambda x: x.norm(float("inf"), dim=1),
    ],
    ids=[
        "max",
        "min",
        "amax_dim",
        "amin_dim",
        "amax_all",
        "max_dim",
        "max_dim_keepdim",
        "min_dim",
        "norm_inf",
    ],
)
def test_tie_rules(call):
    check_op(call, call, TIES)


def test_norm_gradient_at_zero_vector():
    x = np.zeros((2, 3), np.float32)
    x[1] = [1.0, -2.0, 2.0]
    check_op(lambda a: a.norm(dim=1), lambda a: a.norm(dim=1), x)


def test_var_single_element_is_nan_like_torch():
    x = np.array([[1.5], [2.0]], np.float32)
    check_op(lambda a: a.var(1), lambda a: a.var(1), x, grad=False)


def test_max_dim_returns_named_tuple():
    x = ember.tensor([[1.0, 5.0, 2.0]])
    r = ember.max(x, 1)
    assert r.values.item() == 5.0 and r.indices.item() == 1
    v, idx = x.min(dim=1)
    assert v.item() == 1.0 and idx.item() == 0 and idx.dtype is ember.int64


EMPTY = [
    case("sum_empty", lambda m, x: m.sum(x), f(0, 3)),
    case("sum_empty_dim0", lambda m, x: x.sum(0), f(0, 3)),
    case("prod_empty", lambda m, x: x.prod(), f(0, 3)),
    case("mean_empty_dim1", lambda m, x: x.mean(1), f(0, 3)),
    case("any_empty", lambda m, x: x.any(), b(0, 3)),
    case("all_empty", lambda m, x: x.all(), b(0, 3)),
    case("amax_empty_other_dim", lambda m, x: x.amax(2), f(2, 0, 3)),
    case("cumsum_empty", lambda m, x: x.cumsum(0), f(0, 3)),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("fn, tfn, specs, tol", EMPTY)
def test_reductions_of_empty_tensors(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


def test_pos_values_for_prod_grad():
    check_op(lambda a: a.prod(0), lambda a: a.prod(0), pos(4, 3).make(3))
