"""``LinearBackward``: the three gradients of ``Linear`` (``x @ w.T + b``) as one primitive,
for higher-order gradients.

Under ``create_graph=True`` Linear's backward written with array operations records five ops
per layer (two products, a transpose, the bias reduction as a product with a constant); as one
node it records one. Its own derivatives are products of the same two kinds again:

    gx = g @ w        gw = g^T x        gb = sum_rows g
    d/dg = ggx @ w^T + x @ ggw^T + ggb  (a Linear, plus another one)
    d/dx = g @ ggw,   d/dw = g^T ggx    (the gx and gw of a LinearBackward)

so every order is made of ``Linear`` and ``LinearBackward`` nodes. First order (plain arrays)
``Linear`` keeps its own formula, ``linalg.linear_grads``, which is what this primitive's
forward runs: first derivatives under create_graph equal the first-order ones bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import NO_CTX
from ._graph_array import GraphArray
from ._util import Primitive, _wrap, on_graph
from .linalg import Linear, linear_grads

__all__ = ["LinearBackward", "linear_grads_on_graph"]


class LinearBackward(Primitive):
    """``(gx, gw, gb)`` of a Linear for the output gradient ``g``: the outputs that ``wanted``
    (a tuple of three bools) asks for, in that order (one output: not a tuple). ``x`` (``w``)
    may be None when ``gw`` (``gx``) is not wanted."""

    twice_differentiable = True
    # An output without a gradient adds nothing to the derivatives: no zeros, no products
    # with them (a PINN's d2u/dx2 differentiates only gx of its du/dx's LinearBackward nodes).
    materialize_grads = False

    @staticmethod
    def forward(ctx, g, x, w, wanted):
        ctx.save_for_backward(g, x, w)
        ctx.wanted = wanted
        outs = [r for r in linear_grads(g, x, w, wanted) if r is not None]
        # One output as itself, not a 1-tuple: a single-output node takes the engine's fast
        # path (a PINN's du/dx wants only gx of each layer).
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        g, x, w = ctx.saved_tensors
        it = iter(grads)
        ggx, ggw, ggb = (next(it) if k else None for k in ctx.wanted)
        nig = ctx.needs_input_grad
        dg = _grad_of_g(g, x, w, ggx, ggw, ggb) if nig[0] else None
        want_dx = nig[1] and ggw is not None
        want_dw = nig[2] and ggx is not None
        dx = dw = None
        if want_dx or want_dw:
            # d/dx = g @ ggw, d/dw = g^T ggx: the gx and gw of a Linear with input ggx and
            # weight ggw.
            dx, dw, _ = _linear_grads(g, ggx, ggw, (want_dx, want_dw, False))
        return dg, dx, dw, None


def _grad_of_g(g: Any, x: Any, w: Any, ggx: Any, ggw: Any, ggb: Any) -> Any:
    """``ggx @ w^T + x @ ggw^T + ggb`` (the terms whose gradients came), as Linears."""
    dg, b = None, ggb
    if ggx is not None:
        dg, b = _affine(ggx, w, b), None
    if ggw is not None:
        t, b = _affine(x, ggw, b), None
        dg = t if dg is None else dg + t
    if b is not None:  # only the bias gradient came
        dg = np.broadcast_to(b, g.shape)
        dg = dg if on_graph(dg) else dg.copy()
    return dg


def _affine(x: Any, w: Any, b: Any) -> Any:
    """``x @ w.T + b``: Linear's forward on arrays, a recorded Linear on GraphArrays."""
    if not _any_on_graph(x, w, b):
        return Linear.forward(NO_CTX, x, w, b)
    return GraphArray(Linear.apply(_tensor(x), _tensor(w), _tensor(b)))


def _linear_grads(g: Any, x: Any, w: Any, wanted: tuple) -> tuple:
    if _any_on_graph(g, x, w):
        return linear_grads_on_graph(g, x, w, wanted)
    return linear_grads(g, x, w, wanted)


def linear_grads_on_graph(g: Any, x: Any, w: Any, wanted: tuple) -> tuple:
    """create_graph: Linear's ``(gx, gw, gb)`` (None where not wanted) as the outputs of one
    recorded ``LinearBackward`` op. Only the operands the wanted gradients read are its inputs
    (``gx`` reads ``w``, ``gw`` reads ``x``): no edge, so no later gradient, to the others."""
    x = x if wanted[1] else None
    w = w if wanted[0] else None
    out = LinearBackward.apply(_tensor(g), _tensor(x), _tensor(w), wanted)
    if type(out) is not tuple:
        return tuple([GraphArray(out) if k else None for k in wanted])
    outs = iter(out)
    return tuple([GraphArray(next(outs)) if k else None for k in wanted])


def _any_on_graph(*operands: Any) -> bool:
    return any(a is not None and on_graph(a) for a in operands)


def _tensor(a: Any) -> Any:
    """An operand for ``apply``: a GraphArray's tensor, an array as a constant, None as is."""
    if a is None:
        return None
    return a.t if isinstance(a, GraphArray) else _wrap(np.asarray(a))
