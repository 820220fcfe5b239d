"""Bad input raises PyTorch's exception type with a message naming what was wrong.

Each row is ``err(id, fn, match)``: ``fn(lib)`` makes the bad call; it is run with torch first
(which must raise), then ember must raise the same exception type, and its message must match
``match`` (the gist, a regex) — never a NumPy error from deep inside.
"""

from __future__ import annotations

import re

import pytest
import torch

import ember


def err(name: str, fn, match: str | None = None):
    return pytest.param(fn, match, id=name)


def _x(m, *shape):
    return m.arange(float(int(torch.Size(shape).numel()))).reshape(shape)


def _leaf(m):
    return m.ones(3, requires_grad=True)


def _pad(m, x, pad):
    if m is torch:
        return torch.nn.functional.pad(x, pad, mode="constant")
    return ember.ops.shape.constant_pad(x, pad)


SHAPES = [
    err(
        "matmul_mat_mat",
        lambda m: m.zeros(64, 784) @ m.zeros(256, 10),
        r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 256x10\)",
    ),
    err(
        "matmul_batch_mat",
        lambda m: m.zeros(2, 3, 4) @ m.zeros(5, 6),
        r"mat1 and mat2 shapes cannot be multiplied \(6x4 and 5x6\)",
    ),
    err("matmul_vec_vec", lambda m: m.matmul(m.zeros(3), m.zeros(4)), r"inconsistent tensor size"),
    err("matmul_mat_vec", lambda m: m.zeros(2, 3) @ m.zeros(4), r"size mismatch"),
    err("matmul_0dim", lambda m: m.matmul(m.zeros(()), m.zeros(3)), r"at least 1D"),
    err(
        "matmul_batch_broadcast",
        lambda m: m.zeros(2, 3, 4) @ m.zeros(3, 4, 5),
        r"must match the size of tensor b",
    ),
    err("mm_not_matrix", lambda m: m.mm(m.zeros(3), m.zeros(3, 2)), r"matrix"),
    err(
        "mm_mismatch",
        lambda m: m.mm(m.zeros(2, 3), m.zeros(4, 2)),
        r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)",
    ),
    err("bmm_not_3d", lambda m: m.bmm(m.zeros(2, 3), m.zeros(3, 2)), r"3D"),
    err("bmm_batch_mismatch", lambda m: m.bmm(m.zeros(2, 3, 4), m.zeros(3, 4, 5)), r"batch"),
    err("dot_2d", lambda m: m.dot(m.zeros(2, 2), m.zeros(2, 2)), r"1D tensors expected"),
    err(
        "add_broadcast",
        lambda m: m.zeros(2, 3) + m.zeros(4),
        r"size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
        r"dimension 1",
    ),
    err(
        "mul_broadcast",
        lambda m: m.mul(m.zeros(5, 3), m.zeros(4, 3)),
        r"size of tensor a \(5\) must match the size of tensor b \(4\)",
    ),
    err("div_broadcast", lambda m: m.zeros(3) / m.ones(2), r"must match the size of tensor b"),
    err("compare_broadcast", lambda m: m.zeros(3) < m.zeros(2), r"must match the size"),
    err(
        "where_broadcast",
        lambda m: m.where(m.zeros(3, dtype=m.bool), m.zeros(2, 1), m.zeros(4)),
        r"must match the size",
    ),
    err("maximum_broadcast", lambda m: m.maximum(m.zeros(3), m.zeros(2)), r"must match the size"),
    err(
        "view_not_viewable",
        lambda m: _x(m, 3, 4).t().view(12),
        r"view size is not compatible with input tensor's size and stride",
    ),
    err(
        "view_bad_numel",
        lambda m: _x(m, 3, 4).view(5, 5),
        r"shape '\[5, 5\]' is invalid for input of size 12",
    ),
    err("reshape_two_infer", lambda m: _x(m, 3, 4).reshape(-1, -1), r"only one dimension"),
    err("reshape_bad_numel", lambda m: _x(m, 3, 4).reshape(5, -1), r"invalid for input of size"),
    err("unflatten_bad_sizes", lambda m: _x(m, 3, 4).unflatten(1, (3, 2)), r"unflatten"),
    err(
        "cat_mismatch",
        lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]),
        r"Sizes of tensors must match except in dimension 0",
    ),
    err("cat_ndim", lambda m: m.cat([m.zeros(2, 3), m.zeros(3)]), r"dimensions|same number"),
    err("cat_empty_list", lambda m: m.cat([]), r"non-empty"),
    err("cat_0dim", lambda m: m.cat([m.zeros(()), m.zeros(())]), r"zero-dimensional"),
    err("cat_not_tensor", lambda m: m.cat([m.zeros(2), [1.0, 2.0]]), r"Tensor"),
    err(
        "stack_unequal",
        lambda m: m.stack([m.zeros(2, 3), m.zeros(3, 2)]),
        r"stack expects each tensor to be equal size",
    ),
    err("expand_bad", lambda m: m.zeros(3, 2).expand(3, 4), r"expanded size"),
    err("expand_fewer_dims", lambda m: m.zeros(3, 2).expand(2), r"number of sizes"),
    err("repeat_fewer_dims", lambda m: m.zeros(3, 2).repeat(2), r"repeat dims"),
    err("split_bad_sizes", lambda m: m.zeros(5).split([2, 2]), r"split_with_sizes"),
    err("chunk_zero", lambda m: m.zeros(5).chunk(0), r"chunk"),
    err("narrow_out_of_range", lambda m: m.zeros(4).narrow(0, 2, 3), r"exceeds dimension size"),
    err(
        "gather_ndim",
        lambda m: m.zeros(3, 4).gather(1, m.zeros(3, dtype=m.long)),
        r"same number of dimensions",
    ),
    err(
        "gather_index_too_big",
        lambda m: m.zeros(2, 4).gather(1, m.zeros(3, 4, dtype=m.long)),
        r"Size does not match at dimension 0",
    ),
    err(
        "masked_fill_mask_shape",
        lambda m: m.zeros(3, 4).masked_fill(m.zeros(3, dtype=m.bool), 1.0),
        r"must match the size",
    ),
    err(
        "masked_fill_value_dims",
        lambda m: m.zeros(3).masked_fill(m.ones(3, dtype=m.bool), m.zeros(3)),
        r"0-dimensional value tensor",
    ),
    err("setitem_shape", lambda m: m.zeros(3, 4).__setitem__(0, m.zeros(5)), r"shape"),
    err(
        "inplace_shape",
        lambda m: m.zeros(3).add_(m.zeros(2, 3)),
        r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]",
    ),
    err("tril_1d", lambda m: m.zeros(3).tril(), r"at least 2 dimensions"),
    err("pad_odd", lambda m: _pad(m, m.zeros(2, 3), (1, 2, 3)), r"divisible by 2"),
    err("pad_too_long", lambda m: _pad(m, m.zeros(3), (1, 1, 1, 1)), r"Padding length"),
    err("roll_mismatch", lambda m: m.zeros(3, 4).roll((1, 2), (0,)), r"shifts and dim"),
    err("permute_wrong_length", lambda m: m.zeros(3, 4).permute(0), r"number of dimensions"),
    err("permute_repeated", lambda m: m.zeros(3, 4).permute(0, 0), r"duplicate dims|repeated"),
    err("t_3d", lambda m: m.zeros(2, 3, 4).t(), r"<= 2 dimensions"),
    err("item_many", lambda m: m.zeros(3).item(), r"element"),
    err("bool_many", lambda m: bool(m.zeros(3)), r"ambiguous"),
]

