"""NumPy kernels of the special functions (float64 arrays in, float64 arrays out): ``lgamma``,
``digamma``, ``trigamma``, ``polygamma``, the Hurwitz ``zeta``, ``erfinv``, and the modified Bessel
functions ``i0``/``i0e``/``i1``/``i1e``. ``special_fn`` wraps them as differentiable ops; the
algorithms are described there."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np


def _lgamma_scalar(v: float) -> float:
    if v <= 0 and (math.isinf(v) or v == math.floor(v)):
        return math.inf  # the poles and -inf (math.lgamma raises at the poles)
    try:
        return math.lgamma(v)
    except OverflowError:
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma_scalar, 1, 1)


def lgamma_np(x: np.ndarray) -> np.ndarray:
    """``log|Gamma(x)|``: +inf at the poles (0, -1, -2, ...) and at +-inf."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):  # nan in, nan out: NumPy flags it as invalid
        out = np.asarray(_LGAMMA(x), dtype=np.float64)
        # Around the roots at 1 and 2 math.lgamma loses ~10 ulps: use the Taylor series there.
        near = (x >= 0.5) & (x <= 2.5)
        if near.any():
            out[near] = _lgamma_near_roots(x[near])
    return out


def _lgamma_near_roots(x: np.ndarray) -> np.ndarray:
    """``lgamma`` on [0.5, 2.5]: ``lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) / k z^k``
    for ``|z| <= 1/2``, with ``lgamma(2 + z) = log1p(z) + lgamma(1 + z)`` above 1.5."""
    upper = x > 1.5
    z = np.where(upper, x - 2, x - 1)
    acc = np.zeros_like(z)
    for c in _lgamma_taylor()[::-1]:
        acc = acc * z + c
    return acc * z + np.where(upper, np.log1p(z), 0.0)


@functools.cache
def _lgamma_taylor() -> np.ndarray:
    """Coefficients ``-gamma, zeta(2)/2, -zeta(3)/3, ...`` of ``lgamma(1 + z) / z``."""
    k = np.arange(2, 60, dtype=np.float64)
    return np.concatenate([[-np.euler_gamma], (-1.0) ** k * zeta_np(k, 1.0) / k])


# Coefficients of the asymptotic series psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k).
_PSI_ASYMPTOTIC = np.array(
    [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12], dtype=np.float64
)
_PSI_10 = 2.25175258906672110764  # digamma(10), exact to double rounding


