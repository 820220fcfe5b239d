"""Differentiable matrix functions that need no factorisation in their backward: inverse,
determinant, log-determinant, solve, pseudo-inverse, matrix exponential and cross product.

Every op works on batches of matrices (leading dims). The backward formulas are PyTorch's
(``FunctionsManual.cpp``), written with conjugate transposes so they read as in the complex
case; ember only promises (and tests) them for real inputs. All are twice differentiable: under
create_graph the same formulas run on GraphArrays, their solves through ``Solve`` itself.
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive, constant, on_graph, unbroadcast

__all__ = [
    "Inv",
    "Det",
    "Slogdet",
    "Solve",
    "Pinv",
    "MatrixExp",
    "Cross",
    "LinAlgError",
    "mH",
    "solve_or_nan",
    "svd_np",
]


class LinAlgError(RuntimeError):
    """A matrix a linear-algebra routine cannot work on (singular, not positive-definite,
    non-finite...). Like ``torch.linalg.LinAlgError`` it is a ``RuntimeError``; public as
    ``ember.linalg.LinAlgError``."""


_SVD_FAILED = (
    "linalg.svd: The algorithm failed to converge because the input matrix contained non-finite "
    "values."
)


def svd_np(a: np.ndarray, full_matrices: bool = False, compute_uv: bool = True):
    """``np.linalg.svd`` with PyTorch's error when it does not converge (NaN or inf input)."""
    try:
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    except np.linalg.LinAlgError:
        raise LinAlgError(_SVD_FAILED) from None


def mH(a: np.ndarray) -> np.ndarray:
    """Conjugate transpose of the last two dims."""
    a = np.swapaxes(a, -1, -2)
    return a.conj() if a.dtype.kind == "c" else a


