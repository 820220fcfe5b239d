"""Parity table for shape and indexing ops: views, joins and splits, gather/scatter, masks,
flip/roll/tril/triu, constant padding, ``__getitem__`` (basic and advanced) and ``__setitem__``
— values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.ops._cases import b, case, d, f, i, run_case
from tests.parity import assert_close, check_op


def _idx(*shape: int, n: int):
    """Valid indices into a dimension of size ``n``."""
    return i(*shape, low=0, high=n - 1)


VIEWS = [
    case("view", lambda m, x: x.view(4, 3), f(3, 4)),
    case("view_infer", lambda m, x: x.view(-1, 2), f(3, 4)),
    case("view_tuple", lambda m, x: x.view((2, 6)), f(3, 4)),
    case("view_chain", lambda m, x: x.view(12).view(2, 2, 3) * 2, f(3, 4)),
    case("reshape", lambda m, x: m.reshape(x, (2, -1)), f(3, 4)),
    case("reshape_method", lambda m, x: x.reshape(4, 3), f(3, 4)),
    case("reshape_noncontig", lambda m, x: x.t().reshape(-1), f(3, 4)),
    case("reshape_sliced", lambda m, x: x[:, ::2].reshape(6), f(3, 4)),
    case("flatten", lambda m, x: m.flatten(x), f(2, 3, 4)),
    case("flatten_start", lambda m, x: x.flatten(1), f(2, 3, 4)),
    case("flatten_range_neg", lambda m, x: x.flatten(-3, -2), f(2, 3, 4, 5)),
    case("flatten_noncontig", lambda m, x: x.permute(2, 0, 1).flatten(1), f(2, 3, 4)),
    case("flatten_0dim", lambda m, x: x.flatten(), f()),
    case("unflatten", lambda m, x: m.unflatten(x, 1, (2, 2)), f(3, 4)),
    case("unflatten_infer_neg", lambda m, x: x.unflatten(-1, (-1, 3)), f(2, 6)),
    case("squeeze_all", lambda m, x: m.squeeze(x), f(1, 3, 1, 4)),
    case("squeeze_dim", lambda m, x: x.squeeze(2), f(1, 3, 1, 4)),
    case("squeeze_dim_not_one", lambda m, x: x.squeeze(1), f(1, 3, 1, 4)),
    case("squeeze_neg_dim", lambda m, x: x.squeeze(-2), f(3, 1, 4)),
    case("squeeze_tuple", lambda m, x: x.squeeze((0, 2)), f(1, 3, 1, 4)),
    case("unsqueeze", lambda m, x: m.unsqueeze(x, 0), f(3, 4)),
    case("unsqueeze_last", lambda m, x: x.unsqueeze(-1), f(3, 4)),
    case("unsqueeze_mid_neg", lambda m, x: x.unsqueeze(-2), f(3, 4)),
    case("permute", lambda m, x: m.permute(x, (2, 0, 1)), f(2, 3, 4)),
    case("permute_varargs_neg", lambda m, x: x.permute(-1, 0, 1) * 3, f(2, 3, 4)),
    case("transpose", lambda m, x: m.transpose(x, 0, 2), f(2, 3, 4)),
    case("transpose_neg", lambda m, x: x.transpose(-1, -2), f(2, 3, 4)),
    case("t", lambda m, x: m.t(x), f(3, 4)),
    case("t_method_1d", lambda m, x: x.t(), f(4)),
    case("T_property", lambda m, x: x.T, f(3, 4)),
    case("mT_property", lambda m, x: x.mT, f(2, 3, 4)),
    case("expand", lambda m, x: x.expand(3, 4), f(1, 4)),
    case("expand_new_dims", lambda m, x: x.expand(2, 3, -1), f(3, 4)),
    case("expand_keep", lambda m, x: x.expand(-1, 5), f(3, 1)),
    case("expand_tuple", lambda m, x: x.expand((2, 3, 4)), f(3, 1)),
    case("expand_as", lambda m, x, y: x.expand_as(y), f(3, 1), f(2, 3, 4)),
    case("repeat", lambda m, x: x.repeat(2, 3), f(3, 4)),
    case("repeat_more_dims", lambda m, x: x.repeat(2, 1, 2), f(3, 4)),
    case("repeat_tuple", lambda m, x: x.repeat((1, 2)), f(2, 3)),
    case("repeat_noncontig", lambda m, x: x.t().repeat(2, 2), f(3, 4)),
]

JOIN_SPLIT = [
    case("cat", lambda m, x, y: m.cat([x, y]), f(2, 4), f(3, 4)),
    case("cat_dim1", lambda m, x, y, z: m.cat((x, y, z), 1), f(3, 2), f(3, 1), f(3, 4)),
    case("cat_neg_dim", lambda m, x, y: m.cat([x, y], dim=-1), f(2, 3, 2), f(2, 3, 1)),
    case("cat_noncontig", lambda m, x, y: m.cat([x.t(), y], 0), f(4, 3), f(2, 4)),
    case("cat_promote", lambda m, x, y: m.cat([x, y]), f(2, 3), i(1, 3)),
    case("cat_int", lambda m, x, y: m.cat([x, y], 1), i(2, 3), i(2, 2)),
    case("cat_skips_empty_1d", lambda m, x: m.cat([x, m.zeros(0)]), f(2, 3)),
    case("concat_alias", lambda m, x, y: m.concat([x, y]), f(2, 2), f(1, 2)),
    case("stack", lambda m, x, y: m.stack([x, y]), f(3, 4), f(3, 4)),
    case("stack_dim1", lambda m, x, y, z: m.stack((x, y, z), 1), f(3, 4), f(3, 4), f(3, 4)),
    case("stack_neg_dim", lambda m, x, y: m.stack([x, y], -1), f(3, 4), f(3, 4)),
    case("split_int", lambda m, x: m.split(x, 2), f(5, 3)),
    case("split_int_dim", lambda m, x: x.split(2, dim=1), f(3, 5)),
    case("split_list", lambda m, x: x.split([1, 3, 1], 1), f(2, 5)),
    case("split_list_neg_dim", lambda m, x: m.split(x, [2, 2], dim=-1), f(2, 3, 4)),
    case("split_partial_grad", lambda m, x: x.split(2)[1], f(5, 3)),
    case("chunk", lambda m, x: m.chunk(x, 3), f(7, 2)),
    case("chunk_dim", lambda m, x: x.chunk(2, dim=1), f(3, 4)),
    case("chunk_uneven", lambda m, x: x.chunk(4, -1), f(2, 6)),
    case("unbind", lambda m, x: m.unbind(x), f(3, 4)),
    case("unbind_dim", lambda m, x: x.unbind(1), f(3, 4)),
    case("unbind_neg", lambda m, x: x.unbind(-1), f(2, 3, 2)),
    case("narrow", lambda m, x: m.narrow(x, 1, 1, 2), f(3, 4)),
    case("narrow_neg_start", lambda m, x: x.narrow(0, -2, 2), f(3, 4)),
    case("narrow_neg_dim", lambda m, x: x.narrow(-1, 0, 3), f(2, 3, 4)),
]

GATHER_SCATTER = [
    case("gather", lambda m, x, ix: m.gather(x, 1, ix), f(3, 4), _idx(3, 2, n=4)),
    case("gather_dim0", lambda m, x, ix: x.gather(0, ix), f(3, 4), _idx(5, 4, n=3)),
    case("gather_neg_dim", lambda m, x, ix: x.gather(-1, ix), f(2, 3, 4), _idx(2, 3, 6, n=4)),
    case("gather_smaller_index", lambda m, x, ix: m.gather(x, 1, ix), f(4, 5), _idx(2, 3, n=5)),
    case("gather_repeat_grad", lambda m, x, ix: x.gather(1, ix), f(2, 3), _idx(2, 8, n=3)),
    case(
        "scatter_src", lambda m, x, ix, s: m.scatter(x, 1, ix, s), f(3, 4), _idx(3, 1, n=4), f(3, 1)
    ),
    case(
        "scatter_unique_rows",
        lambda m, x, s: m.scatter(x, 0, m.tensor([[0, 1, 2], [2, 0, 1]]), s),
        f(3, 3),
        f(2, 3),
    ),
    case("scatter_value", lambda m, x, ix: x.scatter(1, ix, 0.5), f(3, 4), _idx(3, 2, n=4)),
    case(
        "scatter_value_kw",
        lambda m, x, ix: m.scatter(x, 0, ix, value=-1.0),
        f(3, 4),
        _idx(2, 4, n=3),
    ),
    case(
        "scatter_add",
        lambda m, x, ix, s: m.scatter_add(x, 1, ix, s),
        f(3, 4),
        _idx(3, 5, n=4),
        f(3, 5),
    ),
    case(
        "scatter_add_dim0",
        lambda m, x, ix, s: x.scatter_add(0, ix, s),
        f(3, 4),
        _idx(6, 4, n=3),
        f(6, 4),
    ),
    # (torch's own backward rejects a src larger than index: values only)
    case(
        "scatter_add_src_larger",
        lambda m, x, ix, s: x.scatter_add(1, ix, s),
        f(3, 4),
        _idx(2, 3, n=4),
        f(3, 5),
        grad=False,
    ),
    case(
        "scatter_reduce_add",
        lambda m, x, ix, s: x.scatter(1, ix, s, reduce="add"),
        f(3, 4),
        _idx(3, 2, n=4),
        f(3, 2),
        grad=False,
    ),
    case("index_select", lambda m, x, ix: m.index_select(x, 0, ix), f(4, 3), _idx(6, n=4)),
    case("index_select_dim1", lambda m, x, ix: x.index_select(1, ix), f(3, 5), _idx(4, n=5)),
    case("index_select_neg", lambda m, x, ix: x.index_select(-1, ix), f(2, 3, 4), _idx(2, n=4)),
    case(
        "index_select_int32_index",
        lambda m, x, ix: x.index_select(0, ix),
        f(4, 3),
        i(3, low=0, high=3, dtype=np.int32),
    ),
    case("masked_fill", lambda m, x, mk: m.masked_fill(x, mk, 0.0), f(3, 4), b(3, 4)),
    case("masked_fill_broadcast", lambda m, x, mk: x.masked_fill(mk, -1e9), f(3, 4), b(4)),
    case(
        "masked_fill_tensor_value", lambda m, x, mk, v: x.masked_fill(mk, v), f(3, 4), b(3, 4), f()
    ),
    case("masked_fill_int", lambda m, x, mk: x.masked_fill(mk, 7), i(3, 4), b(3, 4)),
    case("masked_fill_compare_mask", lambda m, x: x.masked_fill(x > 0, 0.0), f(3, 4)),
    case("masked_select", lambda m, x, mk: m.masked_select(x, mk), f(3, 4), b(3, 4)),
    case("masked_select_broadcast", lambda m, x, mk: x.masked_select(mk), f(3, 4), b(4)),
    case("masked_select_mask_bigger", lambda m, x, mk: x.masked_select(mk), f(4), b(3, 4)),
]

REORDER = [
    case("flip", lambda m, x: m.flip(x, (0,)), f(3, 4)),
    case("flip_multi", lambda m, x: x.flip(0, 2), f(2, 3, 4)),
    case("flip_neg_list", lambda m, x: x.flip([-1]), f(3, 4)),
    case("roll", lambda m, x: m.roll(x, 1, 0), f(3, 4)),
    case("roll_flat", lambda m, x: x.roll(5), f(3, 4)),
    case("roll_multi", lambda m, x: x.roll((1, -2), (0, 1)), f(3, 4)),
    case("roll_neg_dim", lambda m, x: x.roll(2, -1), f(2, 3, 4)),
    case("tril", lambda m, x: m.tril(x), f(4, 4)),
    case("tril_k", lambda m, x: x.tril(1), f(3, 5)),
    case("tril_neg_k_batch", lambda m, x: x.tril(-1), f(2, 4, 3)),
    case("triu", lambda m, x: m.triu(x), f(4, 4)),
    case("triu_k", lambda m, x: x.triu(2), f(3, 5)),
    case("triu_neg_k_batch", lambda m, x: m.triu(x, -1), f(2, 3, 4)),
    case("triu_int", lambda m, x: x.triu(), i(3, 3)),
]


def _torch_pad(m, x, pad, value=0.0):
    return torch.nn.functional.pad(x, pad, mode="constant", value=value)


PAD = [
    case(
        "pad_last",
        lambda m, x: ember.ops.shape.constant_pad(x, (1, 2)),
        f(3, 4),
        tfn=lambda m, x: _torch_pad(m, x, (1, 2)),
    ),
    case(
        "pad_two_dims",
        lambda m, x: ember.ops.shape.constant_pad(x, (1, 1, 2, 0), 0.5),
        f(2, 3, 4),
        tfn=lambda m, x: _torch_pad(m, x, (1, 1, 2, 0), 0.5),
    ),
    case(
        "pad_all_dims",
        lambda m, x: ember.ops.shape.constant_pad(x, (0, 1, 1, 0, 2, 1)),
        f(2, 3, 4),
        tfn=lambda m, x: _torch_pad(m, x, (0, 1, 1, 0, 2, 1)),
    ),
    case(
        "pad_negative_crops",
        lambda m, x: ember.ops.shape.constant_pad(x, (-1, 2, 1, -1)),
        f(3, 4),
        tfn=lambda m, x: _torch_pad(m, x, (-1, 2, 1, -1)),
    ),
    case(
        "pad_noncontig",
        lambda m, x: ember.ops.shape.constant_pad(x.t(), (2, 2)),
        f(3, 4),
        tfn=lambda m, x: _torch_pad(m, x.t(), (2, 2)),
    ),
    case(
        "pad_int",
        lambda m, x: ember.ops.shape.constant_pad(x, (1, 1), 3),
        i(2, 3),
        tfn=lambda m, x: _torch_pad(m, x, (1, 1), 3),
    ),
]

GETITEM = [
    case("int", lambda m, x: x[1], f(3, 4)),
    case("neg_int", lambda m, x: x[-1], f(3, 4)),
    case("int_int", lambda m, x: x[1, 2], f(3, 4)),
    case("slice", lambda m, x: x[1:], f(3, 4)),
    case("slice_step", lambda m, x: x[::2, 1::2], f(5, 6)),
    case("slice_neg_bounds", lambda m, x: x[-3:-1, :-1], f(4, 5)),
    case("slice_out_of_range", lambda m, x: x[1:100], f(3, 4)),
    case("none", lambda m, x: x[None], f(3, 4)),
    case("none_mid", lambda m, x: x[:, None, 1:3], f(3, 4)),
    case("ellipsis", lambda m, x: x[..., 0], f(2, 3, 4)),
    case("ellipsis_mid", lambda m, x: x[0, ..., 1:], f(2, 3, 4)),
    case("ellipsis_none", lambda m, x: x[..., None], f(2, 3)),
    case("int_tensor", lambda m, x, ix: x[ix], f(4, 3), _idx(5, n=4)),
    case("int_tensor_repeats", lambda m, x: x[m.tensor([0, 0, 2, 0])], f(3, 2)),
    case("int_tensor_2d", lambda m, x, ix: x[ix], f(4, 3), _idx(2, 3, n=4)),
    case("int_tensor_neg", lambda m, x: x[m.tensor([-1, 0, -2])], f(3, 2)),
    case("int_tensor_dim1", lambda m, x, ix: x[:, ix], f(3, 4), _idx(5, n=4)),
    case("two_int_tensors", lambda m, x, r, c: x[r, c], f(3, 4), _idx(5, n=3), _idx(5, n=4)),
    case(
        "int_tensors_broadcast", lambda m, x, r, c: x[r, c], f(3, 4), _idx(2, 1, n=3), _idx(3, n=4)
    ),
    case(
        "separated_advanced", lambda m, x, r, c: x[r, :, c], f(3, 2, 4), _idx(5, n=3), _idx(5, n=4)
    ),
    case("list_index", lambda m, x: x[[0, 2, 2]], f(3, 4)),
    case("int_and_tensor", lambda m, x, ix: x[1, ix], f(3, 4), _idx(3, n=4)),
    case("slice_and_tensor", lambda m, x, ix: x[1:, ix], f(3, 4), _idx(3, n=4)),
    case("tensor_slice_none", lambda m, x, ix: x[ix, None, ::2], f(3, 4), _idx(2, n=3)),
    case("ellipsis_and_tensor", lambda m, x, ix: x[..., ix], f(2, 3, 4), _idx(2, n=4)),
    case("bool_mask", lambda m, x, mk: x[mk], f(3, 4), b(3, 4)),
    case("bool_mask_rows", lambda m, x, mk: x[mk], f(4, 3), b(4)),
    case("bool_mask_dim1", lambda m, x, mk: x[:, mk], f(3, 4), b(4)),
    case("bool_from_compare", lambda m, x: x[x > 0], f(3, 4)),
    case("bool_scalar_true", lambda m, x: x[True], f(3)),
    case("bool_mask_and_int", lambda m, x, mk: x[mk, 1], f(4, 3), b(4)),
    case("int_index_int_dtype", lambda m, x: x[1], i(3, 4)),
    case("noncontig_then_index", lambda m, x, ix: x.t()[ix], f(3, 4), _idx(3, n=4)),
    case("index_then_mul", lambda m, x: x[1:, ::2] * x[:-1, 1::2], f(3, 4)),
]


def _set(key, value_from=None):
    """``y = x * 1; y[key] = value`` (value a tensor input or a constant), returns y."""

    def fn(m, x, *v):
        y = x * 1
        y[key(m) if callable(key) else key] = v[0] if v else value_from
        return y

    return fn


SETITEM = [
    case("set_int_scalar", _set(1, 0.5), f(3, 4)),
    case("set_slice_tensor", _set(slice(0, 2)), f(3, 4), f(2, 4)),
    case("set_broadcast_value", _set((slice(None), 1)), f(3, 4), f(1)),
    case("set_step_slice", _set((slice(None), slice(None, None, 2))), f(3, 4), f(3, 2)),
    case("set_ellipsis", _set((Ellipsis, 0)), f(2, 3, 4), f(2, 3)),
    case("set_int_tensor", _set(lambda m: m.tensor([0, 2])), f(3, 4), f(4)),
    case("set_bool_mask", _set(lambda m: m.tensor([True, False, True])), f(3, 4), f(2, 4)),
    case(
        "set_bool_mask_scalar",
        _set(lambda m: m.tensor([[True, False], [False, True]]), -3.0),
        f(2, 2),
    ),
    case("set_two_tensors", _set(lambda m: (m.tensor([0, 1]), m.tensor([2, 3]))), f(3, 4), f(2)),
    case("set_none_value_0dim", _set((0, 0)), f(3, 4), f()),
    case("set_cast_value", _set(1), f(3, 4), i(4)),
    case("set_int_tensor_target", _set((0, slice(1, 3)), 7), i(3, 4)),
]


EDGES = [
    case("repeat_zero", lambda m, x: x.repeat(0, 2), f(2, 3)),
    case("split_larger_than_dim", lambda m, x: x.split(10), f(3, 2)),
    case("chunk_more_than_size", lambda m, x: x.chunk(5), f(3, 2)),
    case("none_ellipsis_none", lambda m, x: x[None, ..., None], f(2, 3)),
    case("list_of_lists_is_tuple", lambda m, x: x[[[0, 1], [1, 0]]], f(3, 4)),
    case("list_with_slice_is_tuple", lambda m, x: x[[slice(None), 1]], f(3, 4)),
    case("bool_mask_and_slice", lambda m, x, mk: x[mk, :2], f(3, 4), b(3)),
    case("same_index_twice", lambda m, x, ix: x[ix, ix], f(3, 3), _idx(4, n=3)),
    case("0dim_int_tensor_index", lambda m, x: x[m.tensor(1)], f(3, 4)),
    case("slice_then_int_tensor", lambda m, x, ix: x[:, 1:][ix], f(3, 4), _idx(2, n=3)),
    case("squeeze_0dim", lambda m, x: x.squeeze(0), f()),
    case("unsqueeze_0dim", lambda m, x: x.unsqueeze(0), f()),
    case("permute_0dim", lambda m, x: x.permute(()), f()),
    case("index_select_0dim_index", lambda m, x: x.index_select(0, m.tensor(1)), f(3, 2)),
    case("gather_1d", lambda m, x: x.gather(0, m.tensor([2, 0])), f(3)),
    case("roll_negative_flat", lambda m, x: x.roll(-7), f(3, 4)),
    case(
        "masked_fill_noncontig",
        lambda m, x: x.t().masked_fill(m.tensor([True, False, True]), 2.0),
        f(3, 3),
    ),
    case("cat_bool_int", lambda m, x, y: m.cat([x, y]), b(2), i(2)),
    case("stack_promote", lambda m, x, y: m.stack([x, y]), f(2), d(2)),
    case("stack_0dim", lambda m, x, y: m.stack([x, y]), f(), f()),
]


@pytest.mark.parametrize(
    "fn, tfn, specs, tol",
    VIEWS + JOIN_SPLIT + GATHER_SCATTER + REORDER + PAD + GETITEM + SETITEM + EDGES,
)
def test_shape_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


# ---- setitem on leaves without grad, views and version counting --------------------------
def test_setitem_in_place_without_graph():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    e, t = ember.tensor(x), torch.tensor(x)
    for key, val in [((0, 1), 9.0), (slice(1, 3), 0.0), ((Ellipsis, -1), -1.0)]:
        e[key] = val
        t[key] = val
    e[ember.tensor([True, False, True])] = ember.tensor([1.0, 2.0, 3.0, 4.0])
    t[torch.tensor([True, False, True])] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert_close(e, t)


def test_setitem_through_a_view_changes_the_base():
    x = np.zeros((3, 4), np.float32)
    e, t = ember.tensor(x), torch.tensor(x)
    ev, tv = e[1], t[1]
    ev[2] = 5.0
    tv[2] = 5.0
    ev2, tv2 = e.t(), t.t()
    ev2[0] = 1.0
    tv2[0] = 1.0
    assert_close(e, t)


def test_setitem_on_leaf_requiring_grad_raises_like_torch():
    e = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        e[0] = 1.0
    with ember.no_grad():
        e[0] = 1.0
    assert e[0].item() == 1.0


def test_setitem_value_gradient_with_chained_ops():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    v = np.array([5.0, 6.0], np.float32)

    def run(lib, a, c):
        y = a * a
        y[0] = c * 2
        return (y * a).sum(0)

    check_op(lambda a, c: run(ember, a, c), lambda a, c: run(torch, a, c), x, v)


def test_getitem_views_share_memory_like_torch():
    e = ember.zeros(3, 4)
    v = e[:, 1]
    v.add_(1.0)
    assert e.sum().item() == 3.0
    adv = e[ember.tensor([0, 1])]
    adv.add_(1.0)
    assert e.sum().item() == 3.0  # advanced indexing copies


def test_split_chunk_unbind_return_tuples_of_views():
    e = ember.arange(12.0).reshape(3, 4)
    parts = e.split(1)
    assert isinstance(parts, tuple) and len(parts) == 3
    assert [p.shape for p in e.chunk(3, 1)] == [(3, 2), (3, 2)]
    assert len(e.unbind(1)) == 4
