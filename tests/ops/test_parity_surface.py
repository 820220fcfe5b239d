"""Parity table for the wider tensor surface: pointwise extras, scans, order statistics,
products and distances, shape helpers, strided views, index writes — values, dtypes, shapes and
the gradient of every floating input, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.ops._cases import b, case, d, f, i, pos, run_case
from tests.parity import check_op


def _p(*shape: int):
    """Probabilities strictly inside (0, 1)."""
    return pos(*shape, low=0.05, high=0.95)


def _idx(m, rows):
    return m.tensor(rows)


def _with_nonfinite(m, x):
    """``x`` with NaN where it is above 1, +inf below -1 and -inf between -0.2 and 0."""
    x = x.masked_fill(x > 1, float("nan")).masked_fill(x < -1, float("inf"))
    return x.masked_fill((x > -0.2) & (x < 0), -float("inf"))


POINTWISE = [
    case("logaddexp", lambda m, x, y: m.logaddexp(x, y), f(3, 4), f(4)),
    case("logaddexp_f64", lambda m, x, y: x.logaddexp(y), d(3, 4, low=-50, high=50), d(3, 4)),
    case("logaddexp_mixed", lambda m, x, y: m.logaddexp(x, y), f(3), d(3)),
    case("logaddexp2", lambda m, x, y: m.logaddexp2(x, y), f(3, 4), f(3, 1)),
    case("hypot", lambda m, x, y: m.hypot(x, y), f(3, 4), f(4)),
    case("hypot_method", lambda m, x, y: x.hypot(y), d(2, 3), d(2, 3)),
    case("copysign", lambda m, x, y: m.copysign(x, y), f(3, 4), f(4)),
    case("copysign_scalar", lambda m, x: m.copysign(x, -1.0), f(5)),
    case("copysign_int", lambda m, x, y: m.copysign(x, y), i(5), i(5)),
    case("sinc", lambda m, x: m.sinc(x), f(3, 4)),
    case("sinc_int", lambda m, x: x.sinc(), i(6)),
    case("logit", lambda m, x: m.logit(x), _p(3, 4)),
    case("logit_eps", lambda m, x: x.logit(eps=0.2), _p(3, 4)),
    case("logit_eps_f64", lambda m, x: x.logit(1e-3), d(8, low=-0.2, high=1.2)),
    case("deg2rad", lambda m, x: m.deg2rad(x), f(3)),
    case("rad2deg", lambda m, x: m.rad2deg(x), d(3)),
    case("deg2rad_int", lambda m, x: x.deg2rad(), i(3)),
    case("heaviside", lambda m, x, v: m.heaviside(x * (x > 0), v), f(3, 4), f(4), grad=False),
    case("signbit", lambda m, x: m.signbit(x), f(6)),
    case("signbit_int", lambda m, x: x.signbit(), i(6)),
    case("sgn", lambda m, x: m.sgn(x), f(6), grad=False),  # torch's grad is a ZeroTensor
    case("isin", lambda m, x, y: m.isin(x, y), i(3, 4), i(5)),
    case("isin_invert", lambda m, x, y: m.isin(x, y, invert=True), i(3, 4), i(5)),
    case("isin_scalar", lambda m, x: m.isin(x, 2), i(3, 4)),
    case("frac", lambda m, x: m.frac(x), f(3, 4)),
    case("nan_to_num", lambda m, x: m.nan_to_num(_with_nonfinite(m, x), 1.0, 9.0), f(3, 4)),
    case("nan_to_num_defaults", lambda m, x: _with_nonfinite(m, x).nan_to_num(), d(3, 4)),
    case("nan_to_num_int", lambda m, x: m.nan_to_num(x), i(3)),
]

SCANS = [
    case("cummax", lambda m, x: m.cummax(x, 1), f(3, 5)),
    case("cummax_method_dim0", lambda m, x: x.cummax(0), d(4, 3)),
    case("cummin", lambda m, x: m.cummin(x, -1), f(3, 5)),
    case("cummax_int", lambda m, x: m.cummax(x, 0), i(7)),
    case("cummin_ties", lambda m, x: m.cummin(x, 0), i(9, low=0, high=2)),
    case("cummax_bool", lambda m, x: m.cummax(x, 0), b(6)),
    case("cummax_0d", lambda m, x: m.cummax(x, 0), f()),
    case("logcumsumexp", lambda m, x: m.logcumsumexp(x, 1), f(3, 5)),
    case("logcumsumexp_wide", lambda m, x: x.logcumsumexp(0), d(6, 2, low=-300, high=300)),
    case("logcumsumexp_0d", lambda m, x: x.logcumsumexp(0), f()),
    case("diff", lambda m, x: m.diff(x), f(3, 5)),
    case("diff_n2_dim0", lambda m, x: x.diff(n=2, dim=0), f(4, 3)),
    case("diff_pre_app", lambda m, x, p, a: m.diff(x, 1, 0, p, a), f(3, 2), f(1, 2), f(2, 2)),
    case("diff_n_too_big", lambda m, x: m.diff(x, n=5), f(2, 3)),
    case("diff_int", lambda m, x: m.diff(x), i(6)),
    case("diff_bool", lambda m, x: m.diff(x), b(6)),
    case("cumprod", lambda m, x: m.cumprod(x, 1), pos(3, 4)),
]

STATS = [
    case("median_all", lambda m, x: m.median(x), f(3, 5)),
    case("median_even", lambda m, x: x.median(), d(4)),
    case("median_dim", lambda m, x: m.median(x, 1), f(3, 5)),
    case("median_dim_keepdim", lambda m, x: x.median(0, keepdim=True), f(4, 3)),
    case("median_int", lambda m, x: m.median(x, -1), i(3, 5, low=-50, high=50)),
    case("median_0d", lambda m, x: m.median(x, 0), f()),
    case("nanmedian_all", lambda m, x: m.nanmedian(x), f(3, 5)),
    case("nanmedian_dim", lambda m, x: x.nanmedian(1, keepdim=True), f(3, 5)),
    case("kthvalue", lambda m, x: m.kthvalue(x, 2), f(3, 5)),
    case("kthvalue_dim0_keep", lambda m, x: x.kthvalue(4, 0, True), d(4, 3)),
    case("kthvalue_0d", lambda m, x: m.kthvalue(x, 1), f()),
    case("mode", lambda m, x: m.mode(x.round()), f(3, 7, low=-1.4, high=1.4)),
    case("mode_int_dim0", lambda m, x: x.mode(0), i(9, 2, low=0, high=1)),
    case("quantile_scalar", lambda m, x: m.quantile(x, 0.3), f(3, 5)),
    case("quantile_dim", lambda m, x: x.quantile(0.75, dim=1), d(3, 5)),
    case("quantile_keepdim_all", lambda m, x: m.quantile(x, 0.1, keepdim=True), f(2, 3)),
    case("quantile_0d", lambda m, x: m.quantile(x, 0.5, dim=0), f()),
    case(
        "quantile_vector_q",
        lambda m, x: m.quantile(x, m.tensor([0.0, 0.2, 1.0]), dim=0, keepdim=True),
        f(4, 3),
    ),
]
STATS += [
    case(
        f"quantile_{mode}",
        lambda m, x, mode=mode: m.quantile(x, m.tensor([0.25, 0.5, 0.9]), 1, interpolation=mode),
        f(3, 5),
    )
    for mode in ("linear", "lower", "higher", "midpoint", "nearest")
]
STATS += [
    case("nanquantile", lambda m, x: m.nanquantile(x, 0.4, dim=1), f(3, 5)),
    case("nansum", lambda m, x: m.nansum(x / (x > -1)), f(3, 4)),
    case("nansum_dim_dtype", lambda m, x: x.nansum(1, dtype=m.float64), f(3, 4)),
    case("nansum_int", lambda m, x: m.nansum(x, 0), i(3, 4)),
    case("nanmean", lambda m, x: m.nanmean(x.log(), 1), f(3, 4, low=-1, high=3)),
    case("nanmean_keepdim", lambda m, x: x.nanmean((0, 1), keepdim=True), f(2, 3, 2)),
    case("bincount", lambda m, x: m.bincount(x), i(20, low=0, high=6)),
    case("bincount_minlength", lambda m, x: x.bincount(minlength=12), i(20, low=0, high=6)),
    # forward only: torch has no bincount derivative (ember's weights take one, by index_add)
    case(
        "bincount_weights", lambda m, x, w: m.bincount(x, w), i(9, low=0, high=4), f(9), grad=False
    ),
    case("bincount_int_weights", lambda m, x, w: m.bincount(x, w), i(9, low=0, high=3), i(9)),
    case("histc", lambda m, x: m.histc(x, bins=7), f(50)),
    case("histc_range", lambda m, x: x.histc(4, -1, 1), d(50)),
]

PRODUCTS = [
    case("einsum_matmul", lambda m, x, y: m.einsum("ij,jk->ik", x, y), f(3, 4), f(4, 2)),
    case("einsum_batch", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), f(2, 3, 4), f(2, 4, 2)),
    case("einsum_trace", lambda m, x: m.einsum("ii", x), f(3, 3)),
    case("einsum_diagonal", lambda m, x: m.einsum("ii->i", x), f(3, 3)),
    case("einsum_sum_axis", lambda m, x: m.einsum("ij->j", x), f(3, 4)),
    case("einsum_transpose", lambda m, x: m.einsum("ij->ji", x), f(3, 4)),
    case("einsum_outer_implicit", lambda m, x, y: m.einsum("i,j", x, y), f(3), f(4)),
    case("einsum_ellipsis", lambda m, x, y: m.einsum("...ij,...jk", x, y), f(2, 3, 4), f(4, 5)),
    case(
        "einsum_broadcast_1", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), f(1, 3, 4), f(2, 4, 2)
    ),
    case("einsum_list", lambda m, x, y: m.einsum("ij,ij->", [x, y]), f(3, 4), f(3, 4)),
    case("einsum_spaces", lambda m, x, y: m.einsum("i j , j -> i", x, y), f(3, 4), f(4)),
    case(
        "einsum_three",
        lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z),
        f(2, 3),
        f(3, 4),
        f(4, 2),
    ),
    case("einsum_int", lambda m, x, y: m.einsum("i,i->", x, y), i(5), i(5)),
    case("tensordot_int_dims", lambda m, x, y: m.tensordot(x, y, 2), f(2, 3, 4), f(3, 4, 5)),
    case(
        "tensordot_lists",
        lambda m, x, y: m.tensordot(x, y, ([0, 2], [2, 0])),
        f(2, 3, 4),
        f(4, 5, 2),
    ),
    case("tensordot_zero", lambda m, x, y: m.tensordot(x, y, 0), f(2, 3), f(2)),
    case("inner", lambda m, x, y: m.inner(x, y), f(2, 3), f(4, 3)),
    case("inner_0d", lambda m, x, y: x.inner(y), f(), f(2, 3)),
    case("kron", lambda m, x, y: m.kron(x, y), f(2, 3), f(3, 2)),
    case("kron_ranks", lambda m, x, y: x.kron(y), f(2), f(2, 2, 3)),
    case("kron_int", lambda m, x, y: m.kron(x, y), i(2, 2), i(2)),
    case("cross", lambda m, x, y: m.cross(x, y, dim=1), f(4, 3), f(4, 3)),
    case("cross_dim0_method", lambda m, x, y: x.cross(y, 0), d(3, 2), d(3, 2)),
    case("cross_broadcast", lambda m, x, y: m.cross(x, y, dim=-1), f(1, 3), f(4, 3)),
    case("cdist_p2", lambda m, x, y: m.cdist(x, y), f(4, 3), f(5, 3)),
    case("cdist_batch", lambda m, x, y: m.cdist(x, y), d(2, 4, 3), d(2, 5, 3)),
    case("cdist_p1", lambda m, x, y: m.cdist(x, y, p=1), f(4, 3), f(5, 3)),
    case("cdist_p3", lambda m, x, y: m.cdist(x, y, 3.0), d(4, 3), d(5, 3)),
    case("cdist_pinf", lambda m, x, y: m.cdist(x, y, float("inf")), f(4, 3), f(5, 3)),
    case("cdist_p0", lambda m, x, y: m.cdist(x.round(), y.round(), 0), f(4, 3), f(5, 3)),
    case("cosine_similarity", lambda m, x, y: m.cosine_similarity(x, y), f(4, 3), f(4, 3)),
    case("pairwise_distance", lambda m, x, y: m.pairwise_distance(x, y), f(4, 3), f(4, 3)),
    case("block_diag", lambda m, x, y, z: m.block_diag(x, y, z), f(2, 3), f(4), f()),
    case("block_diag_promote", lambda m, x, y: m.block_diag(x, y), i(2, 2), d(1, 3)),
    case("block_diag_none", lambda m: m.block_diag()),
    case("vander_int", lambda m, x: m.vander(x), i(4)),
    case("vander_increasing", lambda m, x: m.vander(x, 3, True), i(4)),
    case("vander_float", lambda m, x: m.vander(x, N=5), f(3), grad=False),
]

SHAPES = [
    case("atleast_1d", lambda m, x: m.atleast_1d(x), f()),
    case("atleast_2d", lambda m, x: m.atleast_2d(x), f(3)),
    case("atleast_3d_0d", lambda m, x: m.atleast_3d(x), f()),
    case("atleast_3d_1d", lambda m, x: m.atleast_3d(x), f(3)),
    case("atleast_3d_2d", lambda m, x: m.atleast_3d(x), f(2, 3)),
    case("atleast_2d_many", lambda m, x, y: m.atleast_2d(x, y), f(), f(2, 3, 4)),
    case("atleast_1d_list", lambda m, x, y: m.atleast_1d([x, y]), f(), f(2)),
    case("column_stack", lambda m, x, y, z: m.column_stack((x, y, z)), f(3), f(3, 2), f(3)),
    case("column_stack_0d", lambda m, x, y: m.column_stack([x, y]), f(), f(1)),
    case("row_stack", lambda m, x, y: m.row_stack([x, y]), f(3), f(2, 3)),
    case("dstack", lambda m, x, y: m.dstack([x, y]), f(2, 3), f(2, 3)),
    case("dstack_1d", lambda m, x, y: m.dstack([x, y]), f(3), f(3)),
    case("hsplit", lambda m, x: m.hsplit(x, 2), f(3, 4)),
    case("hsplit_1d_indices", lambda m, x: x.hsplit([1, 4]), f(6)),
    case("vsplit", lambda m, x: m.vsplit(x, [1]), f(3, 4)),
    case("dsplit", lambda m, x: m.dsplit(x, 2), f(2, 1, 4)),
    case("rot90", lambda m, x: m.rot90(x), f(3, 4)),
    case("rot90_k2", lambda m, x: x.rot90(2), f(3, 4)),
    case("rot90_k3_dims", lambda m, x: m.rot90(x, 3, [2, 0]), f(2, 3, 4)),
    case("rot90_negative_k", lambda m, x: m.rot90(x, -1, (1, 0)), f(3, 4)),
    case("rot90_k4", lambda m, x: m.rot90(x, 4), f(3, 4)),
    case("tril_indices", lambda m: m.tril_indices(4, 3)),
    case("tril_indices_offset", lambda m: m.tril_indices(3, 5, 2)),
    case("triu_indices", lambda m: m.triu_indices(4, 4, -1, dtype=m.int32)),
    case("triu_indices_empty", lambda m: m.triu_indices(0, 3)),
    case("unfold", lambda m, x: x.unfold(1, 2, 1), f(3, 5)),
    case("unfold_step", lambda m, x: x.unfold(0, 2, 2), f(5, 3)),
    case("unfold_noncontig", lambda m, x: x.t().unfold(1, 3, 2), f(6, 4)),
    case("unfold_0d", lambda m, x: x.unfold(0, 1, 1), f()),
    case("unfold_then_sum", lambda m, x: x.unfold(-1, 3, 1).sum(-1), d(2, 6)),
    case("as_strided", lambda m, x: m.as_strided(x, (3, 3), (1, 2)), f(12)),
    case("as_strided_offset", lambda m, x: x.as_strided((2, 2), (4, 1), 1), f(3, 4)),
]

INDEX_WRITES = [
    case("index_add", lambda m, x, s: m.index_add(x, 0, _idx(m, [0, 2, 0]), s), f(3, 4), f(3, 4)),
    case(
        "index_add_alpha",
        lambda m, x, s: x.index_add(1, _idx(m, [3, 1]), s, alpha=-2),
        f(3, 4),
        f(3, 2),
    ),
    case("index_add_int", lambda m, x, s: x.index_add(0, _idx(m, [1, 1]), s), i(3), i(2)),
    case("index_add_0d", lambda m, x, s: x.index_add(0, _idx(m, [0]), s), f(), f()),
    case("index_copy", lambda m, x, s: m.index_copy(x, 1, _idx(m, [2, 0]), s), f(3, 4), f(3, 2)),
    case("index_copy_method", lambda m, x, s: x.index_copy(0, _idx(m, [1]), s), d(3, 2), d(1, 2)),
    case("index_fill", lambda m, x: m.index_fill(x, 1, _idx(m, [0, 3]), -1.5), f(3, 4)),
    case("index_fill_tensor", lambda m, x, v: x.index_fill(0, _idx(m, [1, 1]), v), f(3, 4), f()),
    case("index_fill_negative_index", lambda m, x: x.index_fill(1, _idx(m, [-1]), 0), f(2, 3)),
    case("index_fill_int", lambda m, x: x.index_fill(0, _idx(m, [0]), 7), i(2, 3)),
]
_SCATTER = [[0, 1, 0, 1], [2, 2, 0, 0], [1, 1, 1, 1]]
for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        INDEX_WRITES.append(
            case(
                f"scatter_reduce_{_red}_{'self' if _self else 'noself'}",
                lambda m, x, s, r=_red, inc=_self: x.scatter_reduce(
                    1, _idx(m, _SCATTER), s, r, include_self=inc
                ),
                f(3, 4),
                f(3, 4),
            )
        )
INDEX_WRITES += [
    case(
        "scatter_reduce_ties",
        lambda m, x, s: m.scatter_reduce(x.round(), 0, _idx(m, [0, 0, 1]), s.round(), "amax"),
        f(2, low=-1, high=1),
        f(3, low=-1, high=1),
    ),
    case(
        "scatter_reduce_prod_zeros",
        lambda m, x, s: x.scatter_reduce(0, _idx(m, [0, 0, 1, 1]), s * (s > 0), "prod"),
        f(2),
        f(4),
    ),
    case(
        "scatter_reduce_int_mean",
        lambda m, x, s: x.scatter_reduce(0, _idx(m, [0, 0, 2]), s, "mean"),
        i(3),
        i(3),
    ),
    case(
        "scatter_reduce_small_index",  # forward only: torch's backward fails on a larger src
        lambda m, x, s: x.scatter_reduce(1, _idx(m, [[0, 3]]), s, "sum"),
        f(2, 4),
        f(2, 3),
        grad=False,
    ),
    case(
        "scatter_reduce_max_alias",
        lambda m, x, s: x.scatter_reduce(0, _idx(m, [1]), s, "max"),
        f(3),
        f(1),
        grad=False,
    ),
]

INDEXING = [
    case("range_rows", lambda m, x, y: x[range(3), y.long().abs() % 4], f(3, 4), i(3)),
    case("range_and_list", lambda m, x: x[range(3), [0, 3, 1]], f(3, 4)),
    case("range_alone", lambda m, x: x[range(1, 3)], f(3, 4)),
    case("range_step_pair", lambda m, x: x[range(0, 4, 2), range(1, 3)], f(4, 4)),
    case("range_after_ellipsis", lambda m, x: x[..., range(2)], f(2, 3, 4)),
    case("list_of_lists", lambda m, x: x[[[0, 1], [1, 2]]], f(3, 4)),
    case("tuple_in_key", lambda m, x: x[(0, 2), :], f(3, 4)),
    case("numpy_ints", lambda m, x: x[np.array([[0, 1], [2, 0]])], f(3, 4)),
    case("numpy_ints_pair", lambda m, x: x[np.array([0, 2]), np.array([3, 1])], f(3, 4)),
    case("numpy_scalar", lambda m, x: x[np.int64(1), [0, 3]], f(3, 4)),
    case("numpy_bool", lambda m, x: x[np.array([True, False, True])], f(3, 4)),
    case("list_of_tensors", lambda m, x: x[[m.tensor(0), m.tensor(2)]], f(3, 4)),
]

TABLE = POINTWISE + SCANS + STATS + PRODUCTS + SHAPES + INDEX_WRITES + INDEXING


@pytest.mark.parametrize("fn, tfn, specs, tol", TABLE)
def test_surface_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


def _nan_rows() -> np.ndarray:
    nan = float("nan")
    return np.array([[1.0, nan, 3.0, 0.5], [nan, nan, nan, nan], [2.0, 4.0, 1.0, 3.0]], np.float32)


NAN_CASES = [
    ("median_nan_rows", lambda m, x: m.median(x, 1)),
    ("median_nan_all", lambda m, x: m.median(x)),
    ("median_ties_all", lambda m, x: m.median(x.round())),
    ("nanmedian_nan_all", lambda m, x: m.nanmedian(x)),
    ("nanmedian_ties_all", lambda m, x: m.nanmedian(x.round())),
    ("quantile_nan_rows", lambda m, x: m.quantile(x, 0.5, dim=1)),
    ("nanquantile_nan_rows", lambda m, x: m.nanquantile(x, m.tensor([0.3, 0.8]), dim=1)),
    ("nansum_nan_rows", lambda m, x: m.nansum(x, 1)),
    ("nanmean_nan_rows", lambda m, x: m.nanmean(x, 1)),
    ("cummax_nan_rows", lambda m, x: m.cummax(x, 1)),
    ("cummin_nan_rows", lambda m, x: m.cummin(x, 1)),
    # Rows of NaNs only are left out here: which of its NaNs PyTorch names is up to its
    # nth_element (see test_all_nan_rows_give_nan).
    ("nanmedian_some_nan", lambda m, x: m.nanmedian(x[[0, 2]], 1)),
    ("kthvalue_some_nan", lambda m, x: m.kthvalue(x[[0, 2]], 2, 1)),
]


@pytest.mark.parametrize("fn", [c[1] for c in NAN_CASES], ids=[c[0] for c in NAN_CASES])
def test_nan_handling_matches_torch(fn):
    check_op(lambda t: fn(ember, t), lambda t: fn(torch, t), _nan_rows(), atol=1e-6)


def test_all_nan_rows_give_nan():
    x = ember.tensor(_nan_rows())
    for res in (ember.nanmedian(x, 1), ember.kthvalue(x, 2, 1), ember.median(x, 1)):
        values = res.values.numpy()
        assert np.isnan(values[1]) and np.isnan(x.numpy()[1, res.indices[1].item()])


def test_mode_counts_each_nan_once_as_torch():
    nan = float("nan")
    for row in ([1.0, nan, nan, 1.0, nan], [nan, nan], [3.0, nan, 2.0]):
        assert ember.mode(ember.tensor(row)).values.tolist() == pytest.approx(
            torch.mode(torch.tensor(row)).values.tolist(), nan_ok=True
        )


def test_unique_consecutive_matches_torch():
    data = [1, 1, 2, 2, 3, 1, 1, 2]
    for kw in (
        {},
        {"return_inverse": True},
        {"return_counts": True},
        {"return_inverse": True, "return_counts": True},
    ):
        check_op(
            lambda x, kw=kw: ember.unique_consecutive(x, **kw),
            lambda x, kw=kw: torch.unique_consecutive(x, **kw),
            np.array(data),
        )
    rows = np.array([[1, 1], [1, 1], [2, 3], [1, 1]])
    check_op(
        lambda x: x.unique_consecutive(return_inverse=True, return_counts=True, dim=0),
        lambda x: x.unique_consecutive(return_inverse=True, return_counts=True, dim=0),
        rows,
    )
    check_op(
        lambda x: ember.unique_consecutive(x, dim=1),
        lambda x: torch.unique_consecutive(x, dim=1),
        rows,
    )


def test_result_type_and_can_cast_match_torch():
    pairs = [
        (lambda m: m.tensor([1]), 1.0),
        (lambda m: m.tensor([1]), lambda m: m.tensor(1.0)),
        (lambda m: m.tensor([1], dtype=m.uint8), lambda m: m.tensor([1], dtype=m.int8)),
        (lambda m: m.tensor([1.0], dtype=m.float16), 2.5),
        (lambda m: m.tensor([True]), 3),
        (lambda m: m.tensor([1]), 1j),
        (lambda m: m.tensor(1.0, dtype=m.float64), lambda m: m.tensor([1], dtype=m.int32)),
        (1, 2.0),
        (2, 3),
        (True, False),
    ]
    for a, c in pairs:
        got = ember.result_type(a(ember) if callable(a) else a, c(ember) if callable(c) else c)
        want = torch.result_type(a(torch) if callable(a) else a, c(torch) if callable(c) else c)
        assert got.name == str(want).replace("torch.", "")
    names = ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "complex64"]
    for a in names:
        for c in names:
            got = ember.can_cast(getattr(ember, a), getattr(ember, c))
            assert got == torch.can_cast(getattr(torch, a), getattr(torch, c)), (a, c)


IN_PLACE = [
    ("lgamma_", lambda m, x: x.lgamma_()),
    ("digamma_", lambda m, x: x.digamma_()),
    ("polygamma_", lambda m, x: x.polygamma_(1)),
    ("erfinv_", lambda m, x: x.clamp_(-0.9, 0.9).erfinv_()),
    ("i0_", lambda m, x: x.i0_()),
    ("xlogy_", lambda m, x: x.xlogy_(2.0)),
    ("logit_", lambda m, x: x.clamp_(0.1, 0.9).logit_()),
    ("hypot_", lambda m, x: x.hypot_(m.ones(3, 4))),
    ("copysign_", lambda m, x: x.copysign_(-1.0)),
    ("sinc_", lambda m, x: x.sinc_()),
    ("deg2rad_", lambda m, x: x.deg2rad_()),
    ("rad2deg_", lambda m, x: x.rad2deg_()),
    ("sgn_", lambda m, x: x.sgn_()),  # values only: torch's gradient is a ZeroTensor
    ("frac_", lambda m, x: x.frac_()),
    ("exp2_", lambda m, x: x.exp2_()),
    ("log2_", lambda m, x: x.abs_().log2_()),
    ("log10_", lambda m, x: x.abs_().log10_()),
    ("tan_", lambda m, x: x.tan_()),
    ("sinh_", lambda m, x: x.sinh_()),
    ("cosh_", lambda m, x: x.cosh_()),
    ("asinh_", lambda m, x: x.asinh_()),  # values only: torch has no in-place derivative
    ("atan_", lambda m, x: x.arctan_()),
    ("asin_", lambda m, x: x.clamp_(-0.9, 0.9).arcsin_()),
    ("acos_", lambda m, x: x.clamp_(-0.9, 0.9).acos_()),
    ("atanh_", lambda m, x: x.clamp_(-0.9, 0.9).atanh_()),
    ("acosh_", lambda m, x: x.abs_().add_(1).acosh_()),
    ("arctan2_", lambda m, x: x.arctan2_(m.ones(4))),
    ("negative_", lambda m, x: x.negative_()),
    ("absolute_", lambda m, x: x.absolute_()),
    ("fix_", lambda m, x: x.mul_(3).fix_()),
    ("cumsum_", lambda m, x: x.cumsum_(1)),
    ("cumprod_", lambda m, x: x.cumprod_(0)),
    (
        "nan_to_num_",
        lambda m, x: (
            x.masked_fill_(x > 1, float("nan"))
            .masked_fill_(x < -1, float("inf"))
            .nan_to_num_(posinf=9.0)
        ),
    ),
    ("addmm_", lambda m, x: x.addmm_(m.ones(3, 2), m.ones(2, 4))),
    ("index_add_", lambda m, x: x.index_add_(0, m.tensor([0, 0]), m.ones(2, 4))),
    ("index_copy_", lambda m, x: x.index_copy_(1, m.tensor([2]), m.ones(3, 1))),
    ("index_fill_", lambda m, x: x.index_fill_(1, m.tensor([2]), 4.0)),
    (
        "scatter_reduce_",
        lambda m, x: x.scatter_reduce_(0, m.tensor([[1, 0, 1, 0]]), m.ones(1, 4), "amin"),
    ),
    ("eq_", lambda m, x: x.round_().eq_(0)),
    ("gt_", lambda m, x: x.gt_(m.zeros(4))),
    ("le_", lambda m, x: x.le_(0.5)),
    ("logical_and_", lambda m, x: x.logical_and_(x > 0)),
    ("logical_not_", lambda m, x: x.logical_not_()),
    ("squeeze_", lambda m, x: x.unsqueeze_(0).squeeze_(0)),
    ("unsqueeze_", lambda m, x: x.unsqueeze_(1)),
    ("t_", lambda m, x: x.t_()),
    ("transpose_", lambda m, x: x.transpose_(0, 1)),
    ("swapaxes_", lambda m, x: x.swapaxes_(1, 0)),
    ("as_strided_", lambda m, x: x.as_strided_((2, 2), (1, 2))),
]


_VALUES_ONLY = {fn for name, fn in IN_PLACE if name in ("sgn_", "asinh_", "atanh_", "acosh_")}


@pytest.mark.parametrize("fn", [c[1] for c in IN_PLACE], ids=[c[0] for c in IN_PLACE])
def test_in_place_forms_match_torch(fn):
    """The in-place form changes the tensor itself (same object, bumped version) to what
    PyTorch's gives, and, on a non-leaf, records the gradient PyTorch records."""
    x = np.random.default_rng(3).uniform(-2, 2, (3, 4)).astype(np.float32)
    xe, xt = ember.tensor(x), torch.tensor(x)
    assert fn(ember, xe) is xe
    fn(torch, xt)
    assert xe.shape == tuple(xt.shape) and xe._version > 0
    np.testing.assert_allclose(xe.numpy(), xt.numpy(), rtol=1e-5, atol=1e-6)
    if fn in _VALUES_ONLY:
        return
    check_op(lambda t: fn(ember, t * 1), lambda t: fn(torch, t * 1), x, rtol=1e-5, atol=1e-5)


