"""The regularised incomplete gamma functions P(a, x) (``gammainc``) and Q(a, x)
(``gammaincc``): a power series below x = a + 1, a continued fraction (modified Lentz) above,
with PyTorch's values at the edges of the domain."""

from __future__ import annotations

import numpy as np

from ._kernels import lgamma

__all__ = ["gammainc", "gammaincc"]

_TINY = 1e-300
_SERIES_STEPS = 2000  # enough for a up to ~1e5 near x = a
_CF_STEPS = 400


def _log_prefactor(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log(x^a e^-x / Gamma(a))."""
    return a * np.log(x) - x - lgamma(a)


def _series_p(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    term = 1.0 / a
    total = term.copy()
    ap = a.copy()
    for _ in range(_SERIES_STEPS):
        ap = ap + 1.0
        term = term * x / ap
        total = total + term
        if np.all(term <= total * 1e-17):
            break
    return total * np.exp(_log_prefactor(a, x))


def _fraction_q(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / _TINY)
    d = 1.0 / np.where(np.abs(b) < _TINY, _TINY, b)
    h = d.copy()
    for i in range(1, _CF_STEPS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-16):
            break
    return h * np.exp(_log_prefactor(a, x))


def _both(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) on the interior of the domain (a > 0, 0 < x < inf)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    use_series = x < a + 1.0
    ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    a_s = np.where(ok & use_series, a, 1.0)
    x_s = np.where(ok & use_series, x, 0.5)
    a_f = np.where(ok & ~use_series, a, 1.0)
    x_f = np.where(ok & ~use_series, x, 3.0)
    with np.errstate(all="ignore"):
        p_series = _series_p(a_s, x_s)
        q_frac = _fraction_q(a_f, x_f)
    p = np.where(use_series, p_series, 1.0 - q_frac)
    q = np.where(use_series, 1.0 - p_series, q_frac)
    return p, q


def _edges(a: np.ndarray, x: np.ndarray, r: np.ndarray, lower: bool) -> np.ndarray:
    """PyTorch's values outside the interior (its calc_igamma / calc_igammac)."""
    one, zero = (1.0, 0.0) if lower else (0.0, 1.0)
    r = np.where(np.isinf(x) & (x > 0), one, r)
    r = np.where(np.isinf(a) & (a > 0), np.where(np.isinf(x), np.nan, zero), r)
    r = np.where(x == 0, zero, r)
    r = np.where(a == 0, np.where(x > 0, one, np.nan), r)
    r = np.where((x < 0) | (a < 0) | np.isnan(a) | np.isnan(x), np.nan, r)
    return r


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x) = gamma(a, x) / Gamma(a), the regularised lower incomplete gamma function."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    return _edges(a, x, _both(a, x)[0], True)


def gammaincc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) = 1 - P(a, x), accurate where P is close to 1."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    return _edges(a, x, _both(a, x)[1], False)


def gammainc_dx(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dP/dx = x^(a-1) e^-x / Gamma(a)."""
    with np.errstate(all="ignore"):
        return np.exp((a - 1.0) * np.log(x) - x - lgamma(a))
