"""Special functions in NumPy alone (no SciPy): ``lgamma``, ``digamma``, ``polygamma``,
``erfinv``, ``erfc``, ``mvlgamma``, ``i0``/``i0e``/``i1``/``i1e``, ``xlogy``, as differentiable ops.

Two layers, so other families (``ember.special``, distributions) can reuse them:

* array kernels in ``_special_kernels.py``, re-exported here (``lgamma_np``, ``digamma_np``,
  ``trigamma_np``, ``polygamma_np``, ``zeta_np``, ``erfinv_np``, ``i0_np``, ``i0e_np``,
  ``i1_np``, ``i1e_np``), float64 arrays in and out;
* Tensor functions (``lgamma``, ``digamma``, ...) that compute in float64 and round to the
  input's floating dtype (integers and bools give the default float dtype, as in PyTorch).

The primitives are twice differentiable. The elementwise ones are rows of one table
(``elementwise_special(name, kernel, derivative)``, which ``ember.special`` uses for its own):
each derivative is written once on NumPy, and where it is another special function (lgamma ->
digamma -> polygamma, i0 <-> i1) that function's primitive is applied on the graph.

Algorithms: ``lgamma`` is ``math.lgamma`` per element, with the Taylor series around its roots
1 and 2 (where ``math.lgamma`` loses ~10 ulps); ``digamma`` shifts the argument past 10 with the
recurrence, then the asymptotic series, with the reflection formula below 0 (PyTorch's own
method, so results agree to rounding, including the loss of relative accuracy near the positive
root); trigamma likewise; higher polygammas are ``(-1)^(n+1) n! zeta(n+1, x)`` with the Hurwitz
zeta by Euler-Maclaurin summation. ``erfinv`` starts from a rational approximation and refines
with Halley steps on ``erf`` (``erfc`` in the tails, where ``1 - y`` is exact). The Bessel
functions sum the power series (all terms positive for ``i0``) below 20 and the asymptotic
expansion from 20 on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor
from ._special_kernels import (
    _ERFC,
    digamma_np,
    erfinv_np,
    i0_np,
    i0e_np,
    i1_np,
    i1e_np,
    lgamma_np,
    polygamma_np,
    trigamma_np,
    zeta_np,
)
from ._util import Primitive, as_tensor_arg, on_graph, unbroadcast
from .elementwise import cast

__all__ = [
    "lgamma_np",
    "digamma_np",
    "trigamma_np",
    "polygamma_np",
    "zeta_np",
    "erfinv_np",
    "i0_np",
    "i0e_np",
    "i1_np",
    "i1e_np",
    "lgamma",
    "digamma",
    "polygamma",
    "erfinv",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "xlogy",
    "erfc",
    "mvlgamma",
]


# ---- differentiable Tensor functions -----------------------------------------------------------
def _as_float(input: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind == "c":
        raise NotImplementedError("ember's special functions take real tensors only")
    if input._data.dtype.kind != "f":
        return cast(input, D.get_default_dtype())
    return input


def _in64(kernel, x: np.ndarray) -> np.ndarray:
    """Run a float64 kernel and round back to ``x``'s dtype (0-d stays 0-d); poles, NaN and
    values beyond float32's range give inf/NaN as in PyTorch, without NumPy warnings."""
    with np.errstate(all="ignore"):
        return np.asarray(kernel(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def _of(prim: type, kernel, x: Any, *args: Any) -> Any:
    """``kernel(x)`` in float64 on an array; ``prim`` applied on the graph to a GraphArray (the
    derivatives below are themselves primitives here: create_graph differentiates them)."""
    return x.apply(prim, *args) if on_graph(x) else _in64(kernel, x)


def elementwise_special(name: str, kernel, derivative, module: str = __name__) -> type:
    """A twice-differentiable primitive ``kernel(x)`` (a float64 kernel, rounded to ``x``'s
    dtype) whose derivative is ``derivative(x, out)``: written on NumPy, it receives float64
    arrays first order and float64 GraphArrays under create_graph (the saved input and the
    output), where the primitives it reaches through ``_of`` are recorded too. ``module`` is
    the defining module's name (the class's ``__module__``)."""

    def forward(ctx, x):
        out = _in64(kernel, x)
        ctx.save_for_backward(x, out)  # the very array returned: on the graph as the output
        return out

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        with np.errstate(all="ignore"):  # poles and overflow give inf/NaN, as PyTorch
            d = derivative(x.astype(np.float64, copy=False), out.astype(np.float64, copy=False))
            return (g * d).astype(g.dtype, copy=False)

    body = {
        "__module__": module,
        "twice_differentiable": True,
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": f"The primitive of ``{name.lower()}`` (kernel ``{kernel.__name__}``).",
    }
    return type(name, (Primitive,), body)


def _erfc_np(x: np.ndarray) -> np.ndarray:
    return _ERFC(x)  # math.erfc per element


def _over_x(x, at0, r):
    """``r / x``, ``at0`` at 0 (the Bessel derivatives' ``i1(x) / x``, 1/2 at 0)."""
    return np.where(x == 0, at0, r / np.where(x == 0, 1, x))


# name, kernel, derivative: the chain Lgamma -> Digamma -> Polygamma(1) -> Polygamma(2)...,
# I0 -> I1 -> I0 (PyTorch's derivatives.yaml formulas).
Lgamma = elementwise_special("Lgamma", lgamma_np, lambda x, o: _of(Digamma, digamma_np, x))
Digamma = elementwise_special("Digamma", digamma_np, lambda x, o: _of(Polygamma, trigamma_np, x, 1))
Erfinv = elementwise_special(
    "Erfinv", erfinv_np, lambda x, o: (math.sqrt(math.pi) / 2) * np.exp(o * o)
)
Erfc = elementwise_special(
    "Erfc", _erfc_np, lambda x, o: (-2 / math.sqrt(math.pi)) * np.exp(-x * x)
)
I0 = elementwise_special("I0", i0_np, lambda x, o: _of(I1, i1_np, x))
I0e = elementwise_special("I0e", i0e_np, lambda x, o: _of(I1e, i1e_np, x) - np.sign(x) * o)
I1 = elementwise_special("I1", i1_np, lambda x, o: _of(I0, i0_np, x) - _over_x(x, 0.5, o))
I1e = elementwise_special(
    "I1e", i1e_np, lambda x, o: _of(I0e, i0e_np, x) - np.sign(x) * o - _over_x(x, 0.5, o)
)


class Polygamma(Primitive):
    """``polygamma(n, x)``; its derivative is ``polygamma(n + 1, x)``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _in64(lambda a: polygamma_np(n, a), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        n = ctx.n + 1
        with np.errstate(all="ignore"):
            return g * _of(Polygamma, lambda a: polygamma_np(n, a), x, n), None


def lgamma(input: Tensor, *, out: Any = None) -> Tensor:
    """``log|Gamma(input)|`` elementwise."""
    return Lgamma.apply(_as_float(input))


def digamma(input: Tensor, *, out: Any = None) -> Tensor:
    """The logarithmic derivative of Gamma elementwise."""
    return Digamma.apply(_as_float(input))


def polygamma(n: int, input: Tensor, *, out: Any = None) -> Tensor:
    """The ``n``-th derivative of ``digamma`` elementwise (``n >= 0``)."""
    if isinstance(n, Tensor) or not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(
            f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}"
        )
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(_as_float(input), int(n))


def erfinv(input: Tensor, *, out: Any = None) -> Tensor:
    """The inverse error function elementwise."""
    return Erfinv.apply(_as_float(input))


def i0(input: Tensor, *, out: Any = None) -> Tensor:
    """The modified Bessel function of the first kind, order 0, elementwise."""
    return I0.apply(_as_float(input))


def i0e(input: Tensor, *, out: Any = None) -> Tensor:
    """``i0(input) * exp(-|input|)`` elementwise."""
    return I0e.apply(_as_float(input))


def i1(input: Tensor, *, out: Any = None) -> Tensor:
    """The modified Bessel function of the first kind, order 1, elementwise."""
    return I1.apply(_as_float(input))


def i1e(input: Tensor, *, out: Any = None) -> Tensor:
    """``i1(input) * exp(-|input|)`` elementwise."""
    return I1e.apply(_as_float(input))


def erfc(input: Tensor, *, out: Any = None) -> Tensor:
    """``1 - erf(input)`` elementwise, accurate in the right tail (``math.erfc`` per element)."""
    return Erfc.apply(_as_float(input))


def mvlgamma(input: Tensor, p: int, *, out: Any = None) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p (p - 1) / 4 log(pi) + sum_i lgamma(input - i / 2)`` for ``i < p``."""
    from .reduction import sum as _sum
    from .shape import unsqueeze

    if not isinstance(p, int) or p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _as_float(input)
    shifts = _wrap_np(-np.arange(p, dtype=x._data.dtype) / 2)
    terms = lgamma(unsqueeze(x, -1) + shifts)
    return _sum(terms, -1) + p * (p - 1) / 4 * math.log(math.pi)


def _wrap_np(a: np.ndarray) -> Tensor:
    from .._tensor import _wrap

    return _wrap(a)


class Xlogy(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(all="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y))
        return np.asarray(out, dtype=np.result_type(x, y))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        with np.errstate(all="ignore"):
            if ctx.needs_input_grad[0]:
                # PyTorch: xlogy(g, y), except 0 where x == 0 and y <= 0 (log y undefined there).
                gx = np.where((g == 0) & ~np.isnan(y), 0, g * np.log(y))
                gx = unbroadcast(np.where((x == 0) & (y <= 0), 0, gx), x.shape)
            if ctx.needs_input_grad[1]:
                gy = unbroadcast(g * x / y, y.shape)
        return gx, gy


def xlogy(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is nan)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    a = as_tensor_arg(input, like=other if isinstance(other, Tensor) else None)
    b = as_tensor_arg(other, like=a)
    dt = D.result_type_dims(a.dtype, a.ndim, b.dtype, b.ndim)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    a, b = cast(a, dt), cast(b, dt)
    try:
        np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        from ._util import broadcast_error

        raise broadcast_error(a, b) from None
    return Xlogy.apply(a, b)


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
