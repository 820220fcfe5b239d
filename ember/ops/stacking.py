"""Shape helpers built from the view and join ops: ``atleast_1d/2d/3d``, ``column_stack``,
``row_stack``, ``dstack``, ``hsplit``/``vsplit``/``dsplit``, ``rot90``, ``tril_indices``/
``triu_indices``, and the strided views ``Tensor.unfold`` and ``as_strided``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out, accepts_out_in
from .._tensor import Tensor, _wrap
from ._util import Primitive, on_graph, wrap_dim
from .indexing import add_into_zeros
from .join import cat, tensor_split, vstack
from .shape import flip, reshape, transpose

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "column_stack",
    "row_stack",
    "dstack",
    "hsplit",
    "vsplit",
    "dsplit",
    "rot90",
    "tril_indices",
    "triu_indices",
    "unfold",
    "as_strided",
]


def _atleast(tensors: tuple, shape_of) -> Any:
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(reshape(t, shape_of(tuple(t.shape))) for t in items)
    return out[0] if single else out


def _shape_1d(s: tuple) -> tuple:
    return s if len(s) >= 1 else (1,)


def _shape_2d(s: tuple) -> tuple:
    return s if len(s) >= 2 else (1,) + _shape_1d(s)


def _shape_3d(s: tuple) -> tuple:
    if len(s) >= 3:
        return s
    if len(s) == 2:
        return s + (1,)
    return (1,) + _shape_1d(s) + (1,)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor viewed with at least one dim (a tuple for several)."""
    return _atleast(tensors, _shape_1d)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor viewed with at least two dims (a tuple for several)."""
    return _atleast(tensors, _shape_2d)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor viewed with at least three dims (a tuple for several)."""
    return _atleast(tensors, _shape_3d)


@accepts_out
def column_stack(tensors: Any, *, out: Any = None) -> Tensor:
    """Join 0-/1-d tensors as columns (and 2-d ones as they are) side by side."""
    cols = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


@accepts_out
def row_stack(tensors: Any, *, out: Any = None) -> Tensor:
    """Alias of ``vstack``."""
    return vstack(tensors)


@accepts_out
def dstack(tensors: Any, *, out: Any = None) -> Tensor:
    """Join tensors along the third dim (after ``atleast_3d``)."""
    return cat(list(atleast_3d(*tensors)), 2)


def _split_along(input: Tensor, sections: Any, dim: int, name: str) -> tuple:
    if isinstance(sections, (int, np.integer)):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {sections}!"
            )
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """Split along dim 1 (dim 0 for 1-d tensors)."""
    if input.ndim < 1:
        raise RuntimeError(
            "torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 "
            "dimensions!"
        )
    return _split_along(input, indices_or_sections, 1 if input.ndim > 1 else 0, "hsplit")


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """Split along dim 0 (needs 2 dims or more)."""
    if input.ndim < 2:
        raise RuntimeError(
            "torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
            f"{input.ndim} dimensions!"
        )
    return _split_along(input, indices_or_sections, 0, "vsplit")


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """Split along dim 2 (needs 3 dims or more)."""
    if input.ndim < 3:
        raise RuntimeError(
            "torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
            f"{input.ndim} dimensions!"
        )
    return _split_along(input, indices_or_sections, 2, "dsplit")


def rot90(input: Tensor, k: int = 1, dims: Any = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (first dim towards the second)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return flip(transpose(input, d0, d1), d1)
    return input.clone()


def _tri_indices(row: int, col: int, offset: int, dtype: Any, upper: bool) -> Tensor:
    dt = D.int64 if dtype is None else dtype
    if dt not in (D.int32, D.int64):
        from ._util import type_name

        raise NotImplementedError(f"\"tril_indices\" not implemented for '{type_name(dt)}'")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else "col < 0")
    fn = np.triu_indices if upper else np.tril_indices
    r, c = fn(row, offset, col)
    return _wrap(np.stack([r, c]).astype(dt.np).reshape(2, -1))


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a ``row`` x ``col`` matrix, row-major."""
    return _tri_indices(row, col, offset, dtype, upper=False)


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = None,
    device: Any = None,
    layout: Any = None,
) -> Tensor:
    """The (2, N) coordinates of the upper triangle of a ``row`` x ``col`` matrix, row-major."""
    return _tri_indices(row, col, offset, dtype, upper=True)


# ---- strided views ----------------------------------------------------------------------------
class Strided(Primitive):
    """A view onto the input's elements at ``positions`` (flat indices into the input, one per
    output element; windows may overlap): the gradient adds back into those positions."""

    view = True
    twice_differentiable = True  # on the graph the scatter-add is a recorded AddIntoZeros

    @staticmethod
    def forward(ctx, x, view, positions):
        ctx.meta = (x.shape, positions)
        return view

    @staticmethod
    def backward(ctx, g):
        shape, positions = ctx.meta
        if on_graph(g):
            flat = add_into_zeros((int(np.prod(shape)),), (positions.reshape(-1),), g.reshape(-1))
            return flat.reshape(shape), None, None
        flat = np.bincount(
            positions.reshape(-1), weights=g.reshape(-1), minlength=int(np.prod(shape))
        )
        return flat.astype(g.dtype).reshape(shape), None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of the windows of ``size`` elements, ``step`` apart, along ``dimension`` (a new
    last dim holds each window)."""
    a = input._data
    axis = wrap_dim(dimension, max(a.ndim, 1))
    n = a.shape[axis] if a.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if a.ndim == 0:
        return reshape(input, (1,))
    count = (n - size) // step + 1
    shape = a.shape[:axis] + (count,) + a.shape[axis + 1 :] + (size,)
    strides = a.strides[:axis] + (a.strides[axis] * step,) + a.strides[axis + 1 :]
    strides += (a.strides[axis],)
    view = np.lib.stride_tricks.as_strided(a, shape, strides)
    pos_strides = _element_strides(a.shape)
    ps = pos_strides[:axis] + (pos_strides[axis] * step,) + pos_strides[axis + 1 :]
    ps += (pos_strides[axis],)
    return Strided.apply(input, view, _positions(shape, ps, 0))


def _element_strides(shape: tuple) -> tuple:
    """C-order strides in elements (the positions the gradient is indexed by)."""
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= s
    return tuple(reversed(out))


def _positions(shape: tuple, strides: tuple, offset: int) -> np.ndarray:
    pos = np.full(shape, offset, np.int64)
    for k, (n, st) in enumerate(zip(shape, strides)):
        pos += (np.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (len(shape) - k - 1))
    return pos


def as_strided(input: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """A view with the given sizes and strides (in elements) into a contiguous ``input``'s
    memory. ember indexes ``input``'s own elements, so it must be contiguous (PyTorch indexes
    the whole storage underneath)."""
    a = input._data
    if not a.flags.c_contiguous:
        raise NotImplementedError(
            "ember's as_strided needs a contiguous input (call .contiguous() first): it indexes "
            "the input's own elements, not a shared storage"
        )
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(stride)} vs {len(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment")
    offset = 0 if storage_offset is None else int(storage_offset)
    need = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    if need > a.size:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {a.itemsize} requiring a storage size of {need * a.itemsize} are out "
            f"of bounds for storage of size {a.size * a.itemsize}"
        )
    flat = a.reshape(-1)
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], size, tuple(s * a.itemsize for s in stride)
    )
    return Strided.apply(input, view, _positions(size, stride, offset))


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
