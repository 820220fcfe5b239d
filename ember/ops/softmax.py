"""Fused primitives for neural-network hot paths: softmax and log-softmax.

Each is one node with a hand-written backward: faster than composing exp/sum/div, and stable
(the max is subtracted before exponentiating).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from . import _softmax_rows as rows
from ._util import Primitive, on_graph, type_name, wrap_dim
from .elementwise import cast
from .shape import reshape


class Softmax(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        if rows.usable(x, axis):
            y = rows.softmax_forward(x)
            ctx.save_for_backward(y)
            return y
        half = x.dtype == np.float16  # PyTorch accumulates half precision in float32
        xf = x.astype(np.float32) if half else x
        e = xf - xf.max(axis=axis, keepdims=True, initial=-np.inf)  # initial: empty dims
        np.exp(e, out=e)
        e /= e.sum(axis=axis, keepdims=True)
        if half:
            e = e.astype(np.float16)
        ctx.save_for_backward(e)
        ctx.axis = axis
        return e

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not on_graph(g) and not on_graph(y) and rows.usable(y, ctx.axis):
            return rows.softmax_backward(g, y), None
        gy = g * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True), None


class LogSoftmax(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        if rows.usable(x, axis):
            out = rows.log_softmax_forward(x)
            ctx.save_for_backward(out)
            return out
        half = x.dtype == np.float16
        xf = x.astype(np.float32) if half else x
        m = xf.max(axis=axis, keepdims=True, initial=-np.inf)
        s = xf - m
        lse = np.log(np.exp(s).sum(axis=axis, keepdims=True))
        out = s - lse
        if half:
            out = out.astype(np.float16)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if not on_graph(g) and not on_graph(out) and rows.usable(out, ctx.axis):
            return rows.log_softmax_backward(g, out), None
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True), None


def _implicit_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _prep(input: Tensor, dim: Any, dtype: D.dtype | None, name: str) -> tuple:
    if dim is None:
        dim = _implicit_dim(name, input.ndim, 4)
    wrap_dim(dim, input.ndim)  # a bad dim is reported before a bad dtype, as PyTorch does
    if dtype is not None:
        input = cast(input, dtype)
    elif input.dtype.kind not in "fc" and input._data.size:  # (empty: no kernel runs)
        raise NotImplementedError(
            f"\"{name}_lastdim_kernel_impl\" not implemented for '{type_name(input.dtype)}'"
        )
    if input.ndim == 0:
        return input, None
    return input, wrap_dim(dim, input.ndim)


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: D.dtype | None = None
) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    x, axis = _prep(input, dim, dtype, "softmax")
    if x.dtype.kind not in "fc":  # an empty integer tensor: PyTorch runs no kernel
        return x.clone()
    if axis is None:  # 0-dim: NumPy arithmetic on 0-d arrays gives scalars, go through 1 element
        return reshape(Softmax.apply(reshape(x, (1,)), 0), ())
    return Softmax.apply(x, axis)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: D.dtype | None = None
) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    x, axis = _prep(input, dim, dtype, "log_softmax")
    if x.dtype.kind not in "fc":
        return x.clone()
    if axis is None:
        return reshape(LogSoftmax.apply(reshape(x, (1,)), 0), ())
    return LogSoftmax.apply(x, axis)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: D.dtype | None = None
) -> Tensor:
    from .unary import neg

    return softmax(neg(input), dim, dtype=dtype)
