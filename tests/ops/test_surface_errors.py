"""Bad input to the wider tensor surface raises PyTorch's exception type with a message naming
what was wrong (the rows and the check of ``test_op_errors.py``)."""

from __future__ import annotations

import pytest

from tests.ops.test_op_errors import err
from tests.ops.test_op_errors import test_error_matches_torch as _check


def _nan(m):
    return m.tensor([1.0, float("nan")])


ERRORS = [
    err("polygamma_negative_n", lambda m: m.polygamma(-1, m.ones(2)), r"negative n"),
    err(
        "logaddexp_int",
        lambda m: m.logaddexp(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int32)),
        r"Long",
    ),
    err("logaddexp_scalar", lambda m: m.logaddexp(m.ones(2), 1.0), r"must be Tensor"),
    err("logaddexp_broadcast", lambda m: m.logaddexp(m.ones(2), m.ones(3)), r"must match"),
    err(
        "hypot_int", lambda m: m.hypot(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64)), r"hypot"
    ),
    err("logcumsumexp_int", lambda m: m.logcumsumexp(m.ones(2, dtype=m.int64), 0), r"Long"),
    err("heaviside_dtypes", lambda m: m.heaviside(m.ones(2), m.ones(2, dtype=m.int64)), r"dtype"),
    err(
        "heaviside_grad",
        lambda m: m.heaviside(m.ones(2, requires_grad=True), m.ones(2)).sum().backward(),
        r"heaviside",
    ),
    err("renorm_1d", lambda m: m.renorm(m.ones(3), 2, 0, 1.0), r"at least 2 dimensions"),
    err("renorm_p", lambda m: m.renorm(m.ones(2, 3), 0, 0, 1.0), r"non-positive"),
    err(
        "nextafter_int",
        lambda m: m.nextafter(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64)),
        r"Long",
    ),
    err("diff_0d", lambda m: m.diff(m.tensor(1.0)), r"at least one-dimensional"),
    err("diff_negative_n", lambda m: m.diff(m.ones(3), n=-1), r"non-negative"),
    err("kthvalue_k_too_big", lambda m: m.kthvalue(m.ones(3), 4), r"out of range"),
    err("median_empty_dim", lambda m: m.median(m.zeros(2, 0), 1), r"non-zero size"),
    err("quantile_int", lambda m: m.quantile(m.ones(2, dtype=m.int64), 0.5), r"float or double"),
    err("quantile_q_range", lambda m: m.quantile(m.ones(2), 1.5), r"\[0, 1\]"),
    err(
        "quantile_q_dtype",
        lambda m: m.quantile(m.ones(2), m.tensor([0.5], dtype=m.float64)),
        r"dtype",
    ),
    err("quantile_q_2d", lambda m: m.quantile(m.ones(2), m.ones(1, 1) / 2), r"1D"),
    err(
        "quantile_interpolation", lambda m: m.quantile(m.ones(2), 0.5, interpolation="x"), r"linear"
    ),
    err("quantile_empty", lambda m: m.quantile(m.ones(0), 0.5), r"non-empty"),
    err("nanmean_int", lambda m: m.nanmean(m.ones(2, dtype=m.int64)), r"floating point"),
    err("bincount_float", lambda m: m.bincount(m.ones(2)), r"Float"),
    err("bincount_negative", lambda m: m.bincount(m.tensor([0, -1])), r"non-negative"),
    err("bincount_2d", lambda m: m.bincount(m.ones(2, 2, dtype=m.int64)), r"1-d"),
    err("bincount_weights", lambda m: m.bincount(m.tensor([0, 1]), m.ones(3)), r"same length"),
    err("histogram_int", lambda m: m.histogram(m.ones(2, dtype=m.int64), 2), r"Long"),
    err("histc_int", lambda m: m.histc(m.ones(2, dtype=m.int64)), r"Long"),
    err("histc_bins", lambda m: m.histc(m.ones(2), bins=0), r"bins must be > 0"),
    err("histc_range", lambda m: m.histc(m.ones(2), min=2, max=1), r"max must be larger"),
    err(
        "einsum_dtypes",
        lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(3, 2, dtype=m.float64)),
        r"Double",
    ),
    err("einsum_ndim", lambda m: m.einsum("ijk", m.ones(2, 3)), r"number of dimensions"),
    err("einsum_operands", lambda m: m.einsum("ij,jk", m.ones(2, 3)), r"operands"),
    err("einsum_sizes", lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(2, 3)), r"einsum"),
    err("tensordot_sizes", lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), 1), r"contracted"),
    err("inner_sizes", lambda m: m.inner(m.ones(2, 3), m.ones(2)), r"last dimension must match"),
    err("cross_size", lambda m: m.cross(m.ones(2, 2), m.ones(2, 2), dim=1), r"length 3"),
    err("cross_ndim", lambda m: m.cross(m.ones(3), m.ones(2, 3)), r"same number of dimensions"),
    err("cdist_1d", lambda m: m.cdist(m.ones(3), m.ones(2, 3)), r"at least 2D"),
    err("cdist_columns", lambda m: m.cdist(m.ones(2, 3), m.ones(2, 4)), r"same number of columns"),
    err("cdist_negative_p", lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), p=-1), r"non-negative"),
    err("block_diag_3d", lambda m: m.block_diag(m.ones(1, 1, 1)), r"2 or fewer dimensions"),
    err("vander_2d", lambda m: m.vander(m.ones(2, 2)), r"one-dimensional"),
    err("hsplit_uneven", lambda m: m.hsplit(m.ones(2, 3), 2), r"not divisible"),
    err("hsplit_0d", lambda m: m.hsplit(m.tensor(1.0), 1), r"at least 1 dimension"),
    err("vsplit_1d", lambda m: m.vsplit(m.ones(4), 2), r"at least 2 dimension"),
    err("dsplit_2d", lambda m: m.dsplit(m.ones(2, 4), 2), r"at least 3 dimension"),
    err("rot90_same_dims", lambda m: m.rot90(m.ones(2, 2), 1, (0, 0)), r"different"),
    err("rot90_1d", lambda m: m.rot90(m.ones(2)), r"dims >= 2"),
    err("tril_indices_float", lambda m: m.tril_indices(3, 3, dtype=m.float32), r"Float"),
    err("unfold_too_big", lambda m: m.ones(3).unfold(0, 4, 1), r"maximum size"),
    err("unfold_step", lambda m: m.ones(3).unfold(0, 1, 0), r"step"),
    err(
        "as_strided_out_of_bounds", lambda m: m.as_strided(m.ones(4), (3,), (2,)), r"out of bounds"
    ),
    err(
        "index_add_dtype",
        lambda m: m.index_add(m.ones(3), 0, m.tensor([0]), m.ones(1, dtype=m.float64)),
        r"same scalar type",
    ),
    err(
        "index_add_float_index",
        lambda m: m.index_add(m.ones(3), 0, m.tensor([0.0]), m.ones(1)),
        r"int",
    ),
    err(
        "index_add_out_of_range",
        lambda m: m.index_add(m.ones(3), 0, m.tensor([3]), m.ones(1)),
        r"out of range",
    ),
    err(
        "index_add_2d_index",
        lambda m: m.index_add(m.ones(3), 0, m.tensor([[0]]), m.ones(1, 1)),
        r"vector",
    ),
    err(
        "index_fill_vector_value",
        lambda m: m.ones(3).index_fill(0, m.tensor([0]), m.ones(2)),
        r"0-dimensional",
    ),
    err(
        "index_reduce_sum",
        lambda m: m.ones(3).index_reduce(0, m.tensor([0]), m.ones(1), "sum"),
        r"prod, mean, amax or amin",
    ),
    err(
        "scatter_reduce_name",
        lambda m: m.ones(3).scatter_reduce(0, m.tensor([0]), m.ones(1), "add"),
        r"sum, prod, mean, amax or amin",
    ),
    err(
        "scatter_reduce_dtype",
        lambda m: m.ones(3).scatter_reduce(0, m.tensor([0]), m.ones(1, dtype=m.float64), "sum"),
        r"dtype",
    ),
    err("poisson_int", lambda m: m.poisson(m.ones(2, dtype=m.int64)), r"Long"),
    err("poisson_negative", lambda m: m.poisson(-m.ones(2)), r"non-negative"),
    err("is_nonzero_many", lambda m: m.ones(2).is_nonzero(), r"more than one value"),
    err("is_nonzero_empty", lambda m: m.ones(0).is_nonzero(), r"no values"),
    err("new_other_dtype", lambda m: m.ones(2).new(m.tensor([1])), None),
    err("can_cast_not_dtype", lambda m: m.can_cast(1, m.float32), r"dtype"),
    err("range_out_of_bounds", lambda m: m.ones(2, 3)[range(3), [0, 1, 2]], r"out of bounds"),
    # add/sub's alpha against the result dtype (PyTorch's alpha_check), every entry point
    err("add_bool_alpha", lambda m: m.add(m.ones(2), m.ones(2), alpha=True), r"Boolean alpha"),
    err("sub_bool_alpha", lambda m: m.ones(2).sub(m.ones(2), alpha=False), r"Boolean alpha"),
    err(
        "add_int_float_alpha",
        lambda m: m.ones(2, dtype=m.int64).add(m.ones(2, dtype=m.int64), alpha=0.5),
        r"must not be a floating point",
    ),
    err(
        "add__int_float_alpha",
        lambda m: m.ones(2, dtype=m.int32).add_(m.ones(2, dtype=m.int32), alpha=2.0),
        r"must not be a floating point",
    ),
    err("add__bool_alpha", lambda m: m.ones(2).add_(m.ones(2), alpha=True), r"Boolean alpha"),
    err("sub__complex_alpha", lambda m: m.ones(2).sub_(m.ones(2), alpha=1j), r"complex"),
    err("add_complex_alpha", lambda m: m.add(m.ones(2), 1.0, alpha=2 + 1j), r"complex"),
    err(
        "add_int_alpha_overflow",
        lambda m: m.ones(2, dtype=m.int32).add(m.ones(2, dtype=m.int32), alpha=1 << 40),
        r"without overflow",
    ),
    err("add__huge_alpha", lambda m: m.ones(2).add_(m.ones(2), alpha=10**400), None),
    err("add_huge_alpha", lambda m: m.ones(2).add(m.ones(2), alpha=10**30), None),
    err("mul__alpha", lambda m: m.ones(2).mul_(m.ones(2), alpha=2), r"alpha"),
]


@pytest.mark.parametrize("fn, match", ERRORS)
def test_surface_error_matches_torch(fn, match):
    _check(fn, match)