def test_in_place_on_a_leaf_that_requires_grad_is_refused_as_torch():
    for _name, call in (("lgamma_", lambda x: x.lgamma_()), ("t_", lambda x: x.t_())):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            call(torch.ones(2, 2, requires_grad=True))
        with pytest.raises(RuntimeError, match="leaf Variable"):
            call(ember.ones(2, 2, requires_grad=True))


def test_view_in_place_keeps_the_graph():
    xe = ember.ones(2, 3, requires_grad=True)
    xt = torch.ones(2, 3, requires_grad=True)
    ye, yt = xe * 2, xt * 2
    ye.t_().unsqueeze_(0)
    yt.t_().unsqueeze_(0)
    assert ye.shape == tuple(yt.shape) and ye._version == yt._version
    (ye * ember.arange(3.0).reshape(1, 3, 1)).sum().backward()
    (yt * torch.arange(3.0).reshape(1, 3, 1)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())


def test_setitem_with_range_and_nested_lists():
    for key in ((range(3), [0, 1, 3]), [[0, 2], [1, 1]], np.array([2, 0])):
        e, t = ember.zeros(3, 4), torch.zeros(3, 4)
        e[key] = 5.0
        t[key] = 5.0
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_unfold_is_a_view():
    x = ember.arange(6.0)
    w = x.unfold(0, 2, 2)
    x[0] = 10.0
    assert w[0, 0].item() == 10.0 and w.untyped_storage().data_ptr() == x.data_ptr()


def test_poisson_samples_and_zero_gradient():
    ember.manual_seed(0)
    rates = ember.tensor([0.5, 4.0, 30.0], dtype=ember.float64, requires_grad=True)
    draws = ember.stack([ember.poisson(rates) for _ in range(400)])
    assert draws.dtype is ember.float64 and draws.requires_grad
    np.testing.assert_allclose(draws.mean(0).detach().numpy(), [0.5, 4.0, 30.0], rtol=0.15)
    assert (draws.detach().numpy() == np.round(draws.detach().numpy())).all()
    draws.sum().backward()
    assert rates.grad.tolist() == [0.0, 0.0, 0.0]  # PyTorch's poisson gradient is zero


def test_multinomial_and_bernoulli_methods():
    ember.manual_seed(1)
    w = ember.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    s = w.multinomial(4, replacement=True)
    assert s.shape == (2, 4) and s.dtype is ember.int64
    assert set(s[0].tolist()) <= {1, 2} and s[1].tolist() == [0, 0, 0, 0]
    p = ember.tensor([0.0, 1.0, 1.0])
    assert p.bernoulli().tolist() == [0.0, 1.0, 1.0]
    assert ember.zeros(3).bernoulli(1.0).tolist() == [1.0, 1.0, 1.0]
