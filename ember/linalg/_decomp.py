"""Factorisations of ``ember.linalg``: Cholesky, QR, SVD, symmetric and general eigenproblems."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE
from ..ops.linalg_decomp import Cholesky, Eigh, Eigvalsh, Qr, Svd, Svdvals
from ._checks import (
    RETURN_TYPES,
    LinAlgError,
    batch_prefix,
    check_matrix,
    not_pd_minor,
    refuse_complex_grad,
)

__all__ = [
    "cholesky",
    "cholesky_ex",
    "qr",
    "svd",
    "svdvals",
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
]


def _not_pd(name: str, a: np.ndarray) -> LinAlgError:
    flat = a.reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(flat):
        k = not_pd_minor(m)
        if k:
            return LinAlgError(
                f"{name}: {batch_prefix(a, i)}The factorization could not be completed because "
                f"the input is not positive-definite (the leading minor of order {k} is not "
                "positive-definite)."
            )
    return LinAlgError(f"{name}: The factorization could not be completed.")


def cholesky(A: Tensor, *, upper: bool = False, out: Any = None) -> Tensor:
    """L with ``A = L L^H`` (``U = L^H`` with ``upper=True``) for Hermitian positive-definite A.
    Only the lower triangle of A is read."""
    check_matrix("linalg.cholesky", A)
    refuse_complex_grad("linalg.cholesky", A)
    try:
        return Cholesky.apply(A, bool(upper))
    except np.linalg.LinAlgError:
        raise _not_pd("linalg.cholesky", A._data) from None


def cholesky_ex(
    A: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None
) -> Any:
    """``(L, info)``: ``info`` is 0 where A is positive-definite, else the order of the first
    leading minor that is not; L of such a matrix is filled with NaN."""
    check_matrix("linalg.cholesky_ex", A)
    try:
        low = cholesky(A, upper=upper)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        flat = A._data.reshape((-1,) + A.shape[-2:])
        info = np.array([not_pd_minor(m) for m in flat], dtype=np.int32)
        out_a = np.full(flat.shape, np.nan, dtype=flat.dtype)
        ok = info == 0
        if ok.any():
            fac = np.linalg.cholesky(flat[ok])
            out_a[ok] = np.swapaxes(fac, -1, -2).conj() if upper else fac
        low = _wrap(out_a.reshape(A.shape))
        info = info.reshape(A.shape[:-2])
    return RETURN_TYPES["linalg_cholesky_ex"](low, _wrap(info))


def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    """``(Q, R)`` with ``A = QR``; mode 'reduced', 'complete' or 'r' (Q is then empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    check_matrix("linalg.qr", A, square=False)
    refuse_complex_grad("linalg.qr", A)
    q, r = Qr.apply(A, mode)
    return RETURN_TYPES["linalg_qr"](q, r)


def _check_driver(driver: Any) -> None:
    if driver is not None:
        raise RuntimeError(
            "torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
            "with cuSOLVER backend."
        )


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None, out: Any = None) -> Any:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, S descending. Differentiable; with
    ``full_matrices=True`` only the first ``len(S)`` singular vectors carry gradient."""
    check_matrix("linalg.svd", A, square=False)
    _check_driver(driver)
    refuse_complex_grad("linalg.svd", A)
    u, s, vh = Svd.apply(A, bool(full_matrices))
    return RETURN_TYPES["linalg_svd"](u, s, vh)


def svdvals(A: Tensor, *, driver: Any = None, out: Any = None) -> Tensor:
    """The singular values of A, descending (differentiable)."""
    check_matrix("linalg.svdvals", A, square=False)
    _check_driver(driver)
    refuse_complex_grad("linalg.svdvals", A)
    return Svdvals.apply(A)


def _check_uplo(UPLO: str) -> str:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:  # noqa: N803 - torch's name
    """``(eigenvalues, eigenvectors)`` of a Hermitian matrix, eigenvalues ascending; only the
    ``UPLO`` triangle of A is read."""
    check_matrix("linalg.eigh", A)
    refuse_complex_grad("linalg.eigh", A)
    w, v = Eigh.apply(A, _check_uplo(UPLO))
    return RETURN_TYPES["linalg_eigh"](w, v)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Tensor:  # noqa: N803
    """The eigenvalues of a Hermitian matrix, ascending (differentiable)."""
    check_matrix("linalg.eigvalsh", A)
    refuse_complex_grad("linalg.eigvalsh", A)
    return Eigvalsh.apply(A, _check_uplo(UPLO))


def _complex_of(a: np.ndarray) -> np.dtype:
    return np.dtype(np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128)


def _refuse_eig_grad(name: str, A: Tensor) -> None:
    if STATE.enabled and A.requires_grad:
        raise NotImplementedError(
            f"{name}: ember does not differentiate the general eigendecomposition (its results "
            "are complex); call it under no_grad() or on a detached tensor, or use eigh for a "
            "symmetric matrix"
        )


def _check_finite(A: Tensor) -> None:
    if not np.isfinite(A._data).all():
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")


def eig(A: Tensor, *, out: Any = None) -> Any:
    """``(eigenvalues, eigenvectors)`` of a square matrix, always complex (not differentiable
    in ember)."""
    check_matrix("linalg.eig", A)
    _refuse_eig_grad("linalg.eig", A)
    _check_finite(A)
    w, v = np.linalg.eig(A._data)
    ct = _complex_of(A._data)
    return RETURN_TYPES["linalg_eig"](_wrap(w.astype(ct)), _wrap(v.astype(ct)))


def eigvals(A: Tensor, *, out: Any = None) -> Tensor:
    """The eigenvalues of a square matrix, complex (not differentiable in ember)."""
    check_matrix("linalg.eigvals", A)
    _refuse_eig_grad("linalg.eigvals", A)
    _check_finite(A)
    return _wrap(np.linalg.eigvals(A._data).astype(_complex_of(A._data)))


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
