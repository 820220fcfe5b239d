"""``ember.linalg``: PyTorch's ``torch.linalg`` over NumPy's LAPACK bindings.

Batched over leading dims, with PyTorch's result types (``slogdet`` returns a named tuple with
``sign`` and ``logabsdet``...), error types (``LinAlgError`` for singular or not
positive-definite matrices, a ``RuntimeError``) and, for real inputs, its gradients.
"""

from __future__ import annotations

from ._basic import (
    cross,
    det,
    diagonal,
    inv,
    inv_ex,
    lstsq,
    matrix_exp,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    slogdet,
    solve,
    solve_ex,
    vecdot,
)
from ._checks import LinAlgError
from ._decomp import (
    cholesky,
    cholesky_ex,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    qr,
    svd,
    svdvals,
)
from ._more import (
    cond,
    householder_product,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    matmul,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vander,
)
from ._norms import matrix_norm, norm, vector_norm

__all__ = [
    "LinAlgError",
    "cond",
    "householder_product",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "solve_triangular",
    "tensorinv",
    "tensorsolve",
    "vander",
    "cholesky",
    "cholesky_ex",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "inv_ex",
    "lstsq",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]
