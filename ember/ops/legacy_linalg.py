"""The pre-``torch.linalg`` matrix functions PyTorch keeps at ``torch.*`` and on ``Tensor``:
``cholesky_solve``, ``cholesky_inverse``, ``triangular_solve``, ``lu``, ``lu_solve``,
``lu_unpack``, ``nuclear_norm``, ``frobenius_norm`` (composites of ``ember.linalg``, so their
gradients come from there), and the removed ``solve``/``lstsq``/``symeig``/``eig``/
``matrix_rank``, which raise PyTorch's RuntimeError pointing at their replacements."""

from __future__ import annotations

import warnings
from collections import namedtuple
from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap

__all__ = [
    "cholesky_solve",
    "cholesky_inverse",
    "triangular_solve",
    "lu",
    "lu_solve",
    "lu_unpack",
    "nuclear_norm",
    "frobenius_norm",
    "solve",
    "lstsq",
    "symeig",
    "eig",
    "matrix_rank",
]

TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
LuUnpackResult = namedtuple("lu_unpack", ["P", "L", "U"])


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(
        f"torch.{name} is deprecated in favor of {replacement} and will be removed in a future "
        "PyTorch release.",
        UserWarning,
        stacklevel=3,
    )


def _jit_only(name: str, replacement: str) -> None:
    warnings.warn(
        f"at::{name} is deprecated and it is just left for JIT compatibility. It will be removed "
        f"in a future PyTorch release. Please use `{replacement}` instead",
        UserWarning,
        stacklevel=3,
    )


def _linalg() -> Any:
    from .. import linalg

    return linalg


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """``X`` with ``A X = B`` where ``A = L L^H`` (``U^H U`` when ``upper``)."""
    la = _linalg()
    lower = L.mH if upper else L
    y = la.solve_triangular(lower, B, upper=False)
    return la.solve_triangular(lower.mH, y, upper=True)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A = L L^H`` (``U^H U`` when ``upper``) from its Cholesky factor."""
    n = L.shape[-1]
    eye = _wrap(np.eye(n, dtype=L._data.dtype))
    return cholesky_solve(eye.expand(*L.shape), L, upper)


def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
) -> Any:
    """``(X, A.clone())`` with ``op(A) X = b``, ``op`` the transpose when ``transpose``."""
    _deprecated("triangular_solve", "torch.linalg.solve_triangular")
    la = _linalg()
    coeff = A.mT if transpose else A
    x = la.solve_triangular(coeff, b, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(x, A.clone())


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """``(LU, pivots)`` (and ``infos`` when asked) of ``linalg.lu_factor_ex``."""
    _deprecated("lu", "torch.linalg.lu_factor / torch.linalg.lu_factor_ex")
    LU, pivots, infos = _linalg().lu_factor_ex(A, pivot=pivot)
    return (LU, pivots, infos) if get_infos else (LU, pivots)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``X`` with ``A X = b`` from ``A``'s LU factorization."""
    _deprecated("lu_solve", "torch.linalg.lu_solve")
    return _linalg().lu_solve(LU_data, LU_pivots, b)


def lu_unpack(
    LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True
) -> Any:
    """``(P, L, U)`` with ``A = P L U`` from ``lu``'s compact result (empty tensors for the parts
    not unpacked)."""
    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = min(m, n)
    empty = LU_data.new_empty((0,))
    L = U = P = empty
    if unpack_data:
        eye = _wrap(np.eye(m, k, dtype=LU_data._data.dtype))
        L = LU_data[..., :, :k].tril(-1) + eye
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        piv = np.asarray(LU_pivots._data, np.int64) - 1
        perm = np.broadcast_to(np.arange(m), piv.shape[:-1] + (m,)).copy()
        for i in range(piv.shape[-1]):  # LAPACK's row swaps, in order
            j = piv[..., i]
            rows = np.indices(perm.shape[:-1])
            a, b = perm[..., i].copy(), perm[(*rows, j)].copy()
            perm[..., i] = b
            perm[(*rows, j)] = a
        eye_m = np.eye(m, dtype=LU_data._data.dtype)
        P = _wrap(np.swapaxes(eye_m[perm], -1, -2).copy())
    return LuUnpackResult(P, L, U)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The sum of the singular values of the matrices in ``dim`` (the last two by default)."""
    _jit_only("nuclear_norm", "linalg.matrix_norm(A, 'nuc', dim, keepdim)")
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim) positionally
        dim, keepdim = None, dim
    dims = (-2, -1) if dim is None else tuple(dim)
    if input.ndim != 2 and dim is None:
        raise RuntimeError(f"Expected a tensor with 2 dimensions, but got a {input.ndim}D tensor")
    return _linalg().matrix_norm(input, "nuc", dims, keepdim)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """The 2-norm of the elements over ``dim`` (one or two dims)."""
    _jit_only("frobenius_norm", "linalg.vector_norm(A, 2., dim, keepdim)")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(
            f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead."
        )
    return _linalg().vector_norm(input, 2, dims, keepdim)


_REMOVED = "This function was deprecated since version 1.9 and is now removed. "


def solve(input: Tensor, A: Tensor, *, out: Any = None) -> Any:
    raise RuntimeError(
        _REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. "
        "`torch.linalg.solve` has its arguments reversed and does not return the LU factorization."
    )


def lstsq(input: Tensor, A: Tensor, *, out: Any = None) -> Any:
    raise RuntimeError(
        _REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`. "
        "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition."
    )


def symeig(input: Tensor, eigenvectors: bool = False, upper: bool = True, *, out: Any = None):
    raise RuntimeError(
        _REMOVED + "The default behavior has changed from using the upper triangular portion of "
        "the matrix by default to using the lower triangular portion. Use torch.linalg.eigh or "
        "torch.linalg.eigvalsh."
    )


def eig(input: Tensor, eigenvectors: bool = False, *, out: Any = None) -> Any:
    raise RuntimeError(
        _REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
        "rather than real tensors mimicking complex tensors: use torch.linalg.eigvals or "
        "torch.linalg.eig."
    )


def matrix_rank(input: Tensor, tol: Any = None, symmetric: bool = False, *, out: Any = None):
    raise RuntimeError(
        _REMOVED + "Please use the `torch.linalg.matrix_rank` function instead. The parameter "
        "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'."
    )
