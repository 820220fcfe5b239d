"""Differentiable primitives of ``ember.special`` over the kernels in ``_kernels.py``.

Kernels compute in float64; results are cast back to the input's floating dtype. Each backward
is PyTorch's derivative formula (``derivatives.yaml``).
"""

from __future__ import annotations

import math

import numpy as np

from ..ops._util import Primitive, unbroadcast
from . import _kernels as K

__all__ = [
    "Lgamma",
    "Digamma",
    "Polygamma",
    "Erfc",
    "Erfcx",
    "Erfinv",
    "Ndtr",
    "Ndtri",
    "LogNdtr",
    "I0",
    "I0e",
    "I1",
    "I1e",
    "Sinc",
    "Entr",
    "Logit",
    "Xlogy",
    "Xlog1py",
    "Zeta",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _as(r: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``r`` in ``like``'s dtype (values beyond float32's range become +-inf silently)."""
    with np.errstate(over="ignore"):
        return np.asarray(r, dtype=np.float64).astype(like.dtype, copy=False)


def _unary(name: str, kernel, grad) -> type:
    """A primitive ``kernel(x)`` whose backward is ``g * grad(x, out)`` (both float64)."""

    def forward(ctx, x):
        x64 = x.astype(np.float64)
        with np.errstate(all="ignore"):
            out = kernel(x64)
        ctx.save_for_backward(x64, out)
        return _as(out, x)

    def backward(ctx, g):
        x64, out = ctx.saved_tensors
        with np.errstate(all="ignore"):
            return _as(g * grad(x64, out), g)

    return type(
        name, (Primitive,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    )


def _i1(x):
    return K.i1e(x) * np.exp(np.abs(x))


def _i0(x):
    return K.i0e(x) * np.exp(np.abs(x))


def _where0(x, at0, r):
    return np.where(x == 0, at0, r)


Lgamma = _unary("Lgamma", K.lgamma, lambda x, o: K.digamma(x))
Digamma = _unary("Digamma", K.digamma, lambda x, o: K.polygamma(1, x))
Erfc = _unary("Erfc", K.erfc, lambda x, o: -2 / _SQRT_PI * np.exp(-x * x))
Erfcx = _unary("Erfcx", K.erfcx, lambda x, o: 2 * x * o - 2 / _SQRT_PI)
Erfinv = _unary("Erfinv", K.erfinv, lambda x, o: _SQRT_PI / 2 * np.exp(o * o))
Ndtr = _unary(
    "Ndtr",
    lambda x: 0.5 * K.erfc(-x / math.sqrt(2)),
    lambda x, o: np.exp(-0.5 * x * x) / _SQRT_2PI,
)
Ndtri = _unary("Ndtri", K.ndtri, lambda x, o: _SQRT_2PI * np.exp(0.5 * o * o))
LogNdtr = _unary("LogNdtr", K.log_ndtr, lambda x, o: np.exp(-0.5 * x * x - o) / _SQRT_2PI)
I0 = _unary("I0", _i0, lambda x, o: _i1(x))
I0e = _unary("I0e", K.i0e, lambda x, o: K.i1e(x) - np.sign(x) * o)
I1 = _unary("I1", _i1, lambda x, o: _where0(x, 0.5, _i0(x) - o / x))
I1e = _unary("I1e", K.i1e, lambda x, o: _where0(x, 0.5, K.i0e(x) - o * (np.sign(x) + 1 / x)))


def _sinc(x):
    px = np.pi * x
    return _where0(x, 1.0, np.sin(px) / px)


Sinc = _unary("Sinc", _sinc, lambda x, o: _where0(x, 0.0, (np.cos(np.pi * x) - o) / x))


def _entr(x):
    r = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, r)


Entr = _unary("Entr", _entr, lambda x, o: -(1 + np.log(x)))


class Polygamma(Primitive):
    @staticmethod
    def forward(ctx, x, n):
        x64 = x.astype(np.float64)
        ctx.save_for_backward(x64)
        ctx.n = n
        return _as(K.polygamma(n, x64), x)

    @staticmethod
    def backward(ctx, g):
        (x64,) = ctx.saved_tensors
        return _as(g * K.polygamma(ctx.n + 1, x64), g), None


class Logit(Primitive):
    @staticmethod
    def forward(ctx, x, eps):
        x64 = x.astype(np.float64)
        if eps is not None:
            x64 = np.clip(x64, eps, 1 - eps)
        ctx.save_for_backward(x.astype(np.float64))
        ctx.eps = eps
        with np.errstate(divide="ignore", invalid="ignore"):
            return _as(np.log(x64 / (1 - x64)), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        with np.errstate(all="ignore"):
            r = g / (x * (1 - x))
        if eps is not None:  # clamped: no gradient outside [eps, 1 - eps]
            r = np.where((x < eps) | (x > 1 - eps), 0.0, r)
        return _as(r, g), None


class Xlogy(Primitive):
    """x * log(y), 0 where x == 0 (unless y is NaN)."""

    log = staticmethod(np.log)
    dlog_shift = 0.0

    @classmethod
    def _f(cls, x, y):
        with np.errstate(all="ignore"):
            r = x * cls.log(y)
        return np.where((x == 0) & ~np.isnan(y), 0.0, r)

    @classmethod
    def forward(cls, ctx, x, y):
        ctx.save_for_backward(x, y)
        return cls._f(x, y).astype(np.result_type(x, y), copy=False)

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gy = None
        with np.errstate(all="ignore"):
            if nig[0]:
                gx = unbroadcast(g * cls._f((x != 0).astype(g.dtype), y), x.shape)
            if nig[1]:
                gy = unbroadcast(g * x / (y + cls.dlog_shift), y.shape)
        return gx, gy


class Xlog1py(Xlogy):
    log = staticmethod(np.log1p)
    dlog_shift = 1.0


class Zeta(Primitive):
    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        with np.errstate(all="ignore"):
            return K.zeta(x, q).astype(np.result_type(x, q), copy=False)

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        with np.errstate(all="ignore"):
            gq = g * -x * K.zeta(x + 1.0, q)
        return None, unbroadcast(_as(gq, g), q.shape)
