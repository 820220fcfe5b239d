"""Diagonals: ``diagonal`` (a differentiable view), ``diag``, ``diag_embed``, ``diagflat`` and
``fill_diagonal_``, all on the autograd graph (composites of the ``Diagonal`` view, ``where``,
padding and ``movedim``: no primitive of their own)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap, _wrap_dim
from .linalg_solve import Diagonal

__all__ = ["diagonal", "diag", "diag_embed", "diagflat", "fill_diagonal_"]


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of the matrices spanned by ``dim1`` and ``dim2``, as a new last
    dim: a view of ``input`` (writes go through, gradients flow back)."""
    d1, d2 = _wrap_dim(dim1, input.ndim), _wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) whose ``offset`` diagonal is the last
    dim of ``input``; zeros elsewhere."""
    from .elementwise import where
    from .shape import constant_pad, movedim, unsqueeze

    nd = input.ndim + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] if input.ndim else 1
    eye = _wrap(np.eye(n, dtype=bool))
    zero = _wrap(np.zeros((), input._data.dtype))
    # where, not a product with the identity: NaN and inf stay off the zero entries.
    m = where(eye, unsqueeze(input.reshape(input.shape or (1,)), -1), zero)
    k = abs(int(offset))
    if k:
        m = constant_pad(m, (k, 0, 0, k) if offset > 0 else (0, k, k, 0), 0)
    return movedim(m, (-2, -1), (d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the ``diagonal`` of a square matrix, or a 2-D tensor's ``diagonal`` (a
    copy, as PyTorch)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, int(diagonal), 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input as the ``offset`` diagonal of a 2-D matrix."""
    return diag_embed(input.reshape(-1), offset, 0, 1)


def fill_diagonal_(input: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (every dim the same length above 2 dims); ``wrap``
    continues a tall matrix's diagonal below its first square block, as PyTorch."""
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    size = int(np.prod(shape))
    if len(shape) == 2:
        rows, cols = shape
        stop = size if wrap and rows > cols else min(rows, cols) * cols
        step = cols + 1
    else:
        step = sum(int(np.prod(shape[k + 1 :])) for k in range(len(shape)))
        stop = size
    mask = np.zeros(size, dtype=bool)
    mask[0:stop:step] = True
    return input.masked_fill_(_wrap(mask.reshape(shape)), fill_value)
