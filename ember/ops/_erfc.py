"""A fast vectorised ``erfc`` for GELU (NumPy has none; ``math.erfc`` per element is ~100x slower).

For ``z >= 0``, ``erfc(z) = t * exp(-z**2 + p(t))`` with ``t = 1 / (1 + z / 2)``: the remaining
factor ``p`` is smooth on ``z`` in ``[0, 10]`` and is fitted once, at import, by a Chebyshev
least-squares fit to ``math.erfc`` and converted to a polynomial in ``t`` (Horner evaluation).
Degree 10 is accurate to ~7e-9 relative (plenty for float32), degree 22 to ~1e-13 (float64).
Past ``z = 10`` the asymptotic series is used; ``erfc(-z) = 2 - erfc(z)``.

``gelu_f32`` is the float32 fast path of exact GELU, written for as few NumPy passes as possible
(each costs about as much as a whole fused PyTorch loop, so the pass count is the cost): with
``w = |x|``, ``Phi(-w) = exp(-w**2 / 2) * t * P(t)`` where ``t = 1 / (1 + 0.3 w)`` and ``P`` is a
degree-7 polynomial fitted (weighted least squares iterated towards minimax on the relative
error, ``w`` in [0, 14.5]) to 1.6e-7 relative. One ``exp``, one division and 7 Horner
steps, all in float32 and in place. ``exp``'s float32 argument ``-w**2 / 2`` is rounded, which
costs ~``w**2 / 2`` ulps of relative error far in the left tail (e.g. 8 ulps at x = -3, 70 at
x = -13 where GELU is ~1e-38); PyTorch's ``1 + erf`` form has no correct digit there.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.polynomial import polynomial as _poly

__all__ = ["erfc", "gelu_f32", "gelu_f32_into"]

_ZMAX = 10.0
_TMIN = 1.0 / (1.0 + _ZMAX / 2)


def _fit_s(degree: int) -> np.ndarray:
    """Power-basis coefficients (lowest first) of ``p`` in ``s = a t + b``, ``s`` in [-1, 1]."""
    n = 200
    s = np.cos(np.pi * (np.arange(n) + 0.5) / n)  # Chebyshev nodes in [-1, 1]
    t = (s + 1) / 2 * (1 - _TMIN) + _TMIN
    z = 2 * (1 / t - 1)
    p = np.array([math.log(math.erfc(v)) for v in z]) + z * z - np.log(t)
    return _cheb.cheb2poly(_cheb.chebfit(s, p, degree))


def _fit(degree: int) -> np.ndarray:
    """Power-basis coefficients (lowest first) of ``p(t)`` on ``[_TMIN, 1]``."""
    in_s = _fit_s(degree)
    # Substitute s = a*t + b so that evaluation needs only t.
    a, b = 2 / (1 - _TMIN), -2 * _TMIN / (1 - _TMIN) - 1
    in_t = np.zeros(1)
    for c in in_s[::-1]:
        in_t = _poly.polyadd(_poly.polymul(in_t, [b, a]), [c])
    return in_t


_COEF = {np.dtype(np.float32): _fit(10), np.dtype(np.float64): _fit(22)}


# P(t), highest power first (fitted once offline as described above; checked by
# test_gelu_float32_ulps).
_P_FIT = (
    0.035423726295076466,
    -0.15615839469146314,
    0.20455666738542927,
    -0.05203392297679413,
    0.12769172790693198,
    0.10017596297787477,
    0.1207121393256505,
    0.11963201207781249,
)
# Two passes saved by folding constants into the coefficients: t is computed as
# u = 1 / (w + 1/0.3) = 0.3 t (one add, no multiply), and Phi(-w) as phi(w) u P'(u) so that the
# derivative reuses exp's result as the density phi(w) directly.
_INV_K32 = np.float32(1 / 0.3)
_PDF = 1.0 / math.sqrt(2.0 * math.pi)
_P32 = tuple(
    np.float32(c * float(_INV_K32) ** (len(_P_FIT) - i) / _PDF) for i, c in enumerate(_P_FIT)
)


def gelu_f32(x: np.ndarray, grad: bool) -> tuple:
    """Exact GELU of a float32 array: ``(x * Phi(x), Phi(x) + x * phi(x))``, the second (the
    derivative, for backward) only when ``grad``, else None (new arrays in ``x``'s layout).

    ``Phi(x)`` is ``Phi(-w)`` below 0 (no cancellation in the left tail) and ``1 - Phi(-w)`` from
    0 on; NaN propagates, ``-0.`` gives ``-0.``.
    """
    if x.ndim == 0:  # (in-place ufuncs need arrays: NumPy turns 0-d results into scalars)
        out, d = gelu_f32(x.reshape(1), grad)
        return out.reshape(()), None if d is None else d.reshape(())
    out = np.empty_like(x)
    d = np.empty_like(x) if grad else None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        gelu_f32_into(x, out, d, spare=False)
    return out, d


def gelu_f32_into(
    x: np.ndarray, out: np.ndarray, d: np.ndarray | None = None, spare: bool = True
) -> None:
    """``gelu_f32`` into ``out`` (and the derivative into ``d`` unless None): arrays of ``x``'s
    shape and layout, not 0-d; the caller silences over/underflow and invalid (NaN inputs).

    ``spare``: one more temporary (for cache-sized blocks), so that every pass but two runs in
    place: NumPy's float32 ``a *= b`` and ``square(x)`` ran twice as fast as ``multiply(a, b,
    out=c)`` into a third array (64K elements in L2: 5.3-5.4 against 10-12 us, thread CPU time);
    then ``q`` has a buffer of its own and ``Phi(x)`` is built in ``out``, times ``x`` in place
    (the (64, 128, 768) forward in 32K blocks 27.2 -> 25.0 ms). Not for whole arrays: a fourth
    256 KB array made the (64, 1024) kernel 212 -> 372 us (glibc trimming and re-faulting the
    heap top, docs/performance.md item 21)."""
    w = np.abs(x)
    e = np.square(x, out=d) if spare else np.multiply(w, w, out=d)  # (d's buffer from here on)
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    e *= np.float32(_PDF)  # phi(w)
    u = np.add(w, _INV_K32, out=w)  # (in place: w is not needed again)
    np.divide(np.float32(1), u, out=u)  # (float32 divide: faster than reciprocal)
    q = u * _P32[0] if spare else np.multiply(u, _P32[0], out=out)
    q += _P32[1]
    for c in _P32[2:]:
        q *= u
        q += c
    q *= u
    q *= e  # Phi(-w)
    # Phi(x) = |[x >= 0] - q|: exactly q below 0 (a blend of both sides would cancel) and
    # 1 - q from 0 on (0 <= q < 1), in four passes (the bool compare copied, not a compare
    # cast into floats in buffers), in u's buffer unless ``spare``: with w reused for u, three
    # arrays in all instead of four (258 -> 225 us with the derivative at (64, 1024)).
    cdf = out if spare else u
    np.copyto(cdf, np.greater_equal(x, 0.0))
    cdf -= q
    np.abs(cdf, out=cdf)
    if d is not None:
        e *= x
        e += cdf  # Phi(x) + x phi(x)
    if spare:
        cdf *= x
    else:
        np.multiply(x, cdf, out=out)


def _erfc_pos(z: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """erfc for ``0 <= z <= _ZMAX`` (float64 array)."""
    t = 1.0 / (1.0 + 0.5 * z)
    acc = np.full_like(t, coef[-1])
    for c in coef[-2::-1]:
        acc *= t
        acc += c
    acc -= z * z
    np.exp(acc, out=acc)
    acc *= t
    return acc


def _erfc_tail(z: np.ndarray) -> np.ndarray:
    """Asymptotic erfc for ``z > _ZMAX`` (relative error below 1e-12 there)."""
    w = 1.0 / (2.0 * z * z)
    series = 1 - w * (
        1 - 3 * w * (1 - 5 * w * (1 - 7 * w * (1 - 9 * w * (1 - 11 * w * (1 - 13 * w)))))
    )
    with np.errstate(under="ignore"):
        return np.exp(-z * z) / (z * math.sqrt(math.pi)) * series


def erfc(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``erfc(x)`` in float64, accurate enough for results stored in ``dtype``."""
    x = np.asarray(x, dtype=np.float64)
    coef = _COEF.get(np.dtype(dtype), _COEF[np.dtype(np.float64)])
    z = np.abs(x)
    far = z > _ZMAX
    with np.errstate(under="ignore"):
        r = _erfc_pos(np.minimum(z, _ZMAX), coef)
    if far.any():
        r[far] = _erfc_tail(z[far])
    # erfc(-z) = 2 - erfc(z), blended arithmetically (np.where branches per element).
    r += (x < 0) * (2.0 - 2.0 * r)
    return r
