"""Inverse, determinants, solves, pseudo-inverse, least squares, rank, powers, exponential,
cross and chained products: ``ember.linalg``'s functions that are not factorisations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._complex import conj
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..ops import linalg as _mm
from ..ops import reduction as R
from ..ops import shape as S
from ..ops._util import type_name
from ..ops.indexing import masked_fill
from ..ops.linalg_solve import (
    Cross,
    Det,
    Diagonal,
    Inv,
    MatrixExp,
    Pinv,
    Slogdet,
    Solve,
    svd_np,
)
from ._checks import (
    RETURN_TYPES,
    LinAlgError,
    batch_prefix,
    check_float,
    check_matrix,
    first_zero_pivot,
    refuse_complex_grad,
    singular_batch,
)

__all__ = [
    "inv",
    "inv_ex",
    "det",
    "slogdet",
    "solve",
    "solve_ex",
    "pinv",
    "lstsq",
    "matrix_rank",
    "matrix_power",
    "matrix_exp",
    "cross",
    "multi_dot",
    "vecdot",
    "diagonal",
]


def _singular_message(name: str, a: np.ndarray) -> str:
    i, k = singular_batch(a)
    where = batch_prefix(a, max(i, 0))
    if name == "linalg.inv":
        return (
            f"linalg.inv: {where}The diagonal element {k or a.shape[-1]} is zero, the inversion "
            "could not be completed because the input matrix is singular."
        )
    return f"torch.linalg.solve: {where}The solver failed because the input matrix is singular."


def inv(A: Tensor, *, out: Any = None) -> Tensor:
    """The inverse of a square matrix (or of each in a batch); LinAlgError if singular."""
    check_matrix("linalg.inv", A)
    refuse_complex_grad("linalg.inv", A)
    try:
        return Inv.apply(A)
    except np.linalg.LinAlgError:
        raise LinAlgError(_singular_message("linalg.inv", A._data)) from None


def _info_for(a: np.ndarray) -> np.ndarray:
    """LAPACK getrf's ``info`` per matrix of a batch (0: invertible)."""
    flat = a.reshape((-1,) + a.shape[-2:])
    return np.array([first_zero_pivot(m) for m in flat], dtype=np.int32).reshape(a.shape[:-2])


def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    """``(inverse, info)``: ``info`` is 0 where the matrix is invertible, else the index of the
    zero pivot; the inverse of a singular matrix is filled with NaN."""
    check_matrix("linalg.inv_ex", A)
    try:
        result = inv(A)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = _info_for(A._data)
        result = _wrap(_nan_where_failed(np.linalg.pinv, A._data, info))
    return RETURN_TYPES["linalg_inv_ex"](result, _wrap(info))


def _nan_where_failed(fn: Any, a: np.ndarray, info: np.ndarray) -> np.ndarray:
    """``fn`` per matrix where ``info`` is 0, NaN elsewhere (the result is undefined there)."""
    flat = a.reshape((-1,) + a.shape[-2:])
    ok = info.reshape(-1) == 0
    out = np.full(flat.shape, np.nan, dtype=a.dtype)
    if ok.any():
        out[ok] = fn(flat[ok])
    return out.reshape(a.shape)


def det(A: Tensor, *, out: Any = None) -> Tensor:
    """The determinant of a square matrix (or of each in a batch); differentiable, also at
    singular matrices."""
    check_matrix("linalg.det", A)
    refuse_complex_grad("linalg.det", A)
    return Det.apply(A)