DIMS = [
    err(
        "sum_dim",
        lambda m: m.zeros(3, 4).sum(2),
        r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
    ),
    err("sum_neg_dim", lambda m: m.zeros(3, 4).sum(-3), r"Dimension out of range"),
    err("sum_tuple_dim", lambda m: m.zeros(3, 4).sum((0, 5)), r"Dimension out of range"),
    err("sum_repeated_dims", lambda m: m.zeros(3, 4).sum((1, -1)), r"appears multiple times"),
    err("mean_dim", lambda m: m.zeros(3, 4).mean(2), r"Dimension out of range"),
    err("var_dim", lambda m: m.zeros(3, 4).var(3), r"Dimension out of range"),
    err("prod_dim", lambda m: m.zeros(3, 4).prod(-3), r"Dimension out of range"),
    err("max_dim", lambda m: m.zeros(3, 4).max(2), r"Dimension out of range"),
    err("amax_dim", lambda m: m.zeros(3, 4).amax(4), r"Dimension out of range"),
    err("argmax_dim", lambda m: m.zeros(3, 4).argmax(2), r"Dimension out of range"),
    err("logsumexp_dim", lambda m: m.zeros(3, 4).logsumexp(2), r"Dimension out of range"),
    err("softmax_dim", lambda m: m.zeros(3, 4).softmax(2), r"Dimension out of range"),
    err("log_softmax_dim", lambda m: m.zeros(3, 4).log_softmax(-3), r"Dimension out of range"),
    err("norm_dim", lambda m: m.zeros(3, 4).norm(dim=2), r"Dimension out of range"),
    err("cumsum_dim", lambda m: m.zeros(3, 4).cumsum(2), r"Dimension out of range"),
    err("all_dim", lambda m: m.zeros(3, 4).all(2), r"Dimension out of range"),
    err("unsqueeze_dim", lambda m: m.zeros(3, 4).unsqueeze(3), r"Dimension out of range"),
    err("squeeze_dim", lambda m: m.zeros(3, 4).squeeze(2), r"Dimension out of range"),
    err("transpose_dim", lambda m: m.zeros(3, 4).transpose(0, 2), r"Dimension out of range"),
    err("flatten_dim", lambda m: m.zeros(3, 4).flatten(0, 2), r"Dimension out of range"),
    err("flatten_order", lambda m: m.zeros(3, 4, 5).flatten(2, 1), r"start_dim"),
    err("cat_dim", lambda m: m.cat([m.zeros(3), m.zeros(3)], 1), r"Dimension out of range"),
    err("stack_dim", lambda m: m.stack([m.zeros(3), m.zeros(3)], 3), r"Dimension out of range"),
    err("split_dim", lambda m: m.zeros(3, 4).split(2, 2), r"Dimension out of range"),
    err("unbind_dim", lambda m: m.zeros(3, 4).unbind(2), r"Dimension out of range"),
    err("narrow_dim", lambda m: m.zeros(3, 4).narrow(2, 0, 1), r"Dimension out of range"),
    err("flip_dim", lambda m: m.zeros(3, 4).flip(2), r"Dimension out of range"),
    err("flip_repeated", lambda m: m.zeros(3, 4).flip(0, 0), r"dim"),
    err("roll_dim", lambda m: m.zeros(3, 4).roll(1, 2), r"Dimension out of range"),
    err(
        "gather_dim",
        lambda m: m.zeros(3, 4).gather(2, m.zeros(3, 4, dtype=m.long)),
        r"Dimension out of range",
    ),
    err(
        "index_select_dim",
        lambda m: m.zeros(3, 4).index_select(2, m.zeros(1, dtype=m.long)),
        r"Dimension out of range",
    ),
    err("select_index", lambda m: m.zeros(3, 4).select(1, 4), r"out of range"),
    err("max_empty_full", lambda m: m.zeros(0, 3).max(), r"numel\(\) == 0"),
    err("max_empty_dim", lambda m: m.zeros(0, 3).max(0), r"non-zero size"),
    err("amin_empty_full", lambda m: m.zeros(0).amin(), r"numel\(\) == 0"),
    err("argmax_empty", lambda m: m.zeros(0).argmax(), r"numel\(\) == 0"),
]

