"""Indexing: ``x[key]`` and ``x[key] = v``, gather/scatter, index_select, masked ops, take,
nonzero, diag/trace, unique, searchsorted."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._scratch import scratch
from .._tensor import Tensor, _wrap
from ._kernels import fit_scalar
from ._util import Primitive, grad_where, on_graph, unbroadcast, wrap_dim
from .shape import expand, reshape


class Slice(Primitive):
    """Basic indexing (ints, slices, None, Ellipsis): a view."""

    twice_differentiable = True

    view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (x.shape, x.dtype, key)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        shape, dt, key = ctx.meta
        if on_graph(g):  # create_graph: a recorded scatter
            return add_into_zeros(shape, key, g), None
        out = scratch.get(shape, g.dtype, zero=True)  # big: pooled (no page faults per step)
        out[key] = g
        return out, None


class Index(Primitive):
    """Advanced indexing (integer or bool arrays): a copy."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (x.shape, key)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.meta
        return add_into_zeros(shape, key, g), None


def _convert_key(key: Any, shape: tuple) -> tuple:
    """Turn a PyTorch index into a NumPy one; returns (key, is_advanced)."""
    if isinstance(key, list) and _sequence_is_tuple(key):
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, Tensor):
            a = k._data
            if a.dtype.kind == "b":
                advanced = True
            elif a.dtype.kind in "iu":
                advanced = True
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
        elif isinstance(k, (list, tuple, range, np.ndarray)):
            a = _sequence_index(k)
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
            advanced = True
        elif isinstance(k, (bool, np.bool_)):
            out.append(bool(k))
            advanced = True
        elif k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)):
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(k).__name__ + ")"
            )
    return tuple(out), advanced


def _sequence_index(k: Any) -> np.ndarray:
    """A list, tuple, range or NumPy array used as an index (nested tensors allowed)."""
    if isinstance(k, range):
        return np.arange(k.start, k.stop, k.step, dtype=np.int64)
    if isinstance(k, np.ndarray):
        return k
    return np.asarray(_plain(k))


def _plain(k: Any) -> Any:
    """Nested sequences with tensors and ranges replaced by lists of numbers."""
    if isinstance(k, Tensor):
        return k._data
    if isinstance(k, (list, tuple, range)):
        return [_plain(v) for v in k]
    return k


def _sequence_is_tuple(key: list) -> bool:
    # PyTorch's (NumPy's legacy) rule: a short list holding a sequence, tensor, slice, None or
    # Ellipsis indexes like a tuple, so x[[[0, 1], [1, 0]]] is x[[0, 1], [1, 0]].
    if len(key) >= 32:
        return False
    return any(
        isinstance(k, (list, tuple, range, slice, Tensor, np.ndarray)) or k is None or k is Ellipsis
        for k in key
    )


def _index_error(e: IndexError, shape: tuple) -> IndexError:
    msg = str(e)
    if "out of bounds" in msg:
        import re

        m = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", msg)
        if m:
            return IndexError(
                f"index {m.group(1)} is out of bounds for dimension {m.group(2)} with size "
                f"{m.group(3)}"
            )
    if "boolean index did not match" in msg:
        import re

        m = re.search(
            r"along axis (\d+); size of axis is (\d+) but size of corresponding boolean "
            r"axis is (\d+)",
            msg,
        )
        if m:
            return IndexError(
                f"The shape of the mask (size {m.group(3)}) at index {m.group(1)} does not match "
                f"the shape of the indexed tensor {list(shape)} (size {m.group(2)}) at index "
                f"{m.group(1)}"
            )
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {len(shape)}")
    return IndexError(msg)


def getitem(input: Tensor, key: Any) -> Tensor:
    """``input[key]`` with PyTorch's indexing rules and gradients."""
    k, advanced = _convert_key(key, input._data.shape)
    try:
        if advanced:
            return Index.apply(input, k)
        return Slice.apply(input, k)
    except IndexError as e:
        raise _index_error(e, input._data.shape) from None


class AddIntoZeros(Primitive):
    """``zeros(shape)`` with ``g`` added at ``key`` (repeated indices add up): the gradient of
    reading ``x[key]``, as a recorded op for create_graph; its own gradient reads ``key`` again."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, g, shape, key):
        ctx.key = key
        out = np.zeros(shape, g.dtype)
        np.add.at(out, key, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.key], None, None


def add_into_zeros(shape: tuple, key: Any, g: Any) -> Any:
    """``zeros(shape)`` with ``g`` added at ``key``: an array, or on the graph for a GraphArray
    ``g`` (create_graph)."""
    if on_graph(g):
        return g.apply(AddIntoZeros, shape, key)
    out = np.zeros(shape, g.dtype)
    np.add.at(out, key, g)
    return out


class IndexPut(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, key, value, accumulate):
        out = x.copy()
        if accumulate:
            np.add.at(out, key, value)
        else:
            out[key] = value
        ctx.meta = (key, np.shape(value), accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        key, vshape, accumulate = ctx.meta
        gx = _grad_past_writes(g, key, overwritten=not accumulate)
        gv = None
        if ctx.needs_input_grad[2]:
            gv = unbroadcast(g[key], vshape)
        return gx, None, gv, None


def _grad_past_writes(g: np.ndarray, key: Any, overwritten: bool) -> np.ndarray:
    """The input's gradient through a write at ``key``: none where the write overwrote it."""
    if not overwritten:
        return g
    if on_graph(g):  # create_graph: a recorded product with the kept-positions mask
        keep = np.ones(g.shape, bool)
        keep[key] = False
        return g * keep
    gx = np.array(g)  # a copy, and an array even when g came back as a NumPy scalar
    gx[key] = 0
    return gx


