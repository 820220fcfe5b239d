"""Small rearrangements and summaries as composites of differentiable ops: ``ravel``,
``positive``, ``msort``, ``aminmax``, ``split_with_sizes`` (and the ``unsafe_`` split family),
``sum_to_size``, ``combinations``, ``unravel_index``, ``fill``; and the tensor predicates
``isposinf``, ``isneginf``, ``isreal``, ``is_signed``, ``is_same_size``, ``is_neg``,
``is_complex``, ``get_device``."""

from __future__ import annotations

import itertools
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Size, Tensor, _wrap, _wrap_dim

__all__ = [
    "ravel",
    "positive",
    "msort",
    "aminmax",
    "split_with_sizes",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "sum_to_size",
    "combinations",
    "unravel_index",
    "fill",
    "isposinf",
    "isneginf",
    "isreal",
    "is_signed",
    "is_same_size",
    "is_neg",
    "is_complex",
    "get_device",
    "is_nonzero",
    "is_inference",
]

# torch.return_types.aminmax: a named tuple printed under that name.
AminmaxResult = namedtuple("aminmax", ["min", "max"])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when the layout allows)."""
    return input.reshape(-1)


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+input``); refused for bool tensors, as PyTorch."""
    if input.dtype == D.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim."""
    return input.sort(dim=0).values


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """The smallest and largest values (over ``dim``, or all elements)."""
    if dim is not None:
        d = _wrap_dim(dim, input.ndim)
        if input.ndim and input.shape[d] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    if input.numel() == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            "identity."
        )
    if dim is None:
        x = input.reshape(-1)
        lo, hi = x.amin(), x.amax()
        if keepdim:
            lo, hi = lo.reshape((1,) * input.ndim), hi.reshape((1,) * input.ndim)
        return AminmaxResult(lo, hi)
    return AminmaxResult(input.amin(dim, keepdim), input.amax(dim, keepdim))


def split_with_sizes(input: Tensor, split_sizes: Any, dim: int = 0) -> tuple:
    """Pieces of the given sizes along ``dim``; the sizes must add up to the dim's length."""
    d = _wrap_dim(dim, input.ndim)
    sizes = [int(s) for s in split_sizes]
    if sum(sizes) != input.shape[d] or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {input.shape[d]} (input "
            f"tensor's size at dimension {d}), but got split_sizes={sizes}"
        )
    return input.split(sizes, d)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Any, dim: int = 0) -> tuple:
    """``split_with_sizes`` (PyTorch's unsafe form skips view tracking; ember's are views)."""
    return split_with_sizes(input, split_sizes, dim)


def unsafe_split(input: Tensor, split_size: Any, dim: int = 0) -> tuple:
    """``split`` (PyTorch's unsafe form skips view tracking; ember's are views)."""
    return input.split(split_size, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (PyTorch's unsafe form skips view tracking; ember's are views)."""
    return input.chunk(chunks, dim)


def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """``input`` summed down to ``size`` (the inverse of broadcasting ``size`` to its shape)."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    shape = tuple(int(s) for s in shape)
    full = tuple(input.shape)
    lead = len(full) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == f for s, f in zip(shape, full[lead:]))
    if not ok:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(full)}}}.")
    dims = tuple(range(lead)) + tuple(
        lead + k for k, s in enumerate(shape) if s == 1 and full[lead + k] != 1
    )
    out = input.sum(dims, keepdim=True) if dims else input
    return out.reshape(shape) if lead else out


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-element combinations of a 1-D tensor's elements, one per row, in
    ``itertools.combinations`` order (differentiable: the rows index ``input``)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(n), r))
    if r == 0:  # PyTorch's result is then an empty vector (still on the graph)
        return input[_wrap(np.zeros(0, np.int64))]
    return input[_wrap(np.asarray(rows, np.int64).reshape(-1, r))]


def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates in ``shape`` of flat C-order ``indices``, one int64 tensor per dim."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices).__name__}")
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == D.bool:
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(indices.dtype))
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    total = int(np.prod(shape))
    flat = indices._data.astype(np.int64)
    if flat.size and (flat.min() < -total or flat.max() >= total):
        raise RuntimeError(f"'indices' must be in range [-{total}, {total})")
    flat = np.where(flat < 0, flat + total, flat)
    coords = np.unravel_index(flat, shape) if shape else ()
    return tuple(_wrap(np.asarray(c, np.int64)) for c in coords)


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor shaped like ``input`` holding ``value`` (a number or a 0-dim tensor)."""
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            "fill_ only supports 0-dimension value tensor but got tensor with "
            f"{value.ndim} dimensions."
        )
    return input.clone().fill_(value)


# ---- predicates --------------------------------------------------------------------------------
def isposinf(input: Tensor) -> Tensor:
    """Where the elements are +inf."""
    a = input._data
    return _wrap(np.isposinf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool))


def isneginf(input: Tensor) -> Tensor:
    """Where the elements are -inf."""
    a = input._data
    return _wrap(np.isneginf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool))


def isreal(input: Tensor) -> Tensor:
    """Where the elements have a zero imaginary part (everywhere for real dtypes)."""
    a = input._data
    return _wrap(a.imag == 0 if a.dtype.kind == "c" else np.ones(a.shape, bool))


def is_signed(input: Tensor) -> bool:
    """Whether the dtype holds negative numbers."""
    return input._data.dtype.kind in "ifc"


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether the two shapes are equal."""
    return Size(input.shape) == Size(other.shape)


def is_neg(input: Tensor) -> bool:
    """Whether the tensor is a lazily negated view (never, in ember: negation is eager)."""
    return False


def is_complex(input: Tensor) -> bool:
    """Whether the dtype is complex."""
    return input._data.dtype.kind == "c"


def get_device(input: Tensor) -> int:
    """The device index: -1 for a CPU tensor, as PyTorch."""
    return -1


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (``Tensor.is_nonzero``)."""
    return input.is_nonzero()


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` was made under ``inference_mode`` (``Tensor.is_inference``)."""
    return input.is_inference()