INDEXING = [
    err(
        "getitem_out_of_range",
        lambda m: m.zeros(3, 4)[3],
        r"index 3 is out of bounds for dimension 0 with size 3",
    ),
    err(
        "getitem_neg_out_of_range",
        lambda m: m.zeros(3, 4)[:, -5],
        r"index -5 is out of bounds for dimension 1 with size 4",
    ),
    err("getitem_too_many", lambda m: m.zeros(3, 4)[0, 0, 0], r"too many indices"),
    err(
        "getitem_float_tensor",
        lambda m: m.zeros(3)[m.tensor([0.0, 1.0])],
        r"tensors used as indices must be long, int, byte or bool tensors",
    ),
    err(
        "getitem_int_tensor_out_of_range", lambda m: m.zeros(3)[m.tensor([0, 3])], r"out of bounds"
    ),
    err("getitem_float", lambda m: m.zeros(3)[1.0], r"only integers, slices"),
    err("getitem_mask_shape", lambda m: m.zeros(3, 4)[m.ones(2, dtype=m.bool)], r"mask"),
    err("setitem_out_of_range", lambda m: m.zeros(3).__setitem__(5, 1.0), r"out of bounds"),
    err(
        "gather_out_of_range",
        lambda m: m.zeros(3, 4).gather(1, m.tensor([[0], [5], [1]])),
        r"index 5 is out of bounds for dimension 1 with size 4",
    ),
    err("gather_float_index", lambda m: m.zeros(3, 4).gather(1, m.zeros(3, 1)), r"int64|Long"),
    err(
        "scatter_out_of_range",
        lambda m: m.zeros(3, 4).scatter(0, m.tensor([[3]]), 1.0),
        r"out of bounds",
    ),
    err(
        "scatter_add_out_of_range",
        lambda m: m.zeros(3, 4).scatter_add(1, m.tensor([[4]]), m.ones(1, 1)),
        r"out of bounds",
    ),
    err(
        "index_select_out_of_range",
        lambda m: m.zeros(3, 4).index_select(0, m.tensor([0, 3])),
        r"index out of range in self",
    ),
    err(
        "index_select_2d_index", lambda m: m.zeros(3, 4).index_select(0, m.tensor([[0]])), r"vector"
    ),
    err(
        "index_select_float_index", lambda m: m.zeros(3, 4).index_select(0, m.tensor([0.0])), r"int"
    ),
]