def setitem(input: Tensor, key: Any, value: Any) -> None:
    """``input[key] = value`` in place (with autograd through the written values)."""
    from . import inplace

    k, _ = _convert_key(key, input._data.shape)
    if isinstance(value, Tensor):
        v = value
        if v._data.dtype != input._data.dtype:
            from .elementwise import cast

            v = cast(v, input.dtype)
    else:
        if input._data.dtype.kind in "iu":  # (a float tensor takes inf for a huge value)
            value = fit_scalar(value, input.dtype)
        v = np.asarray(value, dtype=input._data.dtype)
    try:
        inplace.apply_inplace(input, IndexPut, k, v, False, direct=_direct_setitem)
    except IndexError as e:
        raise _index_error(e, input._data.shape) from None
    except ValueError as e:
        raise RuntimeError(
            str(e).replace(
                "could not broadcast input array from shape",
                "shape mismatch: value tensor of shape",
            )
        ) from None


def _direct_setitem(data: np.ndarray, key: Any, value: Any, accumulate: bool) -> None:
    value = value._data if isinstance(value, Tensor) else value
    data[key] = value


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    k, _ = _convert_key(tuple(indices), input._data.shape)
    return IndexPut.apply(input, k, values, accumulate)


def _check_index_tensor(index: Tensor, name: str) -> np.ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        if index._data.dtype.kind in "iu":
            return index._data.astype(np.int64)
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return index._data


