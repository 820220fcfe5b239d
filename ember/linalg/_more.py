"""LU factorisation and solves, triangular solves, condition numbers, tensor inverses and
solves, Vandermonde matrices: the rest of ``torch.linalg``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..ops import linalg as _mm
from ..ops import reduction as R
from ..ops import shape as S
from ..ops.join import cat
from ..ops.linalg_lu import Lu, LuFactor, SolveTriangular
from . import _basic, _norms
from ._checks import _rt, check_matrix, refuse_complex_grad

__all__ = [
    "householder_product",
    "lu_factor",
    "lu_factor_ex",
    "lu",
    "lu_solve",
    "solve_triangular",
    "cond",
    "tensorinv",
    "tensorsolve",
    "vander",
    "matmul",
]

_LU_FACTOR = _rt("linalg_lu_factor", ["LU", "pivots"])
_LU_FACTOR_EX = _rt("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_LU = _rt("linalg_lu", ["P", "L", "U"])


def _check_pivot(pivot: bool) -> None:
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def lu_factor_ex(
    A: Tensor, *, pivot: bool = True, check_errors: bool = False, out: Any = None
) -> Any:
    """``(LU, pivots, info)``: LAPACK's packed factorisation, 1-based int32 pivots, and the
    first zero pivot in ``info`` (0 if none)."""
    check_matrix("linalg.lu_factor_ex", A, square=False)
    _check_pivot(pivot)
    refuse_complex_grad("linalg.lu_factor", A)
    lu, piv = LuFactor.apply(A)
    # getrf's info: the first exactly-zero pivot, i.e. the first zero on U's diagonal.
    zero = np.diagonal(lu._data, 0, -2, -1) == 0
    info = np.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32)
    if check_errors and info.any():
        raise _singular_lu(info)
    return _LU_FACTOR_EX(lu, piv, _wrap(info))


def _singular_lu(info: np.ndarray) -> RuntimeError:
    k = int(info.reshape(-1)[np.flatnonzero(info.reshape(-1))[0]])
    return RuntimeError(
        f"torch.linalg.lu_factor: U[{k},{k}] is zero and using it on lu_solve would result in "
        "a division by zero. If you still want to perform the factorization, consider calling "
        "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
    )


def lu_factor(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(LU, pivots)``; RuntimeError when a pivot is exactly zero (use ``lu_factor_ex``)."""
    check_matrix("linalg.lu_factor", A, square=False)
    _check_pivot(pivot)
    lu, piv, info = lu_factor_ex(A)
    if info._data.any():
        raise _singular_lu(info._data)
    return _LU_FACTOR(lu, piv)