DTYPES = [
    err(
        "bool_sub",
        lambda m: m.ones(3, dtype=m.bool) - m.zeros(3, dtype=m.bool),
        r"Subtraction, the `-` operator, with (two bool tensors|a bool tensor) is not supported",
    ),
    err("bool_neg", lambda m: -m.ones(3, dtype=m.bool), r"Negation, the `-` operator"),
    err(
        "inplace_int_plus_float",
        lambda m: m.zeros(3, dtype=m.long).add_(1.5),
        r"result type Float can't be cast to the desired output type Long",
    ),
    err(
        "inplace_int_times_float_tensor",
        lambda m: m.zeros(3, dtype=m.long).mul_(m.ones(3)),
        r"result type Float can't be cast to the desired output type Long",
    ),
    err(
        "inplace_iadd_float_into_int",
        lambda m: m.zeros(3, dtype=m.int32).__iadd__(m.ones(3)),
        r"can't be cast to the desired output type Int",
    ),
    err(
        "inplace_int_div",
        lambda m: m.ones(3, dtype=m.long).div_(2),
        r"result type Float can't be cast to the desired output type Long",
    ),
    err(
        "inplace_bool_add_int",
        lambda m: m.zeros(3, dtype=m.bool).add_(2),
        r"can't be cast to the desired output type Bool",
    ),
    err(
        "inplace_graph_int_into_float_ok_then_float_into_int",
        lambda m: m.zeros(3, dtype=m.long).sub_(_leaf(m)),
        r"can't be cast",
    ),
    err("mean_int", lambda m: m.zeros(3, dtype=m.long).mean(), r"floating point or complex"),
    err("var_int", lambda m: m.zeros(3, dtype=m.long).var(), r"floating point"),
    err("std_bool", lambda m: m.zeros(3, dtype=m.bool).std(), r"floating point"),
    err(
        "softmax_int", lambda m: m.zeros(3, dtype=m.long).softmax(0), r"not implemented for 'Long'"
    ),
    err("norm_int", lambda m: m.zeros(3, dtype=m.long).norm(), r"floating point"),
    err(
        "where_float_condition",
        lambda m: m.where(m.zeros(3), m.zeros(3), m.ones(3)),
        r"where expected condition to be a boolean tensor",
    ),
    err(
        "masked_fill_float_mask",
        lambda m: m.zeros(3).masked_fill(m.zeros(3), 1.0),
        r"expected BoolTensor for mask",
    ),
    err("matmul_mixed_dtypes", lambda m: m.zeros(2, 3) @ m.zeros(3, 2, dtype=m.float64), r"dtype"),
    err("mm_int_float", lambda m: m.mm(m.zeros(2, 3, dtype=m.long), m.zeros(3, 2)), r"dtype"),
    err(
        "pow_int_negative",
        lambda m: m.ones(3, dtype=m.long) ** -1,
        r"Integers to negative integer powers are not allowed",
    ),
    err("bitwise_float", lambda m: m.zeros(3) & m.zeros(3), r"not implemented for 'Float'"),
    err("abs_bool", lambda m: m.ones(3, dtype=m.bool).abs(), r"not implemented for 'Bool'"),
    err("getitem_negative_step", lambda m: m.zeros(4)[::-1], r"step must be greater than zero"),
    err("invert_float", lambda m: ~m.zeros(3), r"only implemented on integer and Boolean"),
    err("bitwise_not_float", lambda m: m.bitwise_not(m.zeros(3)), r"not implemented for 'Float'"),
    err(
        "requires_grad_int",
        lambda m: m.zeros(3, dtype=m.long).requires_grad_(),
        r"only Tensors of floating point",
    ),
    err("clamp_no_bounds", lambda m: m.clamp(m.zeros(3)), r"At least one of 'min' or 'max'"),
    err("maximum_scalar", lambda m: m.maximum(m.zeros(3), 1.0), r"must be Tensor"),
    err("matmul_list", lambda m: m.matmul(m.zeros(3), [1.0, 2.0, 3.0]), r"must be Tensor"),
    err("add_string", lambda m: m.zeros(3) + "a", r"str|unsupported"),
    err(
        "inplace_leaf_requires_grad",
        lambda m: _leaf(m).add_(1.0),
        r"a leaf Variable that requires grad is being used in an in-place operation",
    ),
    err(
        "inplace_view_of_leaf",
        lambda m: _leaf(m)[:2].mul_(2.0),
        r"view of a leaf Variable that requires grad",
    ),
]


@pytest.mark.parametrize("fn, match", SHAPES + DIMS + INDEXING + DTYPES)
def test_error_matches_torch(fn, match):
    with pytest.raises(Exception) as t_info:
        fn(torch)
    expected = t_info.type
    try:
        fn(ember)
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        assert type(e) is expected or isinstance(e, expected), (
            f"ember raised {type(e).__name__}({e}), torch raised {expected.__name__}"
            f"({t_info.value})"
        )
        if match is not None:
            assert re.search(match, str(e)), f"message {str(e)!r} does not match {match!r}"
        # Our own message, not a NumPy one from inside an op.
        assert "numpy" not in str(e).lower() and "axis" not in str(e), str(e)
    else:
        pytest.fail(f"ember did not raise; torch raised {expected.__name__}({t_info.value})")
