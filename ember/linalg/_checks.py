"""Argument checks and errors shared by ``ember.linalg``, worded as PyTorch's."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ..ops._util import type_name
from ..ops.linalg_solve import LinAlgError

__all__ = ["LinAlgError"]


def _rt(name: str, fields: list) -> type:
    """A named tuple class printed and named as ``torch.return_types.<name>``."""
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__})
    cls.__module__ = "ember.return_types"
    return cls


RETURN_TYPES = {
    name: _rt(name, fields)
    for name, fields in {
        "linalg_slogdet": ["sign", "logabsdet"],
        "slogdet": ["sign", "logabsdet"],
        "linalg_qr": ["Q", "R"],
        "linalg_svd": ["U", "S", "Vh"],
        "linalg_eigh": ["eigenvalues", "eigenvectors"],
        "linalg_eig": ["eigenvalues", "eigenvectors"],
        "linalg_lstsq": ["solution", "residuals", "rank", "singular_values"],
        "linalg_inv_ex": ["inverse", "info"],
        "linalg_cholesky_ex": ["L", "info"],
        "linalg_solve_ex": ["result", "info"],
    }.items()
}


def check_float(name: str, a: Tensor) -> None:
    """linalg routines take float32/float64/complex tensors only."""
    dt = a.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(
            f"{name}: Expected a floating point or complex tensor as input. Got {type_name(dt)}"
        )
    if dt in (D.float16, D.bfloat16):
        kernel = _HALF_KERNELS.get(name)
        if kernel:  # PyTorch fails in the LAPACK kernel's dtype dispatch for these
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name(dt)}'")
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {type_name(dt)}")


_HALF_KERNELS = {
    "linalg.det": "lu_cpu",
    "linalg.solve": "lu_cpu",
    "linalg.solve_ex": "lu_cpu",
    "linalg.cholesky": "cholesky_cpu",
    "linalg.cholesky_ex": "cholesky_cpu",
    "linalg.qr": "geqrf_cpu",
    "linalg.svd": "linalg_svd_cpu",
    "linalg.svdvals": "linalg_svd_cpu",
    "linalg.eigh": "linalg_eigh_cpu",
    "linalg.eigvalsh": "linalg_eigh_cpu",
    "linalg.eig": "linalg_eig_out_cpu",
    "linalg.eigvals": "linalg_eig_out_cpu",
}


def check_matrix(name: str, a: Tensor, square: bool = True, floating: bool = True) -> None:
    """At least 2 dims, square when asked, and a dtype linalg supports."""
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices"
        )
    if floating:
        check_float(name, a)


def refuse_complex_grad(name: str, *tensors: Tensor) -> None:
    """ember's linalg gradients are real-only: refuse a complex input that wants one."""
    if STATE.enabled and any(t.dtype.is_complex and t.requires_grad for t in tensors):
        raise NotImplementedError(
            f"{name}: ember does not differentiate linear algebra on complex tensors "
            "(see docs/differences.md); detach the input or use a real one"
        )


def batch_prefix(a: np.ndarray, index: int) -> str:
    """'(Batch element k): ' for a batched input, '' for a single matrix."""
    return f"(Batch element {index}): " if a.ndim > 2 else ""


def first_zero_pivot(m: np.ndarray) -> int:
    """1-based index of the first exactly-zero pivot of LU with partial pivoting (LAPACK getrf's
    ``info``), 0 if none. Used only to word the error for a singular matrix."""
    u = np.array(m, dtype=np.complex128 if m.dtype.kind == "c" else np.float64)
    n = u.shape[-1]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            first = first or k + 1
            continue
        u[[k, p]] = u[[p, k]]
        u[k + 1 :, k:] -= np.outer(u[k + 1 :, k] / u[k, k], u[k, k:])
    return first


def singular_batch(a: np.ndarray) -> tuple[int, int]:
    """(batch index, pivot index) of the first singular matrix in a batch, pivot 0 if none."""
    flat = a.reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(flat):
        k = first_zero_pivot(m)
        if k:
            return i, k
    return -1, 0


def not_pd_minor(m: np.ndarray) -> int:
    """Order of the first leading minor of ``m`` that is not positive-definite (0 if none)."""
    for k in range(1, m.shape[-1] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0
