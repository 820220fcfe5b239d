"""The gradients of tanh and sigmoid as primitives of their own (PyTorch's ``tanh_backward`` and
``sigmoid_backward``), for higher-order gradients.

Under ``create_graph=True`` tanh's formula ``g * (1 - y**2)`` written with array operations
would record three ops; as one primitive it records one, and its own backward (the second
derivative) is one more of the same plus a product. First order, ``Tanh`` and ``Sigmoid`` keep
their array formulas, which these primitives' forwards run too: first derivatives under
create_graph equal the first-order ones bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._blockwise import MIN_BLOCKED, blocked, run_kernel
from ._util import Primitive, _wrap, on_graph, unbroadcast

__all__ = [
    "TanhBackward",
    "SigmoidBackward",
    "ScaledProduct",
    "tanh_grad",
    "tanh_backward",
    "sigmoid_grad",
    "scaled_product",
]

_ARRAYS = (np.ndarray, np.generic)


def _sigmoid_grad_array(g: Any, y: Any) -> Any:
    if _big(g, y):
        return _blocked(_sigmoid_grad_into, g, y, "sigmoid_bwd")
    d = 1 - y  # g y (1 - y) with one temporary
    d *= y
    d *= g
    return d


def _sigmoid_grad_into(y: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    np.subtract(1, y, out=d)
    d *= y
    d *= g


def _tanh_grad_into(y: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    np.square(y, out=d)  # (y * y bit for bit)
    np.subtract(1, d, out=d)
    np.multiply(g, d, out=d)


def _big(g: Any, y: Any) -> bool:
    """Whether ``g`` and ``y`` are big arrays of one dtype and layout (mixed dtypes keep the
    expression, whose intermediate roundings are in ``y``'s dtype)."""
    return (
        type(y) is np.ndarray
        and y.size >= MIN_BLOCKED
        and type(g) is np.ndarray
        and g.dtype == y.dtype
        and blocked(y, g)
    )


def _blocked(kernel: Any, g: np.ndarray, y: np.ndarray, site: str) -> np.ndarray:
    """``kernel(y, g, out)`` of a big gradient over L2-sized blocks in per-core chunks, into a
    pooled array in ``y``'s layout (``ops/_blockwise.run_kernel``)."""
    return run_kernel(kernel, (y, g), (np.result_type(g, y),), site)[0]


def _on_graph_call(prim: type, g: Any, y: Any) -> Any:
    """``prim`` applied to GraphArray ``g`` and ``y`` (a constant when a plain array)."""
    return g.apply(prim, y.t if on_graph(y) else _wrap(y))


def tanh_grad(g: Any, y: Any) -> Any:
    """``g * (1 - y**2)``: the gradient of ``y = tanh(x)`` for the output gradient ``g``
    (arrays, or GraphArrays under create_graph: then one recorded ``TanhBackward`` op)."""
    return tanh_backward(g, None, y)


def tanh_backward(g: Any, x: Any, y: Any) -> Any:
    """``tanh_grad`` in the ``(g, input, output)`` form of ``unary._unary``'s formulas (one
    call less on every tanh's first-order backward)."""
    if isinstance(g, _ARRAYS):  # first order (inline: this is every tanh's backward)
        # g * (1 - y**2), as PyTorch: g - g * y**2 would give inf - inf = NaN for an inf g.
        # (As fast as array-only forms on small arrays; out= forms cost more Python.)
        if _big(g, y):
            return _blocked(_tanh_grad_into, g, y, "tanh_bwd")
        return g * (1 - y * y)
    return _on_graph_call(TanhBackward, g, y)


def sigmoid_grad(g: Any, y: Any) -> Any:
    """``g * y * (1 - y)``: the gradient of ``y = sigmoid(x)`` (one recorded
    ``SigmoidBackward`` op under create_graph)."""
    if on_graph(g):
        return _on_graph_call(SigmoidBackward, g, y)
    return _sigmoid_grad_array(g, y)


class TanhBackward(Primitive):
    """``tanh_backward(g, y) = g * (1 - y**2)``; its derivatives: ``tanh_backward(gg, y)``
    for ``g`` and ``-2 gg g y`` for ``y``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return tanh_backward(g, None, y)  # (arrays here: the first-order formula)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        dg = unbroadcast(tanh_grad(gg, y), g.shape) if nig[0] else None
        dy = unbroadcast(scaled_product(gg, g, y, -2), y.shape) if nig[1] else None
        return dg, dy


class SigmoidBackward(Primitive):
    """``sigmoid_backward(g, y) = g * y * (1 - y)``; its derivatives:
    ``sigmoid_backward(gg, y)`` for ``g`` and ``gg g (1 - 2y)`` for ``y``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return _sigmoid_grad_array(g, y)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        dg = unbroadcast(sigmoid_grad(gg, y), g.shape) if nig[0] else None
        dy = unbroadcast(gg * g * (1 - 2 * y), y.shape) if nig[1] else None
        return dg, dy


def scaled_product(a: Any, b: Any, d: Any, c: float) -> Any:
    """``c * a * b * d`` (``c`` a Python number): arrays, or one recorded ``ScaledProduct`` op
    when any operand is a GraphArray (tanh's second derivative ``-2 gg g y`` would record three
    products)."""
    if isinstance(a, _ARRAYS) and isinstance(b, _ARRAYS) and isinstance(d, _ARRAYS):
        return _scaled_product_array(a, b, d, c)
    on = [x for x in (a, b, d) if on_graph(x)]
    t = [x.t if on_graph(x) else _wrap(x) for x in (a, b, d)]
    return type(on[0])(ScaledProduct.apply(t[0], t[1], t[2], c))  # a GraphArray


def _scaled_product_array(a: Any, b: Any, d: Any, c: float) -> Any:
    t = a * b  # ((a b) d) c, one temporary: what -2 * (gg * g * y) computed, bit for bit
    t = np.multiply(t, d, out=t) if t.shape == np.broadcast_shapes(t.shape, d.shape) else t * d
    t *= c
    return t


class ScaledProduct(Primitive):
    """``c * a * b * d`` for three tensors and a number: one op for tanh's second derivative;
    its derivatives are ScaledProducts again (``c h b d`` for ``a``, and so on)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, b, d, c):
        ctx.save_for_backward(a, b, d)
        ctx.c = c
        return _scaled_product_array(a, b, d, c)

    @staticmethod
    def backward(ctx, h):
        a, b, d = ctx.saved_tensors
        nig, c = ctx.needs_input_grad, ctx.c
        ga = unbroadcast(scaled_product(h, b, d, c), a.shape) if nig[0] else None
        gb = unbroadcast(scaled_product(h, a, d, c), b.shape) if nig[1] else None
        gd = unbroadcast(scaled_product(h, a, b, c), d.shape) if nig[2] else None
        return ga, gb, gd, None
