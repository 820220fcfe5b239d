"""NumPy kernels of special functions (float64 in, float64 out): the inverse error functions,
the scaled complementary error function, the normal distribution's log-CDF and quantile; and,
shared with ember.ops.special_fn (one implementation each), log-gamma, digamma, the Hurwitz
zeta and the scaled modified Bessel functions of order 0 and 1.

Elementwise Python loops are avoided except for ``math.lgamma``/``math.erf``/``math.erfc``, which
are exact and vectorised with ``np.frompyfunc``. NaN propagates; poles give what PyTorch gives.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops import _special_kernels as _SK
from ..ops._erfc import _COEF as _ERFC_COEF
from ..ops._erfc import _ZMAX

# The kernels ember.ops.special_fn also uses: one implementation each.
lgamma = _SK.lgamma_np
zeta = _SK.zeta_np
digamma = _SK.digamma_np
erfinv = _SK.erfinv_np
i0e = _SK.i0e_np
i1e = _SK.i1e_np


__all__ = [
    "lgamma",
    "digamma",
    "zeta",
    "erf",
    "erfc",
    "erfinv",
    "erfcx",
    "ndtri",
    "log_ndtr",
    "i0e",
    "i1e",
]

_SQRT_PI = math.sqrt(math.pi)


_ERF = np.frompyfunc(math.erf, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _f64(fn, x: np.ndarray) -> np.ndarray:
    return np.asarray(fn(x), dtype=np.float64)


def erf(x: np.ndarray) -> np.ndarray:
    return _f64(_ERF, x)


def erfc(x: np.ndarray) -> np.ndarray:
    return _f64(_ERFC, x)


# ---- inverse error functions -----------------------------------------------------------------
def _giles(w: np.ndarray) -> np.ndarray:
    """Giles' single-precision erfinv in terms of w = -log((1 - y)(1 + y)): a Newton start."""
    small = w < 5.0
    ws = w - 2.5
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    ps = 2.81022636e-08
    for c in (
        3.43273939e-07,
        -3.5233877e-06,
        -4.39150654e-06,
        0.00021858087,
        -0.00125372503,
        -0.00417768164,
        0.246640727,
        1.50140941,
    ):
        ps = c + ps * ws
    pl = -0.000200214257
    for c in (
        0.000100950558,
        0.00134934322,
        -0.00367342844,
        0.00573950773,
        -0.0076224613,
        0.00943887047,
        1.00167406,
        2.83297682,
    ):
        pl = c + pl * wl
    return np.where(small, ps, pl)


def _erfcinv_tail(z: np.ndarray) -> np.ndarray:
    """x > 0 with erfc(x) = z for 0 < z <= 0.5: Newton on log erfc(x) = log z, which converges
    in the far tail too; log erfc(x) = log erfcx(x) - x^2 never underflows."""
    with np.errstate(all="ignore"):
        w = -np.log(z * (2.0 - z))
        logz = np.log(z)
        # Giles' fit covers float32's range; far out start from erfc(x) ~ exp(-x^2) / (x sqrt(pi)).
        far = np.sqrt(-logz)
        for _ in range(2):
            far = np.sqrt(np.maximum(-logz - np.log(far * _SQRT_PI), 0.25))
        x = np.where(w > 30.0, far, _giles(w))
        for _ in range(5):
            ex = erfcx(x)
            x = x + (np.log(ex) - x * x - logz) * ex * (_SQRT_PI / 2)
    return x


def ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile: x with Phi(x) = p."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(all="ignore"):
        # Phi^-1(p) = -sqrt(2) erfcinv(2p); use the side where 2p or 2(1-p) is exact and small.
        lo = np.clip(2.0 * p, 1e-320, 1.0)
        hi = np.clip(2.0 * (1.0 - p), 1e-320, 1.0)
        mid = np.abs(p - 0.5) <= 0.25
        x = np.where(
            p < 0.5, -_erfcinv_tail(np.minimum(lo, 0.5)), _erfcinv_tail(np.minimum(hi, 0.5))
        )
        x = np.where(mid, math.sqrt(2.0) * erfinv(2.0 * p - 1.0), x * math.sqrt(2.0))
        x = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))
        x = np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, x)
    return x


# ---- scaled complementary error function, log of the normal CDF -------------------------------
def _erfcx_pos(z: np.ndarray) -> np.ndarray:
    """erfcx(z) = exp(z^2) erfc(z) for z >= 0: the erfc fit without its exp(-z^2) factor."""
    coef = _ERFC_COEF[np.dtype(np.float64)]
    zc = np.minimum(z, _ZMAX)
    t = 1.0 / (1.0 + 0.5 * zc)
    acc = np.full_like(t, coef[-1])
    for c in coef[-2::-1]:
        acc = acc * t + c
    near = np.exp(acc) * t
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / (2.0 * z * z)
        series = 1 - w * (1 - 3 * w * (1 - 5 * w * (1 - 7 * w * (1 - 9 * w * (1 - 11 * w)))))
        far = series / (z * _SQRT_PI)
    return np.where(z > _ZMAX, far, near)


def erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x), without overflow for large positive x."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = _erfcx_pos(np.abs(x))
        # erfcx(-z) = 2 exp(z^2) - erfcx(z)
        neg = 2.0 * np.exp(x * x) - pos
    r = np.where(x >= 0, pos, neg)
    return np.where(np.isnan(x), np.nan, np.where(x == np.inf, 0.0, r))


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log Phi(x): log1p(-Phi(-x)) on the right, log(erfcx(-x/sqrt2)/2) - x^2/2 on the left."""
    x = np.asarray(x, dtype=np.float64)
    r2 = math.sqrt(2.0)
    with np.errstate(all="ignore"):
        right = np.log1p(-0.5 * erfc(x / r2))
        left = np.log(0.5 * erfcx(-x / r2)) - 0.5 * x * x
    return np.where(x < -1.0, left, right)