def lu(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(P, L, U)`` with ``A = P L U``, L unit lower triangular (m x k), U upper (k x n)."""
    check_matrix("linalg.lu", A, square=False)
    _check_pivot(pivot)
    refuse_complex_grad("linalg.lu", A)
    p, low, up = Lu.apply(A)
    return _LU(p, low, up)


def _unpack(LU: Tensor, pivots: Tensor) -> Tensor:
    """A = P L U rebuilt from a packed factorisation (differentiable in LU)."""
    from ..ops.linalg_lu import perm_matrix

    n = LU.shape[-1]
    eye = _wrap(np.eye(n, dtype=LU._data.dtype))
    low = S.tril(LU, -1) + eye
    p = _wrap(perm_matrix(pivots._data, n, LU._data.dtype))
    return _mm.matmul(p, _mm.matmul(low, S.triu(LU)))


def lu_solve(
    LU: Tensor,
    pivots: Tensor,
    B: Tensor,
    *,
    left: bool = True,
    adjoint: bool = False,
    out: Any = None,
) -> Tensor:
    """The solution of ``A X = B`` (``X A = B`` with ``left=False``, ``A^H`` with ``adjoint``)
    from ``lu_factor``'s result."""
    check_matrix("linalg.lu_solve", LU)
    A = _unpack(LU, pivots)
    if adjoint:
        A = A.mH
    return _basic.solve(A, B, left=left)


def solve_triangular(
    A: Tensor,
    B: Tensor,
    *,
    upper: bool,
    left: bool = True,
    unitriangular: bool = False,
    out: Any = None,
) -> Tensor:
    """The solution of ``T X = B`` (``X T = B`` with ``left=False``) for T the upper or lower
    triangle of A (with a unit diagonal when ``unitriangular``); the other triangle is ignored."""
    check_matrix("linalg.solve_triangular", A)
    refuse_complex_grad("linalg.solve_triangular", A, B)
    if left:
        return SolveTriangular.apply(A, B, bool(upper), bool(unitriangular))
    # X T = B  <=>  T^T X^T = B^T, and T^T is triangular the other way
    at, bt = S.transpose(A, -1, -2), S.transpose(B, -1, -2)
    x = SolveTriangular.apply(at, bt, not upper, bool(unitriangular))
    return S.transpose(x, -1, -2)


def cond(A: Tensor, p: Any = None, *, out: Any = None) -> Tensor:
    """The condition number: ratio of extreme singular values for p in (None, 2, -2), else
    ``norm(A, p) * norm(inv(A), p)`` (square A)."""
    if p in (None, 2, -2):
        check_matrix("linalg.cond", A, square=False)
        from ..ops.linalg_decomp import Svdvals

        s = Svdvals.apply(A)
        hi, lo = R.amax(s, -1), R.amin(s, -1)
        with np.errstate(divide="ignore", invalid="ignore"):  # singular: inf (or NaN), no warning
            return hi / lo if p != -2 else lo / hi
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    check_matrix(f"linalg.cond(ord={p})", A)
    return _norms.matrix_norm(A, p) * _norms.matrix_norm(_basic.inv(A), p)


def tensorinv(A: Tensor, ind: int = 2, *, out: Any = None) -> Tensor:
    """The inverse of A for ``tensordot(A, X, ind)``: shape ``A.shape[ind:] + A.shape[:ind]``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    m, n = math.prod(rows), math.prod(cols)
    if m != n:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {n} != {m}"
        )
    return S.reshape(_basic.inv(S.reshape(A, (m, n))), cols + rows)


def tensorsolve(A: Tensor, B: Tensor, dims: Any = None, *, out: Any = None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) = B``; ``dims`` of A move to the end first."""
    if dims is not None:
        nd = A.ndim
        dims = [d % nd for d in dims]
        order = [d for d in range(nd) if d not in dims] + dims
        A = S.permute(A, tuple(order))
    rest = tuple(A.shape[B.ndim :])
    m, n = B.numel(), math.prod(rest)
    a = S.reshape(A, (m, n))
    return S.reshape(_basic.solve(a, S.reshape(B, (m,))), rest)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - torch's name
    """Rows ``[1, x, x^2, ..., x^(N-1)]`` for each element along the last dim of ``x``."""
    n = (x.shape[-1] if x.ndim else 0) if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = _wrap(np.ones(tuple(x.shape) + (1,), dtype=x._data.dtype))
    powers = R.cumprod(S.expand(S.unsqueeze(x, -1), tuple(x.shape) + (n - 1,)), -1)
    return cat([ones, powers], -1)


def householder_product(A: Tensor, tau: Tensor, *, out: Any = None) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H, v_i the i-th column of A
    below the diagonal with a 1 on it (LAPACK's orgqr): Q from ``geqrf``'s output."""
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    k = tau.shape[-1] if tau.ndim else 0
    if m < n:
        raise RuntimeError(
            f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    if n < k:
        raise RuntimeError(
            f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{list(tau.shape[:-1])}"
        )
    refuse_complex_grad("linalg.householder_product", A, tau)
    dt = A._data.dtype
    q = _wrap(np.broadcast_to(np.eye(m, n, dtype=dt), tuple(A.shape)).copy())
    below = S.tril(A, -1)
    for i in range(k - 1, -1, -1):  # Q = H_1 (H_2 (... (H_k E)))
        v = below[..., :, i] + _wrap(np.eye(m, dtype=dt)[i])
        vq = _mm.matmul(S.unsqueeze(v, -2), q)  # v^T Q: (..., 1, n)
        t = S.unsqueeze(S.unsqueeze(tau[..., i], -1), -1)
        q = q - t * (S.unsqueeze(v, -1) * vq)
    return q


def matmul(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The matrix product (``torch.matmul``)."""
    return _mm.matmul(input, other)


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