def solve_or_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``solve(a, b)`` in a backward pass: NaN (not NumPy's LinAlgError) where ``a`` is
    singular, as PyTorch's gradients are NaN/inf there."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        flat_a = a.reshape((-1,) + a.shape[-2:])
        flat_b = np.broadcast_to(b, a.shape[:-2] + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        out = np.full(flat_b.shape, np.nan, dtype=np.result_type(a, b))
        for i, (m, r) in enumerate(zip(flat_a, flat_b)):
            try:
                out[i] = np.linalg.solve(m, r)
            except np.linalg.LinAlgError:
                pass
        return out.reshape(a.shape[:-2] + b.shape[-2:])


class Inv(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        out = np.linalg.inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved_tensors
        ih = mH(inv)
        return -(ih @ g @ ih)


def cofactor_svd(a: np.ndarray) -> np.ndarray:
    """d det(A) / dA for any square A (singular ones too), from A = U diag(s) Vh:
    det(U) det(Vh) * U diag(prod of the other singular values) Vh (real inputs). On the graph
    (create_graph) the SVD is the differentiable ``Svd``."""
    if on_graph(a):
        from .linalg_decomp import Svd  # (linalg_decomp imports this module)

        u, s, vh = a.apply(Svd, True)
    else:
        u, s, vh = svd_np(a, full_matrices=True)
    sign = np.linalg.det(constant(u)) * np.linalg.det(constant(vh))  # +-1: a constant
    return sign[..., None, None] * (u * _prod_of_others(s)[..., None, :]) @ vh


def _prod_of_others(s: np.ndarray) -> np.ndarray:
    """``out[..., i]`` = the product of all ``s[..., j]``, j != i (zeros allowed): the product
    of the elements before i times the product of those after it, by running products."""
    ones = np.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    before = np.concatenate([ones, np.cumprod(s[..., :-1], axis=-1)], axis=-1)
    rev = np.flip(s[..., 1:], axis=-1)
    after = np.concatenate([np.flip(np.cumprod(rev, axis=-1), axis=-1), ones], axis=-1)
    return before * after


class Det(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):  # NaN/inf inputs give NaN/inf, as in PyTorch
            out = np.linalg.det(a)
        ctx.save_for_backward(a, out)
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        a, det = ctx.saved_tensors
        if a.shape[-1] == 0:
            return np.zeros_like(a)
        if _invertible(constant(a), constant(det)):
            # d det / dA = det * A^{-H}: one solve instead of an inverse. Solving with A (not
            # A^H) reuses the LU factorisation det came from, so det's small pivot cancels: an
            # accurate cofactor near singular A too (PyTorch's is as accurate).
            eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
            scale = (g * np.conj(det))[..., None, None]
            return mH(np.linalg.solve(a, eye * np.conj(scale)))
        return g[..., None, None] * cofactor_svd(a)


def _invertible(a: np.ndarray, det: np.ndarray) -> bool:
    """Whether every |det A| is above PyTorch's cutoff (eps * ||A||_F) for the solve formula;
    below it the SVD formula, exact for singular A (a near-singular A^H may not solve).
    NaN/inf entries take the solve formula (NaN gradients; the SVD would not converge)."""
    norm = np.sqrt(np.sum(np.abs(a) ** 2, axis=(-2, -1)))
    with np.errstate(all="ignore"):
        return not np.any(np.abs(det) < np.finfo(a.dtype).eps * norm)


class Slogdet(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            sign, logabs = np.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return np.asarray(sign, dtype=a.dtype), np.asarray(logabs, dtype=logabs.dtype)

    @staticmethod
    def backward(ctx, gsign, glog):
        (a,) = ctx.saved_tensors
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
        # log|det| of a singular matrix is -inf and has no gradient (PyTorch's is NaN/inf).
        return solve_or_nan(mH(a), eye * glog[..., None, None])


class Solve(Primitive):
    """X = A^{-1} B for matrices B (the caller turns a vector B into one column). With
    ``or_nan`` (the solves inside backward formulas under create_graph) a singular A gives NaN
    instead of raising, as ``solve_or_nan``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, b, or_nan=False):
        x = solve_or_nan(a, b) if or_nan else np.linalg.solve(a, b)
        ctx.save_for_backward(a, x)
        ctx.shapes = (a.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        sa, sb = ctx.shapes
        gb = solve_or_nan(mH(a), g)
        ga = -(gb @ mH(x)) if ctx.needs_input_grad[0] else None
        grads = (
            None if ga is None else unbroadcast(ga, sa),
            unbroadcast(gb, sb) if ctx.needs_input_grad[1] else None,
        )
        return grads + (None,) * (len(ctx.needs_input_grad) - 2)  # (or_nan, when given)


def pinv_array(a: np.ndarray, atol: float, rtol: float, hermitian: bool) -> np.ndarray:
    """Pseudo-inverse: singular values <= max(atol, rtol * largest) count as zero."""
    if hermitian:
        w, v = np.linalg.eigh(a)
        s = np.abs(w)
        tol = np.maximum(atol, rtol * s.max(axis=-1, initial=0.0))[..., None]
        inv = np.where(s > tol, 1 / np.where(s > tol, w, 1), 0).astype(w.dtype)
        return (v * inv[..., None, :]) @ mH(v)
    u, s, vh = svd_np(a)
    tol = np.maximum(atol, rtol * s.max(axis=-1, initial=0.0))[..., None]
    inv = np.where(s > tol, 1 / np.where(s > tol, s, 1), 0).astype(s.dtype)
    return (mH(vh) * inv[..., None, :]) @ mH(u)


class Pinv(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        p = pinv_array(a, atol, rtol, hermitian).astype(a.dtype, copy=False)
        ctx.save_for_backward(a, p)
        return p

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2:]
        ph, gh = mH(p), mH(g)
        # PyTorch's pinv_backward, arranged so the inner products are the smaller ones.
        if m <= n:
            k = gh @ p
            kph = k @ ph
            r = -mH(p @ k) + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        else:
            k = p @ gh
            phk = ph @ k
            r = -mH(k @ p) + (gh - a @ k) @ p @ ph + phk - phk @ p @ a
        return r, None, None, None


# ---- matrix exponential --------------------------------------------------------------------
# Scaling and squaring with the [13/13] Pade approximant (Higham 2005), in double precision.
_PADE13 = (
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


def expm(a: np.ndarray) -> np.ndarray:
    """exp(A) for a batch of square matrices, computed in float64/complex128."""
    work = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    n = a.shape[-1]
    if work.size == 0:
        return work.astype(a.dtype)
    norm1 = np.abs(work).sum(axis=-2).max()  # the largest 1-norm in the batch
    if not np.isfinite(norm1):  # NaN, inf or overflowing entries: no finite result
        return np.full(a.shape, np.nan, dtype=a.dtype)
    s = max(0, int(np.ceil(np.log2(norm1 / _THETA13)))) if norm1 > 0 else 0
    x = work / (2.0**s)
    b = _PADE13
    eye = np.eye(n, dtype=x.dtype)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    inner = x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2
    u = x @ (inner + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2
    v = v + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r.astype(a.dtype, copy=False)


class MatrixExp(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(all="ignore"):
            return expm(a)

    @staticmethod
    def backward(ctx, g):
        # The adjoint of exp's derivative at A is the upper-right block of
        # exp([[A^H, G], [0, A^H]]) (PyTorch's differential_analytic_matrix_function).
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        if on_graph(g):  # the same block matrix, assembled and exponentiated on the graph
            ah = mH(a)
            zero = np.zeros(a.shape, dtype=a.dtype)
            top = np.concatenate([ah, g], axis=-1)
            big = np.concatenate([top, np.concatenate([zero, ah], axis=-1)], axis=-2)
            return big.apply(MatrixExp)[..., :n, n:]
        big = np.zeros(a.shape[:-2] + (2 * n, 2 * n), dtype=np.result_type(a, g))
        ah = mH(a)
        big[..., :n, :n] = ah
        big[..., n:, n:] = ah
        big[..., :n, n:] = g
        with np.errstate(all="ignore"):
            return expm(big)[..., :n, n:].astype(a.dtype, copy=False)


class Cross(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, b, axis):
        ctx.save_for_backward(a, b)
        ctx.axis = axis
        return np.cross(a, b, axis=axis)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ax = ctx.axis
        ga = unbroadcast(np.cross(b, g, axis=ax), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(np.cross(g, a, axis=ax), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb, None


class Diagonal(Primitive):
    """The diagonal (``offset``) of the matrices spanned by two dims, as a new last dim: a
    writeable view, as PyTorch's (``x.diagonal().zero_()`` writes into ``x``)."""

    view = True
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.meta = (a.shape, offset, d1, d2)
        return diagonal_view(a, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        shape, offset, d1, d2 = ctx.meta
        k = g.shape[-1]
        rows = np.arange(k) + max(-offset, 0)
        cols = np.arange(k) + max(offset, 0)
        if on_graph(g):  # the recorded scatter into zeros, with (d1, d2) moved last
            from .indexing import add_into_zeros

            pair = (d1 % len(shape), d2 % len(shape))
            moved = tuple(n for i, n in enumerate(shape) if i not in pair)
            moved += (shape[pair[0]], shape[pair[1]])
            z = add_into_zeros(moved, (Ellipsis, rows, cols), g)
            return np.moveaxis(z, (-2, -1), (d1, d2)), None, None, None
        z = np.zeros(shape, dtype=g.dtype)
        np.moveaxis(z, (d1, d2), (-2, -1))[..., rows, cols] = g  # writes through the view
        return z, None, None, None


def diagonal_view(a: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """``np.diagonal`` as a writeable view (NumPy's own is read-only): one stride that steps
    along both dims at once."""
    b = np.moveaxis(a, (d1, d2), (-2, -1))
    b = b[..., :, offset:] if offset >= 0 else b[..., -offset:, :]
    k = max(0, min(b.shape[-2], b.shape[-1]))
    strides = b.strides[:-2] + (b.strides[-2] + b.strides[-1],)
    return np.lib.stride_tricks.as_strided(b, b.shape[:-2] + (k,), strides)
