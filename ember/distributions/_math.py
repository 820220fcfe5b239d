"""The special functions and matrix functions the distributions need: ``lgamma``, ``digamma``
and ``erfinv`` are ember.ops.special_fn's (re-exported here), ``cholesky`` and
``solve_triangular`` ember.linalg's; ``gammainc`` and the implicit reparameterisation gradient
of Gamma samples are private primitives on NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..ops._special_kernels import digamma_np, lgamma_np
from ..ops._util import Primitive, unbroadcast
from ..ops.elementwise import cast
from ..ops.special_fn import digamma, erfinv, lgamma  # re-exported: the one implementation

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


def _float(t: Tensor) -> Tensor:
    return t if t._data.dtype.kind == "f" else cast(t, D.get_default_dtype())


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
        grad = standard_gamma_grad_np(alpha, ctx.sample)
        return (g * grad).astype(g.dtype, copy=False), None


def gamma_reparam(alpha: Tensor, sample: np.ndarray) -> Tensor:
    """The Gamma(alpha, 1) sample ``sample`` (same shape as alpha) as a function of ``alpha``."""
    return GammaReparam.apply(alpha, sample)


# ---- the regularised lower incomplete gamma function -------------------------------------
def gammainc_np(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``P(a, x)``: the series below ``x = a + 1``, the continued fraction of ``Q = 1 - P``
    (modified Lentz) above it; float64 accuracy."""
    shape = np.broadcast_shapes(np.shape(a), np.shape(x))
    af = np.broadcast_to(np.asarray(a, np.float64), shape).ravel()
    xf = np.broadcast_to(np.asarray(x, np.float64), shape).ravel()
    out = np.full(af.shape, np.nan)
    with np.errstate(all="ignore"):
        log_prefix = af * np.log(xf) - xf - lgamma_np(af)
        ok = (af > 0) & (xf >= 0)
        out[ok & (xf == 0)] = 0.0
        low = ok & (xf > 0) & (xf < af + 1)
        high = ok & (xf >= af + 1)
        if low.any():
            out[low] = _gammainc_series(af[low], xf[low]) * np.exp(log_prefix[low])
        if high.any():
            out[high] = 1.0 - _gammaincc_fraction(af[high], xf[high]) * np.exp(log_prefix[high])
        out[ok & np.isinf(xf)] = 1.0
    return out.reshape(shape)


def _gammainc_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    term = 1.0 / a
    total = term.copy()
    n = a.copy()
    for _ in range(5000):
        n += 1
        term = term * x / n
        total += term
        if np.all(np.abs(term) <= np.abs(total) * 1e-16):
            break
    return total


def _gammaincc_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    tiny = 1e-300
    b = x + 1 - a
    c = np.full_like(x, 1 / tiny)
    d = 1 / b
    h = d.copy()
    for i in range(1, 5000):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1) <= 1e-16):
            break
    return h


class Gammainc(Primitive):
    """``P(a, x)``: differentiable in ``x`` (the Gamma density); the derivative in ``a`` is not
    implemented, as in PyTorch."""

    node_name = "IgammaBackward0"

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        dtype = np.result_type(a, x)
        return gammainc_np(a, x).astype(dtype if dtype.kind == "f" else np.float64)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        with np.errstate(all="ignore"):
            dens = np.exp((a - 1) * np.log(x) - x - lgamma_np(np.asarray(a, np.float64)))
            dens = np.where(x > 0, dens, np.where(a == 1, 1.0, np.where(a < 1, np.inf, 0.0)))
        return None, unbroadcast((g * dens).astype(g.dtype, copy=False), np.shape(x))


def gammainc(a: Tensor, x: Tensor) -> Tensor:
    """``torch.special.gammainc``: the regularised lower incomplete gamma function."""
    return Gammainc.apply(_float(a), _float(x))