class Gather(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.meta = (x.shape, axis, idx)
        if x.ndim == 0:  # a 0-d input has one element; NumPy needs an axis to take along
            return x.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
        return np.take_along_axis(x, idx, axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, idx = ctx.meta
        if not shape:
            return g.sum(), None, None
        return add_into_zeros(shape, along_axis(idx, axis), g), None, None


def along_axis(idx: np.ndarray, axis: int) -> tuple:
    """The NumPy index of the elements ``idx`` points at along ``axis`` (gather/scatter)."""
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    return tuple(grids)


def _gather_args(input: Tensor, dim: int, index: Tensor, name: str) -> tuple:
    """Check gather/scatter arguments; returns ``(index array, axis)``."""
    idx = _check_index_tensor(index, name)
    axis = wrap_dim(dim, input.ndim)
    _check_gather_shapes(input, axis, idx, name)
    return idx, axis


def _check_gather_shapes(x: Tensor, axis: int, idx: np.ndarray, name: str) -> None:
    if idx.ndim != x.ndim and not (idx.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(idx.ndim):
        if d != axis and idx.shape[d] > x._data.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(idx.shape)} to be "
                f"smaller than self {list(x.shape)} apart from dimension {axis}"
            )
    n = x._data.shape[axis] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Pick values along ``dim`` at ``index`` (same number of dims as ``input``)."""
    idx, axis = _gather_args(input, dim, index, "gather")
    x = input
    if idx.shape != input._data.shape and input.ndim:
        # take_along_axis needs matching shapes off the gather axis: slice the input down.
        key = tuple(slice(0, s) if d != axis else slice(None) for d, s in enumerate(idx.shape))
        x = Slice.apply(input, key)
    return Gather.apply(x, axis, idx)


class Scatter(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx, src, add):
        out = x.copy()
        key = along_axis(idx, axis)
        srcv = (
            src[tuple(slice(0, s) for s in idx.shape)]
            if isinstance(src, np.ndarray) and src.ndim == idx.ndim
            else src
        )
        if add:
            np.add.at(out, key, srcv)
        else:
            out[key] = srcv
        ctx.meta = (key, add, np.shape(src), idx.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        key, add, sshape, ishape = ctx.meta
        gx = _grad_past_writes(g, key, overwritten=not add)
        gs = None
        if len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3]:
            gs = add_into_zeros(sshape, tuple(slice(0, s) for s in ishape), g[key])
        return gx, None, None, gs, None


def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """Write ``src`` (a tensor or a number) into a copy of ``input`` at ``index`` along ``dim``."""
    if src is None:
        src = value
    idx, axis = _gather_args(input, dim, index, "scatter")
    if reduce == "add":
        return scatter_add(input, dim, index, src)
    if reduce is not None:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if not isinstance(src, Tensor):
        src = np.asarray(src, dtype=input._data.dtype)
    return Scatter.apply(input, axis, idx, src, False)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim``."""
    idx, axis = _gather_args(input, dim, index, "scatter_add")
    return Scatter.apply(input, axis, idx, src, True)


class IndexSelect(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx):
        ctx.meta = (x.shape, axis, idx)
        return np.take(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis, idx = ctx.meta
        if on_graph(g):  # create_graph: a recorded scatter
            return add_into_zeros(shape, (slice(None),) * axis + (idx,), g), None, None
        out = np.zeros(shape, g.dtype)
        gm = np.moveaxis(g, axis, 0)
        om = np.moveaxis(out, axis, 0)
        np.add.at(om, idx, gm)
        return out, None, None


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Rows (along ``dim``) picked by a 1-D integer ``index``."""
    idx = _check_index_tensor(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        if axis == 1:
            # PyTorch's kernel for dim 1 reports the first bad index as a RuntimeError.
            bad = idx[(idx < 0) | (idx >= n)].reshape(-1)[0]
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
        raise IndexError("index out of range in self")
    return IndexSelect.apply(input, axis, idx.reshape(-1))


def take(input: Tensor, index: Tensor) -> Tensor:
    return index_select(reshape(input, -1), 0, reshape(index, -1)).reshape(index.shape)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    return gather(input, dim, indices)


class MaskedFill(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.meta = (mask, np.shape(value), x.shape)
        return np.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        mask, vshape, xshape = ctx.meta
        gx = grad_where(mask, g, xshape, invert=True)
        gv = None
        if ctx.needs_input_grad[2]:
            gv = grad_where(mask, g, vshape) if len(vshape) else _masked_total(mask, g)
        return gx, None, gv


def _masked_total(mask: np.ndarray, g: Any) -> Any:
    """The sum of ``g`` where ``mask`` holds, as a 0-d array (a 0-d value's gradient)."""
    picked = np.where(mask, g, 0).astype(g.dtype, copy=False)
    return picked.sum(axis=tuple(range(picked.ndim)), keepdims=True).reshape(())


def _check_mask(mask: Tensor, input: Tensor, name: str) -> np.ndarray:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        if mask._data.dtype == np.uint8:
            return mask._data.astype(bool)
        raise RuntimeError(f"{name}: expected BoolTensor for mask")
    try:
        np.broadcast_shapes(mask._data.shape, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({input._data.shape[-1]}) must match the size of tensor b "
            f"({mask._data.shape[-1]}) at non-singleton dimension {input.ndim - 1}"
        ) from None
    return mask._data


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Copy of ``input`` with ``value`` where ``mask`` is True."""
    m = _check_mask(mask, input, "masked_fill")
    value = fit_scalar(value, input.dtype)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return MaskedFill.apply(input, m, value)
    return MaskedFill.apply(input, m, value)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """1-D tensor of the elements where ``mask`` is True (broadcast)."""
    m = _check_mask(mask, input, "masked_select")
    shape = np.broadcast_shapes(m.shape, input._data.shape)
    x = input if input._data.shape == shape else expand(input, shape)
    return Index.apply(x, (np.broadcast_to(m, shape),))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    m = np.broadcast_to(_check_mask(mask, input, "masked_scatter"), input._data.shape)
    n = int(m.sum())
    return index_put(input, (_wrap(m),), reshape(source, -1)[:n])


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in nz)
    return _wrap(np.stack(nz, axis=1).astype(np.int64) if nz else np.zeros((0, 0), np.int64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    from .diagonals import diag as _diag  # on the graph (ops/diagonals.py)

    return _diag(input, diagonal)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    from .diagonals import diagonal as _diagonal  # a view on the graph (ops/diagonals.py)

    return _diagonal(input, offset, dim1, dim2)


def trace(input: Tensor) -> Tensor:
    from .reduction import sum as _sum

    n = min(input.shape)
    idx = _wrap(np.arange(n))
    return _sum(getitem(input, (idx, idx)))


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    res = np.unique(
        input._data, return_inverse=return_inverse, return_counts=return_counts, axis=dim
    )
    if isinstance(res, tuple):
        out = [_wrap(res[0])]
        for r in res[1:]:
            out.append(
                _wrap(
                    r.reshape(input._data.shape)
                    if r.size == input._data.size and return_inverse and r is res[1]
                    else r.astype(np.int64)
                )
            )
        return tuple(out)
    return _wrap(res)


def bucketize(
    input: Tensor, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    side = "right" if right else "left"
    r = np.searchsorted(boundaries._data, input._data, side=side)
    return _wrap(r.astype(np.int32 if out_int32 else np.int64))


def searchsorted(
    sorted_sequence: Tensor,
    values: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
) -> Tensor:
    side = side or ("right" if right else "left")
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    r = np.searchsorted(sorted_sequence._data, v, side=side)
    return _wrap(np.asarray(r).astype(np.int32 if out_int32 else np.int64))


def repeat_interleave(
    input: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when ``dim`` is None)."""
    if repeats is None:
        r = input._data
        return _wrap(np.repeat(np.arange(r.size), r).astype(np.int64))
    x = reshape(input, -1) if dim is None else input
    axis = 0 if dim is None else wrap_dim(dim, input.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    idx = np.repeat(np.arange(x._data.shape[axis]), np.broadcast_to(reps, (x._data.shape[axis],)))
    return index_select(x, axis, _wrap(idx.astype(np.int64)))
