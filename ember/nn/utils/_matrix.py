"""The matrix functions behind ``parametrizations.orthogonal``: ``matrix_exp`` and ``solve``
(ember.linalg's, called here) and ``householder_product`` (a composite).

They work on the last two dimensions and broadcast over the leading ones, as ``torch.linalg``.
"""

from __future__ import annotations

from ... import _creation as C
from ..._tensor import Tensor
from ...ops import shape as S

__all__ = ["matrix_exp", "solve", "householder_product"]


def matrix_exp(a: Tensor) -> Tensor:
    """The matrix exponential of ``a`` ``(..., n, n)`` (``torch.linalg.matrix_exp``)."""
    from ...linalg import matrix_exp as _matrix_exp  # (ember.linalg loads on first use)

    return _matrix_exp(a)


def solve(a: Tensor, b: Tensor) -> Tensor:
    """``X`` with ``a @ X = b`` (``a`` ``(..., n, n)``, ``b`` ``(..., n, k)``)."""
    from ...linalg import solve as _solve

    return _solve(a, b)


def householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first ``n`` columns of ``H_1 ... H_k`` with ``H_i = I - tau_i v_i v_i^T``, where
    ``v_i`` is column ``i`` of ``a`` ``(..., m, n)`` below the diagonal with a 1 on it."""
    m, n = a.shape[-2], a.shape[-1]
    k = tau.shape[-1]
    v_all = S.tril(a, -1) + C.eye(m, n, dtype=a.dtype)
    q = C.eye(m, dtype=a.dtype)
    for i in range(k):
        v = v_all[..., :, i : i + 1]
        t = S.unsqueeze(S.unsqueeze(tau[..., i], -1), -1)
        q = q - t * ((q @ v) @ S.transpose(v, -1, -2))
    return q[..., :, :n]
