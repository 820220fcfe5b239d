"""The special functions and matrix functions the distributions need: ``lgamma``, ``digamma``
and ``erfinv`` are ember.ops.special_fn's and ``gammainc`` is ember.special's (re-exported
here), ``cholesky`` and ``solve_triangular`` ember.linalg's; the implicit reparameterisation
gradient of Gamma samples is a private primitive on NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd.function import Function
from ..ops._special_kernels import digamma_np
from ..ops._util import Primitive, on_graph
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


# ---- matrices: ember.linalg's (the one implementation, twice differentiable) ----------------
def cholesky(a: Tensor) -> Tensor:
    """``torch.linalg.cholesky``: the lower factor ``L`` of ``a = L L^T`` (batched)."""
    from ..linalg import cholesky as _cholesky  # (ember.linalg loads on first use)

    return _cholesky(a)


def solve_triangular(low: Tensor, b: Tensor) -> Tensor:
    """``torch.linalg.solve_triangular(low, b, upper=False)``."""
    from ..linalg import solve_triangular as _solve_triangular

    return _solve_triangular(low, b, upper=False)


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
