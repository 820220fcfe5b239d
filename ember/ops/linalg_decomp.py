"""Differentiable factorisations: Cholesky, QR, SVD and the symmetric eigendecomposition.

Batched over leading dims (NumPy's ``linalg`` is). The backward formulas are PyTorch's
(``FunctionsManual.cpp``); ember promises (and tests) them for real inputs. Several-output
primitives receive zeros for the outputs a loss did not use, so each backward checks whether a
gradient is all zeros before using the parts of the formula that divide by eigenvalue gaps.

All are twice differentiable: under create_graph the formulas run on GraphArrays (their solves
through ``Solve``); ``Svdvals`` and ``Eigvalsh``, which keep no singular/eigen vectors as
outputs, recompute them on the graph with ``Svd`` and ``Eigh``.
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive, on_graph
from .linalg_solve import mH, solve_or_nan, svd_np

__all__ = ["Cholesky", "Qr", "Svd", "Svdvals", "Eigh", "Eigvalsh"]


def _solve_right(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X with X A = B."""
    return mH(solve_or_nan(mH(a), mH(b)))


class Cholesky(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, upper):
        low = np.linalg.cholesky(a)
        out = mH(low).copy() if upper else low
        ctx.save_for_backward(out)  # the output itself: on the graph under create_graph
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        low, gl = (mH(out), mH(g)) if ctx.upper else (out, g)
        # gA = L^{-H} Phi(L^H gL) L^{-1}, Phi = lower triangle with the diagonal halved.
        p = np.tril(mH(low) @ gl)
        p = 0.5 * (p + mH(np.tril(p, -1)))
        return _solve_right(low, np.linalg.solve(mH(low), p)), None


def _copyltu(m: np.ndarray) -> np.ndarray:
    """The symmetric matrix with ``m``'s lower triangle."""
    return np.tril(m) + mH(np.tril(m, -1))


def _qr_backward_tall(q, r, gq, gr):
    """A = QR with m >= n (reduced): gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q."""
    m = r @ mH(gr) - mH(gq) @ q
    return _solve_right(mH(r), gq + q @ _copyltu(m))


class Qr(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, mode):
        q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.save_for_backward(a, q, r)
        ctx.mode = mode
        if mode == "r":
            q = np.zeros((0,), dtype=a.dtype)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        a, q, r = ctx.saved_tensors
        m, n = a.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        if m >= n:
            return _qr_backward_tall(q, r, gq, gr), None
        # Wide A = [X | Y], R = [U | V]: X = QU is square, Y = QV.
        y, gu, gv = a[..., m:], gr[..., :m], gr[..., m:]
        gx = _qr_backward_tall(q, r[..., :m], gq + y @ mH(gv), gu)
        return np.concatenate([gx, q @ gv], axis=-1), None


class Svd(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = svd_np(a, full_matrices=full_matrices)
        s = s.astype(a.real.dtype, copy=False)
        ctx.save_for_backward(u, s, vh)
        ctx.full = full_matrices
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        if ctx.full:
            # As PyTorch: only the first k singular vectors (k = len(S)) are differentiated;
            # the completing ones are not unique.
            k = s.shape[-1]
            u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
        use_u, use_v = bool(np.any(gu)), bool(np.any(gvh))
        return svd_backward(u, s, vh, gu if use_u else None, gs, gvh if use_v else None), None


def svd_backward(u, s, vh, gu, gs, gvh) -> np.ndarray:
    """PyTorch's svd_backward for the reduced SVD A = U diag(S) Vh (real inputs). Repeated or
    zero singular values make the singular vectors' gradient infinite, as in PyTorch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _svd_backward(u, s, vh, gu, gs, gvh)


def _svd_backward(u, s, vh, gu, gs, gvh) -> np.ndarray:
    m, n = u.shape[-2], vh.shape[-1]
    if gu is None and gvh is None:
        return (u * gs[..., None, :]) @ vh
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None]
    k = s.shape[-1]
    e[..., np.arange(k), np.arange(k)] = 1
    ga = np.zeros(s.shape[:-1] + (k, k), dtype=u.dtype)
    if gu is not None:
        uhgu = mH(u) @ gu
        ga = ga + (uhgu - mH(uhgu)) / e * s[..., None, :]
    if gvh is not None:
        vhgv = vh @ mH(gvh)
        ga = ga + s[..., :, None] * ((vhgv - mH(vhgv)) / e)
    ga = ga + gs[..., None, :] * np.eye(k, dtype=u.dtype)
    if m > n and gu is not None:
        gus = gu / s[..., None, :]
        ga = u @ ga + gus - u @ (mH(u) @ gus)
        return ga @ vh
    if m < n and gvh is not None:
        sgv = gvh / s[..., :, None]
        ga = ga @ vh + sgv - (sgv @ mH(vh)) @ vh
        return u @ ga
    return u @ ga @ vh


class Svdvals(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        u, s, vh = svd_np(a)
        ctx.save_for_backward(a, u, vh)
        return s.astype(a.real.dtype, copy=False)

    @staticmethod
    def backward(ctx, gs):
        a, u, vh = ctx.saved_tensors
        if on_graph(a):  # U and Vh depend on A: the differentiable SVD recomputes them
            u, _, vh = a.apply(Svd, False)
        return (u * gs[..., None, :]) @ vh


def _eigh_backward(w, v, gw, gv):
    """gA = V (diag(gw) + skew(V^H gV) / E) V^H with E_ij = w_j - w_i (PyTorch's eigh rule)."""
    if gv is None:
        inner = gw[..., None, :] * np.eye(gw.shape[-1], dtype=v.dtype)
    else:
        vhgv = mH(v) @ gv
        vhgv = 0.5 * (vhgv - mH(vhgv))
        e = w[..., None, :] - w[..., :, None]
        n = w.shape[-1]
        e[..., np.arange(n), np.arange(n)] = 1
        with np.errstate(divide="ignore", invalid="ignore"):  # repeated eigenvalues: inf, as torch
            inner = vhgv / e
        inner[..., np.arange(n), np.arange(n)] = gw
    return v @ inner @ mH(v)


def _uplo_eigh(a: np.ndarray, uplo: str):
    return np.linalg.eigh(a, UPLO=uplo)


class Eigh(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _uplo_eigh(a, uplo)
        w = w.astype(a.real.dtype, copy=False)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        return _eigh_backward(w, v, gw, gv if np.any(gv) else None), None


class Eigvalsh(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _uplo_eigh(a, uplo)
        ctx.save_for_backward(a, v)
        ctx.uplo = uplo
        return w.astype(a.real.dtype, copy=False)

    @staticmethod
    def backward(ctx, gw):
        a, v = ctx.saved_tensors
        if on_graph(a):  # V depends on A: the differentiable Eigh recomputes it
            _, v = a.apply(Eigh, ctx.uplo)
        return _eigh_backward(None, v, gw, None), None
