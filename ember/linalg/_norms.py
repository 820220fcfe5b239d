"""Vector and matrix norms: ``vector_norm``, ``matrix_norm`` and ``norm``, which picks one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor
from ..ops import reduction as R
from ..ops import shape as S
from ..ops._util import type_name
from ..ops.elementwise import cast
from ..ops.linalg_decomp import Svdvals
from ..ops.unary import abs as _abs
from ._checks import check_float, refuse_complex_grad

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(
    x: Tensor,
    ord: float = 2,  # noqa: A002 - torch's name
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: D.dtype | None = None,
    out: Any = None,
) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), ``x`` seen as a vector."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, but got {ord}")
    if dtype is not None:
        x = cast(x, dtype)
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{type_name(x.dtype)}"
        )
    if x.dtype.is_complex:
        refuse_complex_grad("linalg.vector_norm", x)
        x = _abs(x)  # the norm of a complex vector is the norm of its moduli
    if isinstance(dim, int):
        dim = (dim,)
    with np.errstate(over="ignore", invalid="ignore"):  # inf for huge values, as PyTorch
        return R.norm(x, ord, dim, keepdim)


def _check_matrix_dims(name: str, A: Tensor, dim: Any) -> tuple[int, int]:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (int(d) % A.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _reduce_both(t: Tensor, d0: int, d1: int, first: Any, second: Any, keepdim: bool) -> Tensor:
    """``second(first(t, d0), d1)`` with kept dims, then squeezed unless ``keepdim``."""
    r = second(first(t, d0, True), d1, True)
    return r if keepdim else S.squeeze(r, tuple(sorted((d0, d1))))


def _svd_norm(A: Tensor, d0: int, d1: int, pick: Any, keepdim: bool) -> Tensor:
    """A norm from the singular values of the matrices spanned by dims (d0, d1)."""
    moved = S.movedim(A, (d0, d1), (-2, -1))
    r = pick(Svdvals.apply(moved))
    if keepdim:
        for d in sorted((d0, d1)):
            r = S.unsqueeze(r, d)
    return r


def matrix_norm(
    A: Tensor,
    ord: Any = "fro",  # noqa: A002
    dim: tuple = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: D.dtype | None = None,
    out: Any = None,
) -> Tensor:
    """Frobenius ('fro'), nuclear ('nuc'), spectral (2, -2), max column (1, -1) or max row
    (inf, -inf) norm of the matrices over ``dim``."""
    name = "linalg.matrix_norm"
    d0, d1 = _check_matrix_dims(name, A, dim)
    if dtype is not None:
        A = cast(A, dtype)
    check_float(name, A)
    refuse_complex_grad(name, A)
    if ord == "fro":
        with np.errstate(over="ignore", invalid="ignore"):
            return R.norm(_abs(A) if A.dtype.is_complex else A, 2, (d0, d1), keepdim)
    if ord == "nuc":
        return _svd_norm(A, d0, d1, lambda s: R.sum(s, -1), keepdim)
    if ord in (2, -2):
        pick = R.amax if ord == 2 else R.amin
        return _svd_norm(A, d0, d1, lambda s: pick(s, -1), keepdim)
    a = _abs(A)
    if ord in (1, -1):
        return _reduce_both(a, d0, d1, R.sum, R.amax if ord == 1 else R.amin, keepdim)
    if ord in (math.inf, -math.inf):
        return _reduce_both(a, d1, d0, R.sum, R.amax if ord > 0 else R.amin, keepdim)
    raise RuntimeError(f"{name}: Order {ord} not supported.")


def norm(
    A: Tensor,
    ord: Any = None,  # noqa: A002
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: D.dtype | None = None,
    out: Any = None,
) -> Tensor:
    """A vector norm (``dim`` an int, or a 1-D input) or a matrix norm (``dim`` a 2-tuple, or a
    2-D input with ``ord`` given); with neither ``ord`` nor ``dim``, the 2-norm of all
    elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
        f"{A.ndim}D."
    )


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