def slogdet(A: Tensor, *, out: Any = None) -> Any:
    """``(sign, logabsdet)`` of the determinant; ``logabsdet`` is -inf for a singular matrix."""
    check_matrix("linalg.slogdet", A)
    refuse_complex_grad("linalg.slogdet", A)
    sign, logabs = Slogdet.apply(A)
    return RETURN_TYPES["linalg_slogdet"](sign, logabs)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) if 1-D, or if it is A's shape without the
    last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Any = None) -> Tensor:
    """The solution X of ``A X = B`` (``X A = B`` with ``left=False``); batches broadcast."""
    check_matrix("linalg.solve", A)
    if A.dtype is not B.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_tn(A)} and B of type {_tn(B)} instead"
        )
    refuse_complex_grad("linalg.solve", A, B)
    vector = _is_vector_rhs(A, B)
    if not left:
        # X A = B  <=>  A^T X^T = B^T
        A = S.transpose(A, -1, -2)
        B = B if vector else S.transpose(B, -1, -2)
    b = S.unsqueeze(B, -1) if vector else B
    n = A.shape[-1]
    if b.shape[-2] != n:
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{n} and {b.shape[-2]}x{b.shape[-1]})"
        )
    try:
        x = Solve.apply(A, b)
    except np.linalg.LinAlgError:
        raise LinAlgError(_singular_message("linalg.solve", A._data)) from None
    except ValueError as e:  # batch dims that do not broadcast
        raise RuntimeError(f"linalg.solve: {e}") from None
    if vector:
        return S.squeeze(x, -1)
    return x if left else S.transpose(x, -1, -2)


def _tn(t: Tensor) -> str:
    return type_name(t.dtype)


def solve_ex(
    A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: Any = None
) -> Any:
    """``(result, info)``: like ``solve`` but reports singular matrices in ``info``."""
    check_matrix("linalg.solve_ex", A)
    try:
        result = solve(A, B, left=left)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = _info_for(A._data)
        shape = np.broadcast_shapes(A.shape[:-2], B.shape[: -1 if _is_vector_rhs(A, B) else -2])
        shape = shape + (tuple(B.shape[-1:]) if _is_vector_rhs(A, B) else tuple(B.shape[-2:]))
        result = _wrap(np.full(shape, np.nan, dtype=A._data.dtype))
    return RETURN_TYPES["linalg_solve_ex"](result, _wrap(info))


def _default_rtol(A: Tensor, atol: Any, rtol: Any) -> tuple[float, float]:
    """PyTorch's tolerances: rtol defaults to eps * max(m, n), or 0 when only atol is given."""
    eps = float(np.finfo(A._data.real.dtype).eps)
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else eps * max(A.shape[-2:])
    return float(atol or 0.0), float(rtol)


