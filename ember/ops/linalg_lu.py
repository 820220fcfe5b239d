"""LU factorisation with partial pivoting (LAPACK getrf's result: packed L\\U, 1-based pivots)
and its differentiable primitives, and the triangular solve. All are twice differentiable: the
backward formulas are triangle masks, products and solves, which run on GraphArrays under
create_graph (the permutation and pivots stay constants)."""

from __future__ import annotations

import numpy as np

from ._util import Primitive, constant, unbroadcast
from .linalg_solve import mH, solve_or_nan

__all__ = ["lu_array", "perm_matrix", "LuFactor", "Lu", "SolveTriangular"]


def lu_array(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(LU, pivots, info)`` for a batch of (m, n) matrices, as LAPACK's getrf: the first
    largest |entry| of each column is the pivot; ``info`` is the first zero pivot (1-based)."""
    with np.errstate(all="ignore"):  # NaN/inf entries propagate, as in LAPACK
        return _lu_array(a)


def _lu_array(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    lu = a.reshape((-1, m, n)).copy()
    b, k = lu.shape[0], min(m, n)
    piv = np.zeros((b, k), dtype=np.int32)
    info = np.zeros(b, dtype=np.int32)
    rows = np.arange(b)
    for j in range(k):  # one column at a time, vectorised over the batch
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        top = lu[rows, j, :].copy()
        lu[rows, j, :] = lu[rows, p, :]
        lu[rows, p, :] = top
        pivot = lu[:, j, j]
        zero = pivot == 0
        info = np.where((info == 0) & zero, j + 1, info).astype(np.int32)
        lu[:, j + 1 :, j] /= np.where(zero, 1, pivot)[:, None]  # a zero column stays zero
        lu[:, j + 1 :, j + 1 :] -= lu[:, j + 1 :, j : j + 1] * lu[:, j : j + 1, j + 1 :]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def perm_matrix(piv: np.ndarray, m: int, dtype: np.dtype) -> np.ndarray:
    """P with A = P L U from getrf's row swaps."""
    flat = piv.reshape((-1, piv.shape[-1])) - 1
    perm = np.tile(np.arange(m), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        pj = flat[:, j]
        a, b = perm[rows, j].copy(), perm[rows, pj].copy()
        perm[rows, j], perm[rows, pj] = b, a
    p = np.zeros((flat.shape[0], m, m), dtype=dtype)
    p[rows[:, None], perm, np.arange(m)] = 1  # row perm[i] of A is row i of L U
    return p.reshape(piv.shape[:-1] + (m, m))


def _split(lu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, n = lu.shape[-2:]
    k = min(m, n)
    low = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    up = np.triu(lu[..., :k, :])
    return low, up


def _lu_backward(p, low, up, gl, gu) -> np.ndarray:
    """PyTorch's rule for square A = P L U: gA = P L^{-H} (tril(L^H gL, -1) + triu(gU U^H))
    U^{-H}."""
    if low.shape[-1] != up.shape[-1] or low.shape[-2] != up.shape[-1]:
        raise NotImplementedError(
            "ember differentiates linalg.lu / lu_factor of square matrices only"
        )
    phi = np.tril(mH(low) @ gl, -1) + np.triu(gu @ mH(up))
    x = solve_or_nan(mH(low), phi)
    return constant(p) @ mH(solve_or_nan(up, mH(x)))


class LuFactor(Primitive):
    non_differentiable = (1,)
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        lu, piv, _ = lu_array(a)
        ctx.save_for_backward(lu, piv)
        return lu, piv

    @staticmethod
    def backward(ctx, glu, gpiv):
        lu, piv = ctx.saved_tensors
        low, up = _split(lu)
        p = perm_matrix(constant(piv), lu.shape[-2], lu.dtype)
        return _lu_backward(p, low, up, np.tril(glu, -1), np.triu(glu))


class Lu(Primitive):
    non_differentiable = (0,)
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        lu, piv, _ = lu_array(a)
        low, up = _split(lu)
        p = perm_matrix(piv, a.shape[-2], a.dtype)
        ctx.save_for_backward(p, low, up)
        return p, low, up

    @staticmethod
    def backward(ctx, gp, gl, gu):
        p, low, up = ctx.saved_tensors
        return _lu_backward(p, low, up, gl, gu)


def _triangle(a: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    t = np.triu(a) if upper else np.tril(a)
    if unit:
        n = a.shape[-1]
        t = t * (1 - np.eye(n, dtype=a.dtype)) + np.eye(n, dtype=a.dtype)
    return t


def _solve_triangle(t: np.ndarray, b: np.ndarray, upper: bool) -> np.ndarray:
    """``T X = B`` for a triangular ``T``; a zero on the diagonal gives inf/nan as LAPACK's
    triangular solve (and so PyTorch) does, not NumPy's LinAlgError."""
    try:
        return np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        return _substitute(t, b, upper)


def _substitute(t: np.ndarray, b: np.ndarray, upper: bool) -> np.ndarray:
    """Back (``upper``) or forward substitution, one row of ``X`` at a time over the batch."""
    n = t.shape[-1]
    lead = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    x = np.empty(lead + b.shape[-2:], dtype=np.result_type(t, b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            done = slice(i + 1, n) if upper else slice(0, i)
            acc = b[..., i, :] - (t[..., i : i + 1, done] @ x[..., done, :])[..., 0, :]
            x[..., i, :] = acc / t[..., i, i, None]
    return x


class SolveTriangular(Primitive):
    """X with T X = B, T the ``upper``/lower triangle of A (unit diagonal if ``unit``)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, b, upper, unit):
        x = _solve_triangle(_triangle(a, upper, unit), b, upper)
        ctx.save_for_backward(a, x)  # (T is rebuilt from A in backward: on the graph too)
        ctx.meta = (a.shape, b.shape, upper, unit)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        sa, sb, upper, unit = ctx.meta
        gb = solve_or_nan(mH(_triangle(a, upper, unit)), g)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = -(gb @ mH(x))
            ga = np.triu(ga, 1 if unit else 0) if upper else np.tril(ga, -1 if unit else 0)
            ga = unbroadcast(ga, sa)
        return ga, unbroadcast(gb, sb), None, None
