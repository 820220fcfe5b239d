"""The matrix functions behind ``parametrizations.orthogonal``: ``matrix_exp`` and ``solve``
(primitives with hand-written gradients) and ``householder_product`` (a composite).

They work on the last two dimensions and broadcast over the leading ones, as ``torch.linalg``.
"""

from __future__ import annotations

import numpy as np

from ... import _creation as C
from ..._tensor import Tensor
from ...autograd.function import Primitive
from ...ops import shape as S

__all__ = ["matrix_exp", "solve", "householder_product"]

# Pade [13/13] coefficients and the norm bound of Higham (2005), "The scaling and squaring
# method for the matrix exponential revisited".
_B = (
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
)
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """exp of each square matrix of ``a`` (float64 inside), by scaling and squaring."""
    dt = a.dtype
    a = a.astype(np.float64)
    norm = np.abs(a).sum(-2).max(-1).max(initial=0.0)
    s = max(0, int(np.ceil(np.log2(norm / _THETA13)))) if norm > 0 else 0
    a = a / 2.0**s
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    b = _B
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)  # fmt: skip
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    x = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        x = x @ x
    return x.astype(dt)


class MatrixExp(Primitive):
    """``exp(A)`` of square matrices. Backward uses the block identity
    ``expm([[A^T, G], [0, A^T]]) = [[., dA], [0, .]]`` (Najfeld and Havel)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _expm(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        at = np.swapaxes(a, -1, -2)
        shape = np.broadcast_shapes(a.shape, g.shape)
        big = np.zeros((*shape[:-2], 2 * n, 2 * n), dtype=np.result_type(a, g))
        big[..., :n, :n] = at
        big[..., n:, n:] = at
        big[..., :n, n:] = g
        return _expm(big)[..., :n, n:]


class Solve(Primitive):
    """``X`` with ``A @ X = B`` for square ``A`` (``B`` a matrix or batch of matrices)."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError as err:
            raise RuntimeError(
                "linalg.solve: The solver failed because the input matrix is singular."
            ) from err
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = np.linalg.solve(np.swapaxes(a, -1, -2), g)
        ga = -(gb @ np.swapaxes(x, -1, -2))
        return ga, gb


def matrix_exp(a: Tensor) -> Tensor:
    """The matrix exponential of ``a`` ``(..., n, n)``."""
    if a.dim() < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_exp: A must be batches of square matrices, but they are "
            f"{a.shape[-2] if a.dim() > 1 else 1} by {a.shape[-1]} matrices"
        )
    return MatrixExp.apply(a)


def solve(a: Tensor, b: Tensor) -> Tensor:
    """``X`` with ``a @ X = b`` (``a`` ``(..., n, n)``, ``b`` ``(..., n, k)``)."""
    return Solve.apply(a, b)


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