def pinv(
    A: Tensor,
    rcond: float | None = None,
    hermitian: bool = False,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    out: Any = None,
) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values <= max(atol, rtol * largest) are dropped.
    ``rcond`` is the older name of ``rtol``."""
    check_matrix("linalg.pinv", A, square=False)
    refuse_complex_grad("linalg.pinv", A)
    if rcond is not None:
        rtol = rcond
    atol_f, rtol_f = _default_rtol(A, atol, rtol)
    return Pinv.apply(A, atol_f, rtol_f, bool(hermitian))


def matrix_rank(
    A: Tensor,
    tol: float | None = None,
    hermitian: bool = False,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    out: Any = None,
) -> Tensor:
    """Number of singular values > max(atol, rtol * largest) (int64); ``tol`` is ``atol``."""
    check_matrix("linalg.matrix_rank", A, square=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol_f, rtol_f = _default_rtol(A, atol, rtol)
    a = A._data
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(a))
    else:
        s = svd_np(a, compute_uv=False)
    tol_v = np.maximum(atol_f, rtol_f * s.max(axis=-1, initial=0.0))[..., None]
    return _wrap(np.asarray((s > tol_v).sum(axis=-1), dtype=np.int64))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """Least-squares solution of ``A X = B`` (the minimum-norm one for rank-deficient A).

    ``(solution, residuals, rank, singular_values)`` as PyTorch's CPU drivers fill them:
    residuals for m > n and full rank (not with 'gelsy'), rank except with 'gels', singular
    values with 'gelsd'/'gelss'. The gradient flows through the pseudo-inverse.
    """
    check_matrix("linalg.lstsq", A, square=False)
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    if A.dtype is not B.dtype:
        raise RuntimeError(
            f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {_tn(A)} and other's dtype {_tn(B)}"
        )
    refuse_complex_grad("linalg.lstsq", A, B)
    vector = B.ndim == A.ndim - 1
    b = S.unsqueeze(B, -1) if vector else B
    if b.shape[-2] != A.shape[-2]:
        raise RuntimeError(
            "torch.linalg.lstsq: input.size(-2) should match other.size(-2), but got "
            f"{A.shape[-2]} and {b.shape[-2]}"
        )
    m, n = A.shape[-2:]
    rtol = (
        rcond if rcond is not None and rcond > 0 else float(np.finfo(A._data.dtype).eps) * max(m, n)
    )
    x = _mm.matmul(Pinv.apply(A, 0.0, rtol, False), b)
    rank = matrix_rank(A, rtol=rtol)
    empty = _wrap(np.zeros((0,), dtype=A._data.real.dtype))
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank._data == n).all()):
        r = _mm.matmul(A, x) - b
        residuals = R.sum(r * r, -2)
        if vector:
            residuals = S.squeeze(residuals, -1)
    if driver == "gels":
        rank = _wrap(np.zeros((0,), dtype=np.int64))
    sv = empty
    if driver in ("gelsd", "gelss"):
        sv = _wrap(svd_np(A._data, compute_uv=False).astype(A._data.real.dtype))
    sol = S.squeeze(x, -1) if vector else x
    return RETURN_TYPES["linalg_lstsq"](sol, residuals, rank, sv)


def matrix_power(A: Tensor, n: int, *, out: Any = None) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``inv(A)`` powers for negative ``n``)."""
    check_matrix("linalg.matrix_power", A, floating=False)
    if n == 0:
        # The identity, still connected to A (with a zero gradient) as PyTorch's is.
        eye = _wrap(np.eye(A.shape[-1], dtype=A._data.dtype))
        return masked_fill(A, _wrap(np.ones((), dtype=bool)), 0) + eye
    base = inv(A) if n < 0 else A
    n = abs(int(n))
    result = None
    while n:  # binary powering: log2(n) products
        if n & 1:
            result = base if result is None else _mm.matmul(result, base)
        n >>= 1
        if n:
            base = _mm.matmul(base, base)
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential (scaling and squaring with a [13/13] Pade approximant)."""
    check_matrix("linalg.matrix_exp", A, floating=False)
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        check_float("linalg.matrix_exp", A)  # PyTorch computes half precision too
    refuse_complex_grad("linalg.matrix_exp", A)
    return MatrixExp.apply(A)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Any = None) -> Tensor:
    """Cross product of 3-vectors along ``dim``; batch dims broadcast."""
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_tn(input)} but found {_tn(other)}")
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got "
            f"{input.shape[dim]} and {other.shape[dim]}"
        )
    return Cross.apply(input, other, dim)


def multi_dot(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    """The product of a chain of matrices (the first may be a row vector, the last a column)."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    first, last = tensors[0], tensors[-1]
    if first.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first.ndim}D")
    if last.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last.ndim}D")
    for k, t in enumerate(tensors[1:-1], 1):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {k} must be 2D but got {t.ndim}D")
    mats = [S.unsqueeze(first, 0) if first.ndim == 1 else first]
    mats += list(tensors[1:-1]) + [S.unsqueeze(last, -1) if last.ndim == 1 else last]
    for k in range(n - 1):
        if mats[k].shape[-1] != mats[k + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {k} and {k + 1} with shapes {list(tensors[k].shape)} and "
                f"{list(tensors[k + 1].shape)} cannot be multiplied"
            )
    result = mats[0]
    for m in mats[1:]:
        result = _mm.matmul(result, m)
    if last.ndim == 1:
        result = S.squeeze(result, -1)
    if first.ndim == 1:
        result = S.squeeze(result, 0)
    return result


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Any = None) -> Tensor:
    """``sum(conj(x) * y)`` along ``dim``, batch dims broadcast."""
    if x.dtype.is_complex:
        x = conj(x)
    return R.sum(x * y, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of each matrix (a view), as ``torch.diagonal`` with matrix dims last."""
    from .._tensor import _wrap_dim

    return Diagonal.apply(A, int(offset), _wrap_dim(dim1, A.ndim), _wrap_dim(dim2, A.ndim))


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
