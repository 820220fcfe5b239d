"""Orthogonal polynomials of ``torch.special`` evaluated as PyTorch does: the three-term
recurrence (with PyTorch's closed forms for |x| = 1 and its trigonometric shortcut for large n),
n truncated to an integer, 0 for negative n. Not differentiable in PyTorch either."""

from __future__ import annotations

import numpy as np

__all__ = ["POLYNOMIALS"]


def _recur(x: np.ndarray, n: np.ndarray, p0, p1, step) -> np.ndarray:
    """The value of degree ``n`` of the sequence p0, p1, ..., p_{k+1} = step(k, p_k, p_{k-1})."""
    top = int(np.max(n, initial=0))
    out = np.where(n == 0, p0, p1)
    prev, cur = p0, p1
    for k in range(1, top):
        prev, cur = cur, step(k, cur, prev)
        out = np.where(n == k + 1, cur, out)
    return out


def _cheb_t(x, n):
    r = _recur(x, n, np.ones_like(x), x, lambda k, q, p: (x + x) * q - p)
    with np.errstate(invalid="ignore"):
        trig = np.cos(n * np.arccos(np.clip(x, -1, 1)))
    r = np.where((n > 6) & (np.abs(x) < 1), trig, r)
    return np.where(np.abs(x) == 1, np.where((x > 0) | (n % 2 == 0), 1.0, -1.0), r)


def _cheb_u(x, n):
    r = _recur(x, n, np.ones_like(x), x + x, lambda k, q, p: (x + x) * q - p)
    with np.errstate(all="ignore"):
        t = np.arccos(np.clip(x, -1, 1))
        s = np.sin(t)
        trig = np.where(s != 0, np.sin((n + 1) * t) / s, (n + 1) * np.cos((n + 1) * t) * x)
    r = np.where((n > 8) & (np.abs(x) < 1), trig, r)
    edge = np.where((x > 0) | (n % 2 == 0), n + 1.0, -(n + 1.0))
    return np.where(np.abs(x) == 1, edge, r)


def _cheb_v(x, n):
    r = _recur(x, n, np.ones_like(x), x + x - 1, lambda k, q, p: (x + x) * q - p)
    with np.errstate(all="ignore"):
        t = np.arccos(np.clip(x, -1, 1))
        odd_even = np.where(n % 2 == 0, n + n + 1.0, -(n + n + 1.0))
        trig = np.where(np.sin(t / 2) != 1, np.cos((n + 0.5) * t) / np.cos(t / 2), odd_even)
    r = np.where((n > 8) & (np.abs(x) < 1), trig, r)
    return np.where(np.abs(x) == 1, np.where(x > 0, 1.0, odd_even), r)


def _cheb_w(x, n):
    r = _recur(x, n, np.ones_like(x), x + x + 1, lambda k, q, p: (x + x) * q - p)
    with np.errstate(all="ignore"):
        t = np.arccos(np.clip(x, -1, 1))
        at_minus = np.where(n % 2 == 0, 1.0, -1.0)
        edge = np.where(x > 0, n + n + 1.0, at_minus)
        trig = np.where(np.cos(t / 2) != 1, np.sin((n + 0.5) * t) / np.sin(t / 2), edge)
    r = np.where((n > 8) & (np.abs(x) < 1), trig, r)
    return np.where(np.abs(x) == 1, edge, r)


def _shifted(fn):
    return lambda x, n: fn(x + x - 1, n)


def _hermite_h(x, n):
    return _recur(x, n, np.ones_like(x), x + x, lambda k, q, p: (x + x) * q - 2 * k * p)


def _hermite_he(x, n):
    return _recur(x, n, np.ones_like(x), x, lambda k, q, p: x * q - k * p)


def _laguerre(x, n):
    r = _recur(
        x, n, np.ones_like(x), 1 - x, lambda k, q, p: ((2 * k + 1 - x) * q - k * p) / (k + 1)
    )
    return np.where(x == 0, 1.0, r)


def _legendre(x, n):
    r = _recur(x, n, np.ones_like(x), x, lambda k, q, p: ((2 * k + 1) * x * q - k * p) / (k + 1))
    return np.where(np.abs(x) == 1, np.where((x > 0) | (n % 2 == 0), 1.0, -1.0), r)


_MAX_DEGREE = 1 << 16  # the recurrence runs max(n) steps over the whole array


def _guarded(fn):
    def evaluate(x: np.ndarray, n: np.ndarray) -> np.ndarray:
        x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n))
        n = np.where(np.isfinite(n), n, -1)
        if np.any(n > _MAX_DEGREE):
            raise NotImplementedError(
                f"orthogonal polynomials of degree n > {_MAX_DEGREE} are not supported by ember"
            )
        n_int = n.astype(np.int64)  # torch truncates n
        with np.errstate(all="ignore"):
            r = fn(x, np.maximum(n_int, 0))
        return np.where(n_int < 0, 0.0, r)

    return evaluate


POLYNOMIALS = {
    "chebyshev_polynomial_t": _guarded(_cheb_t),
    "chebyshev_polynomial_u": _guarded(_cheb_u),
    "chebyshev_polynomial_v": _guarded(_cheb_v),
    "chebyshev_polynomial_w": _guarded(_cheb_w),
    "shifted_chebyshev_polynomial_t": _guarded(_shifted(_cheb_t)),
    "shifted_chebyshev_polynomial_u": _guarded(_shifted(_cheb_u)),
    "shifted_chebyshev_polynomial_v": _guarded(_shifted(_cheb_v)),
    "shifted_chebyshev_polynomial_w": _guarded(_shifted(_cheb_w)),
    "hermite_polynomial_h": _guarded(_hermite_h),
    "hermite_polynomial_he": _guarded(_hermite_he),
    "laguerre_polynomial_l": _guarded(_laguerre),
    "legendre_polynomial_p": _guarded(_legendre),
}
