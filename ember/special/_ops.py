"""The primitives only ``ember.special`` has: ``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``,
``entr``, ``xlog1py``, ``zeta`` and the incomplete gamma functions ``gammainc``/``gammaincc``.
The functions ``torch`` also has at top level (``lgamma``, ``digamma``, ``polygamma``,
``erfinv``, ``erfc``, the Bessel functions, ``xlogy``, ``sinc``, ``logit``) use the one primitive
of ``ember/ops/special_fn.py`` / ``ember/ops/pointwise.py``.

Kernels compute in float64; results are rounded to the input's floating dtype. Each backward is
PyTorch's derivative formula, written once on NumPy and twice differentiable
(docs/architecture.md, "Higher-order gradients"): everything it reads is a saved input or
output, and a derivative with no NumPy spelling is itself a primitive applied on the graph.
PyTorch has no derivative of ``zeta`` in its first argument nor of ``gammainc``/``gammaincc``
in theirs: asking for one raises NotImplementedError, as there.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops._util import Primitive, on_graph, unbroadcast
from ..ops.special_fn import Lgamma, elementwise_special
from . import _igamma as G
from . import _kernels as K

__all__ = [
    "Erfcx",
    "Ndtr",
    "Ndtri",
    "LogNdtr",
    "Entr",
    "Xlog1py",
    "Zeta",
    "Gammainc",
    "Gammaincc",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _as(r: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``r`` in ``like``'s dtype (values beyond float32's range become +-inf silently)."""
    with np.errstate(over="ignore"):
        return np.asarray(r, dtype=np.float64).astype(like.dtype, copy=False)


def _ndtr(x: np.ndarray) -> np.ndarray:
    return 0.5 * K.erfc(-x / math.sqrt(2))


def _entr(x: np.ndarray) -> np.ndarray:
    r = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, r)


def _normal_pdf(x):
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _elementwise(name: str, kernel, derivative) -> type:
    """ops.special_fn's twice-differentiable elementwise primitive, defined in this module."""
    return elementwise_special(name, kernel, derivative, module=__name__)


# name, kernel, derivative (PyTorch's derivatives.yaml)
Erfcx = _elementwise("Erfcx", K.erfcx, lambda x, o: 2 * x * o - 2 / _SQRT_PI)
Ndtr = _elementwise("Ndtr", _ndtr, lambda x, o: _normal_pdf(x))
Ndtri = _elementwise("Ndtri", K.ndtri, lambda x, o: _SQRT_2PI * np.exp(0.5 * o * o))
LogNdtr = _elementwise("LogNdtr", K.log_ndtr, lambda x, o: np.exp(-0.5 * x * x - o) / _SQRT_2PI)
Entr = _elementwise("Entr", _entr, lambda x, o: -(1 + np.log(x)))


class Xlog1py(Primitive):
    """``x * log1p(y)``, 0 where ``x`` is 0 (unless ``y`` is NaN)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(all="ignore"):
            r = np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log1p(y))
        return r.astype(np.result_type(x, y), copy=False)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gy = None
        with np.errstate(all="ignore"):
            if nig[0]:  # PyTorch: g * xlog1py(x != 0, y)
                gx = unbroadcast(g * np.where((x != 0) | np.isnan(y), np.log1p(y), 0.0), x.shape)
            if nig[1]:
                gy = unbroadcast(g * x / (y + 1.0), y.shape)
        return gx, gy


class Zeta(Primitive):
    """The Hurwitz zeta function ``zeta(x, q)``: differentiable in ``q`` only (as PyTorch)."""

    twice_differentiable = True

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
            # d/dq zeta(x, q) = -x zeta(x + 1, q): on the graph, zeta itself recorded.
            shifted = (x + 1.0).apply(Zeta, q.t) if on_graph(q) else _as(K.zeta(x + 1.0, q), g)
            return None, unbroadcast(g * -x * shifted, q.shape)


class Gammainc(Primitive):
    """The regularised lower incomplete gamma function ``P(a, x)``; ``Gammaincc`` (``Q = 1 -
    P``) shares it with ``lower = False``. Differentiable in ``x`` only (as PyTorch)."""

    twice_differentiable = True
    lower = True
    name = "igamma"

    @classmethod
    def forward(cls, ctx, a, x):
        ctx.save_for_backward(a, x)
        fn = G.gammainc if cls.lower else G.gammaincc
        return fn(a, x).astype(np.result_type(a, x), copy=False)

    @classmethod
    def backward(cls, ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{cls.name}: input' is not implemented.")
        a64, x64 = a.astype(np.float64, copy=False), x.astype(np.float64, copy=False)
        with np.errstate(all="ignore"):
            # The Gamma(a) density at x: x^(a-1) e^-x / Gamma(a) (PyTorch's formula, NaN at
            # x = 0 for a = 1 as there).
            lg = a64.apply(Lgamma) if on_graph(a64) else G.lgamma(a64)
            dens = np.exp((a64 - 1.0) * np.log(x64) - x64 - lg)
            gx = (g * (dens if cls.lower else -dens)).astype(g.dtype, copy=False)
        return None, unbroadcast(gx, x.shape)


class Gammaincc(Gammainc):
    lower = False
    name = "igammac"
