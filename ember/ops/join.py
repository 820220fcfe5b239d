"""Joining and splitting: cat/stack, split/chunk/unbind, narrow/select, meshgrid."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out
from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ._util import Primitive, wrap_dim
from .indexing import Slice
from .shape import expand, reshape, unsqueeze


class Cat(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.meta = (axis, [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, sizes = ctx.meta
        bounds = np.cumsum(sizes)[:-1]
        return (None, *np.split(g, bounds, axis=axis))


@accepts_out
def cat(tensors: Any, dim: int = 0, *, out: Any = None) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(x).__name__}"
            )
    # The result dtype promotes over every tensor, skipped ones included.
    dt = tensors[0].dtype
    for x in tensors[1:]:
        if x.dtype is not dt:
            dt = D.promote_types(dt, x.dtype)
    # Legacy rule: 1-D empty tensors are skipped.
    nonempty = [x for x in tensors if not (x.ndim == 1 and x._data.shape[0] == 0)]
    if not nonempty:
        from .elementwise import cast

        return cast(tensors[0], dt).clone()
    kept = {id(x) for x in nonempty}  # (identity: == on tensors is elementwise)
    skipped = [x for x in tensors if x._rg and id(x) not in kept]
    if skipped and STATE.enabled:
        return _keep_in_graph(cat([x.to(dt) for x in nonempty], dim), skipped)
    tensors = nonempty
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ref = tensors[0]
    nd = ref.ndim
    axis = wrap_dim(dim, nd)
    for i, x in enumerate(tensors):
        if x.ndim != nd:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {nd} and {x.ndim}"
            )
        for k in range(nd):
            if k != axis and x._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{ref._data.shape[k]} but got size {x._data.shape[k]} for tensor number {i} "
                    f"in the list."
                )
    if any(x.dtype is not dt for x in tensors):
        from .elementwise import cast

        tensors = [cast(x, dt) for x in tensors]
    return Cat.apply(axis, *tensors)


concat = concatenate = cat


def _keep_in_graph(out: Tensor, skipped: list) -> Tensor:
    """``out`` still connected to skipped empty inputs that require grad, as PyTorch's result is
    (their gradient is an empty tensor); subtracting 0 changes no value, not even -0.0."""
    from .elementwise import mul, sub
    from .reduction import sum as sum_

    zero = mul(sum_(cat([x.to(out.dtype) for x in skipped])), 0)
    return sub(out, zero)


@accepts_out
def stack(tensors: Any, dim: int = 0, *, out: Any = None) -> Tensor:
    """Join tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    nd = len(shp) + 1
    if not -nd <= dim < nd:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shp)} at entry 0 and "
                f"{list(x._data.shape)} at entry {i}"
            )
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def hstack(tensors: Any) -> Tensor:
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    return cat([x if x.ndim >= 2 else reshape(x, (1, -1)) for x in tensors], 0)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Split into chunks of a given size, or of the listed sizes, along ``dim``."""
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    axis = wrap_dim(dim, tensor.ndim)
    n = tensor._data.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s <= 0 and n > 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s and n else [0]
    else:
        sizes = [int(x) for x in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {axis}), but got split_sizes={sizes}"
            )
    out = []
    start = 0
    for s in sizes:
        out.append(narrow(tensor, axis, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if n == 0:  # PyTorch gives ``chunks`` empty pieces
        return tuple(narrow(input, axis, 0, 0) for _ in range(chunks))
    return split(input, -(-n // chunks), dim)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        base, extra = divmod(n, k)
        sizes = [base + 1] * extra + [base] * (k - extra)
    else:
        idx = [0] + list(indices_or_sections) + [n]
        sizes = [max(0, min(b, n) - min(a, n)) for a, b in zip(idx[:-1], idx[1:])]
    return split(input, sizes, axis)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """Remove ``dim``, returning a tuple of slices."""
    axis = wrap_dim(dim, input.ndim)
    key = [slice(None)] * axis
    return tuple(Slice.apply(input, tuple(key + [i])) for i in range(input._data.shape[axis]))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice ``start:start+length`` of dimension ``dim`` (a view)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if isinstance(start, Tensor):
        start = int(start.item())
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    key = (slice(None),) * axis + (slice(start, start + length),)
    return Slice.apply(input, key)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    axis = wrap_dim(dim, input.ndim)
    n = input._data.shape[axis]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {axis}"
        )
    return Slice.apply(input, (slice(None),) * axis + (index,))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    n = len(tensors)
    outs = []
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    for i, t in enumerate(tensors):
        s = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        s[pos] = -1
        outs.append(expand(reshape(t, s), shape))
    return tuple(outs)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)