def digamma_np(x: np.ndarray) -> np.ndarray:
    """``d/dx log Gamma(x)``: nan at the negative integers, ``-inf`` at +0 and ``+inf`` at -0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        neg = x < 0
        if neg.any():
            xn = x[neg]
            frac = xn - np.trunc(xn)  # tan(pi * frac) is accurate where tan(pi * x) is not
            refl = _digamma_pos(1 - xn) - np.pi / np.tan(np.pi * frac)
            out[neg] = np.where(frac == 0, np.nan, refl)
        pos = ~neg
        out[pos] = _digamma_pos(x[pos])
        zero = x == 0
        out[zero] = np.copysign(np.inf, -x[zero])
    return out


def _digamma_pos(x: np.ndarray) -> np.ndarray:
    """Digamma for x >= 0 (not 0 itself): recurrence up to 10, then the asymptotic series."""
    acc = np.zeros_like(x)
    low = x < 10
    while low.any():  # at most 11 passes (from just above 0 to 10); whole-array ops are cheap
        acc -= np.where(low, 1 / x, 0.0)
        x = np.where(low, x + 1, x)
        low = x < 10
    z = 1 / (x * x)
    poly = np.zeros_like(x)
    for c in _PSI_ASYMPTOTIC[::-1]:
        poly = poly * z + c
    series = np.where(x < 1e17, z * poly, 0.0)
    res = acc + np.log(x) - 0.5 / x - series
    return np.where(x == 10, acc + _PSI_10, res)


def trigamma_np(x: np.ndarray) -> np.ndarray:
    """``psi'(x)``: reflection below 1/2, six recurrence steps, then the asymptotic series."""
    x = np.asarray(x, dtype=np.float64).copy()
    with np.errstate(all="ignore"):
        sign = np.ones_like(x)
        acc = np.zeros_like(x)
        refl = x < 0.5
        s = np.sin(np.pi * x[refl])
        acc[refl] = -(np.pi * np.pi) / (s * s)
        sign[refl] = -1.0
        x[refl] = 1 - x[refl]
        for _ in range(6):
            acc += 1 / (x * x)
            x += 1
        ixx = 1 / (x * x)
        acc += (1 + 1 / (2 * x) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / x
    return sign * acc


# (2k)! / B_2k for k = 1..12: the Euler-Maclaurin correction terms of the Hurwitz zeta.
_ZETA_EM = np.array(
    [
        12.0,
        -720.0,
        30240.0,
        -1209600.0,
        47900160.0,
        -1.8924375803183791606e9,
        7.47242496e10,
        -2.950130727918164224e12,
        1.1646782814350067249e14,
        -4.5979787224074726105e15,
        1.8152105401943546773e17,
        -7.1661652561756670113e18,
    ]
)


_ZETA_MAX_SHIFT = 2**16


def zeta_np(s: Any, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta ``sum_k (k + q)^-s`` for ``s > 1`` (inf at ``s == 1``, nan below); at a
    non-positive integer ``q`` it is +inf, at other negative ``q`` it needs an integer ``s``."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    s, q = s.astype(np.float64), q.astype(np.float64)
    pole = (q <= 0) & (q == np.floor(q))
    q = np.where(pole, 1.0, q)  # +inf there (below): kept out of the summation
    if np.any((q < -_ZETA_MAX_SHIFT) & np.isfinite(q)):
        # Below 0 the series is summed term by term up to q > 9 (as PyTorch does, one element
        # at a time in C); vectorised, that many passes would stall: refuse instead.
        raise NotImplementedError(
            f"ember's Hurwitz zeta (and polygamma(n >= 2)) takes arguments >= {-_ZETA_MAX_SHIFT}"
        )
    out = np.empty(q.shape, np.float64)
    with np.errstate(all="ignore"):
        total = np.power(q, -s)
        a = q.copy()
        b = np.zeros_like(q)
        # Direct terms until a > 9 and at least nine of them (then the tail is smooth).
        i = 0
        need = np.ones(q.shape, bool)
        while need.any():
            a = np.where(need, a + 1, a)
            b = np.where(need, np.power(a, -s), b)
            total = np.where(need, total + b, total)
            i += 1
            need = (a <= 9) | (i < 9)
            need &= np.isfinite(total) & np.isfinite(a)  # q = -inf would never pass 9
        w = a
        total = total + b * w / (s - 1) - 0.5 * b
        fac = np.ones_like(q)
        k = 0.0
        for c in _ZETA_EM:
            fac = fac * (s + k)
            b = b / w
            total = total + fac * b / c
            k += 1
            fac = fac * (s + k)
            b = b / w
            k += 1
        out[...] = total
        out[pole | (s == 1)] = np.inf
        out[s < 1] = np.nan
        out[(q < 0) & ~pole & (s != np.floor(s))] = np.nan
    return out


def polygamma_np(n: int, x: np.ndarray) -> np.ndarray:
    """The ``n``-th derivative of digamma."""
    x = np.asarray(x, dtype=np.float64)
    if n == 0:
        return digamma_np(x)
    if n == 1:
        return trigamma_np(x)
    sign = 1.0 if n % 2 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * zeta_np(n + 1.0, x)


# Rational first guess for erfinv (max relative error ~1e-7 on the float32 range), then Halley.
_ERFINV_CENTRAL = (
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
)
_ERFINV_TAIL = (
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
)
_ERF = np.frompyfunc(math.erf, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _horner(coefs: tuple, w: np.ndarray) -> np.ndarray:
    p = np.full_like(w, coefs[0])
    for c in coefs[1:]:
        p = p * w + c
    return p


def erfinv_np(y: np.ndarray) -> np.ndarray:
    """The inverse of ``erf`` on [-1, 1] (+-inf at +-1, nan outside)."""
    shape = np.shape(y)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    with np.errstate(all="ignore"):
        a = np.abs(y)
        w = -np.log((1 - a) * (1 + a))
        central = _horner(_ERFINV_CENTRAL, w - 2.5)
        tail = _horner(_ERFINV_TAIL, np.sqrt(w) - 3)
        x = np.where(w < 5, central, tail) * a
        ok = (a < 1) & (a > 0)
        x = np.where(ok, x, 0.0)
        # Halley steps on f(x) = erf(x) - a, written through erfc in the tail where 1 - a is exact.
        # Convergence is cubic: two steps take the guess to double precision, except in the far
        # tail (1 - a < 1e-12), where the first guess is weakest and a few more are needed; each
        # step works only on the elements still moving.
        idx = np.flatnonzero(ok)
        xs, av = x[idx], a[idx]
        xs -= _halley_step(xs, av)
        # The central guess (w < 5) is good to ~4e-7, so one cubic step reaches rounding; the
        # tail guess needs more: step those elements until the step is negligible.
        moving = np.flatnonzero(w[idx] >= 5)
        for _ in range(10):
            if moving.size == 0:
                break
            step = _halley_step(xs[moving], av[moving])
            xs[moving] -= step
            moving = moving[np.abs(step) > 4e-16 * np.abs(xs[moving])]
        x[idx] = xs
        x = np.where(a == 1, np.inf, x)
        x = np.where(a > 1, np.nan, x)
        x = np.where(np.isnan(a), np.nan, x)
        return np.copysign(x, y).reshape(shape)


def _halley_step(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """One Halley step for ``erf(x) = a`` (``a`` in (0, 1)); the residual is taken through
    ``erfc`` where ``a > 1/2`` (``1 - a`` is exact there). ``_ERF``/``_ERFC`` are ``math.erf``/
    ``math.erfc`` per element, correctly rounded almost everywhere."""
    tail = a > 0.5
    f = np.empty_like(x)
    f[tail] = (1 - a[tail]) - np.asarray(_ERFC(x[tail]), np.float64)
    f[~tail] = np.asarray(_ERF(x[~tail]), np.float64) - a[~tail]
    fprime = 2 / math.sqrt(math.pi) * np.exp(-x * x)
    return np.where(fprime > 0, f / (fprime + x * f), 0.0)


_BESSEL_SWITCH = 20.0


def _bessel_series(x: np.ndarray, nu: int) -> np.ndarray:
    """``I_nu(x)`` for ``|x| < 20`` by its power series (terms grow then shrink; no cancellation
    for nu = 0, and only one sign for nu = 1 too, as x**(2k+1) keeps the sign of x)."""
    h = x / 2
    hh = h * h
    term = np.ones_like(x) if nu == 0 else h.copy()
    total = term.copy()
    for k in range(1, 64):
        term = term * hh / (k * (k + nu))
        total += term
    return total


def _bessel_asymptotic_scaled(x: np.ndarray, nu: int) -> np.ndarray:
    """``I_nu(x) exp(-x)`` for ``x >= 20`` by the asymptotic expansion."""
    mu = 4.0 * nu * nu
    term = np.ones_like(x)
    total = term.copy()
    for k in range(1, 40):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * x)
        total += term
    return total / np.sqrt(2 * np.pi * x)


def _bessel(x: np.ndarray, nu: int, scaled: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        small = ax < _BESSEL_SWITCH
        xs = x[small]
        v = _bessel_series(xs, nu)
        out[small] = v * np.exp(-np.abs(xs)) if scaled else v
        big = ~small
        axb = ax[big]
        vb = _bessel_asymptotic_scaled(np.where(np.isinf(axb), 1.0, axb), nu)
        if not scaled:
            vb = vb * np.exp(axb)
        # At +-inf PyTorch gives 0 scaled and nan unscaled (its kernel divides inf by inf).
        vb = np.where(np.isinf(axb), (0.0 if scaled else np.nan), vb)
        if nu == 1:
            vb = np.copysign(vb, x[big])  # I_1 is odd
        out[big] = vb
    return out


def i0_np(x: np.ndarray) -> np.ndarray:
    """Modified Bessel function of the first kind, order 0."""
    return _bessel(x, 0, scaled=False)


def i0e_np(x: np.ndarray) -> np.ndarray:
    """``i0(x) * exp(-|x|)``."""
    return _bessel(x, 0, scaled=True)


def i1_np(x: np.ndarray) -> np.ndarray:
    """Modified Bessel function of the first kind, order 1."""
    return _bessel(x, 1, scaled=False)


def i1e_np(x: np.ndarray) -> np.ndarray:
    """``i1(x) * exp(-|x|)``."""
    return _bessel(x, 1, scaled=True)
