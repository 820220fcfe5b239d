"""The special functions and matrix primitives the distributions need: ``lgamma``, ``digamma``
and ``erfinv`` are ember.ops.special_fn's and ``gammainc`` is ember.special's (re-exported
here); ``cholesky``, ``solve_triangular`` and the implicit reparameterisation gradient of Gamma
samples are private primitives on NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd.function import Function
from ..ops._special_kernels import digamma_np
from ..ops._util import Primitive, on_graph, unbroadcast
from ..ops.special_fn import digamma, erfinv, lgamma  # re-exported: the one implementation
from ..special._more import gammainc  # re-exported: ember.special's primitive

__all__ = [
    "lgamma",
    "digamma",
    "erfinv",
    "cholesky",
    "solve_triangular",
    "gamma_reparam",
    "gammainc",
    "digamma_np",
    "standard_gamma_grad_np",
]


# ---- matrices --------------------------------------------------------------------------
def _mT(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _tri_solve(lower: np.ndarray, b: np.ndarray, transpose: bool = False) -> np.ndarray:
    """``L^{-1} b`` (or ``L^{-T} b``) for batches of lower-triangular ``L``."""
    a = _mT(lower) if transpose else lower
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, shape + a.shape[-2:])
    b = np.broadcast_to(b, shape + b.shape[-2:])
    return np.linalg.solve(a, b)


class Cholesky(Primitive):
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a):
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError(
                "linalg.cholesky: The factorization could not be completed because the input is "
                "not positive-definite."
            ) from None
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, g):
        # A = L L^T: gA = sym(L^{-T} Phi(L^T gL) L^{-1}), Phi = lower triangle, diagonal halved.
        (low,) = ctx.saved_tensors
        phi = np.tril(_mT(low) @ np.tril(g))
        idx = np.arange(low.shape[-1])
        phi[..., idx, idx] *= 0.5
        left = _tri_solve(low, phi, transpose=True)  # L^{-T} Phi
        ga = _mT(_tri_solve(low, _mT(left), transpose=True))  # (L^{-T} (L^{-T} Phi)^T)^T
        return (0.5 * (ga + _mT(ga))).astype(g.dtype, copy=False)


def cholesky(a: Tensor) -> Tensor:
    """``torch.linalg.cholesky``: the lower factor ``L`` of ``a = L L^T`` (batched)."""
    return Cholesky.apply(a)


class SolveTriangular(Primitive):
    """``X = L^{-1} B`` for lower-triangular ``L`` (batch dimensions broadcast)."""

    node_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, low, b):
        x = _tri_solve(low, b)
        ctx.save_for_backward(low, x)
        ctx.shapes = (low.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, g):
        low, x = ctx.saved_tensors
        gb = _tri_solve(low, g, transpose=True)
        gl = None
        if ctx.needs_input_grad[0]:
            gl = unbroadcast(np.tril(-gb @ _mT(x)), ctx.shapes[0])
        return gl, unbroadcast(gb, ctx.shapes[1])


def solve_triangular(low: Tensor, b: Tensor) -> Tensor:
    """``torch.linalg.solve_triangular(low, b, upper=False)``."""
    return SolveTriangular.apply(low, b)


# ---- Gamma: the implicit reparameterisation gradient -------------------------------------
_LAG_X, _LAG_W = np.polynomial.laguerre.laggauss(48)


def _grad_lower(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dx/da`` from the series of P(a, x): ``-sum_n t_n (log x - psi(a + n + 1))`` with
    ``t_n = x^(n+1) Gamma(a) / Gamma(a + n + 1)``; all terms share a sign below the mode."""
    logx = np.log(x)
    t = x / a
    psi = digamma_np(a) + 1 / a
    total = t * (logx - psi)
    n = 1.0
    for _ in range(2000):
        t = t * x / (a + n)
        psi = psi + 1 / (a + n)
        term = t * (logx - psi)
        total = total + term
        n += 1
        if np.all((np.abs(term) <= 1e-17 * np.abs(total)) | (t == 0)):
            break
    return -total


def _grad_upper(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dx/da`` in the upper tail: ``dQ/da / p(x) = int_0^inf e^-u (1 + u/x)^(a-1)
    (log(x + u) - psi(a)) du``, by Gauss-Laguerre after rescaling u by the integrand's decay."""
    rate = np.maximum(1 - (a - 1) / x, 0.05)
    u = _LAG_X[:, None] / rate
    body = np.exp(-u + _LAG_X[:, None] + (a - 1) * np.log1p(u / x))
    vals = body * (np.log(x + u) - digamma_np(a))
    return (_LAG_W[:, None] * vals).sum(0) / rate


def standard_gamma_grad_np(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``d x / d alpha`` of a Gamma(alpha, 1) sample ``x`` at fixed CDF value (Figurnov et al.,
    implicit reparameterisation gradients), computed to ~1e-10 relative in float64."""
    shape = np.broadcast_shapes(np.shape(alpha), np.shape(x))
    a = np.broadcast_to(np.asarray(alpha, np.float64), shape).ravel()
    xs = np.broadcast_to(np.asarray(x, np.float64), shape).ravel()
    out = np.zeros_like(xs)
    with np.errstate(all="ignore"):
        upper = xs > a + 6 * np.sqrt(a) + 6
        low = ~upper & (xs > 0)
        if low.any():
            out[low] = _grad_lower(a[low], xs[low])
        if upper.any():
            out[upper] = _grad_upper(a[upper], xs[upper])
    return out.reshape(shape)


class _StandardGammaGrad(Function):
    """``torch._standard_gamma_grad``: ``d x / d alpha`` of Gamma(alpha, 1) samples ``x``, as a
    node of the graph. PyTorch has no derivative of it: differentiating it raises as there."""

    @staticmethod
    def forward(ctx, alpha, sample):
        a = alpha.detach().numpy()
        return _wrap(standard_gamma_grad_np(a, sample).astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


class GammaReparam(Primitive):
    """Passes a Gamma(alpha, 1) sample through, with the implicit gradient wrt alpha."""

    node_name = "StandardGammaBackward0"

    @staticmethod
    def forward(ctx, alpha, sample):
        ctx.save_for_backward(alpha)
        ctx.sample = sample
        return sample.copy()

    @staticmethod
    def backward(ctx, g):
        (alpha,) = ctx.saved_tensors
        if on_graph(alpha):  # create_graph: the derivative as a node that refuses to go further
            return g * alpha.apply(_StandardGammaGrad, ctx.sample), None
        grad = standard_gamma_grad_np(alpha, ctx.sample)
        return (g * grad).astype(g.dtype, copy=False), None

    @classmethod
    def _run_backward_graph(cls, ctx, grads):
        # Not twice differentiable (as PyTorch), but its gradient under create_graph is recorded
        # so that differentiating it again raises PyTorch's NotImplementedError, not ember's
        # generic RuntimeError.
        from ..ops._graph_array import run_formula

        return run_formula(cls, ctx, grads)


def gamma_reparam(alpha: Tensor, sample: np.ndarray) -> Tensor:
    """The Gamma(alpha, 1) sample ``sample`` (same shape as alpha) as a function of ``alpha``."""
    return GammaReparam.apply(alpha, sample)
