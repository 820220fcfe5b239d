"""Scans along one dim: ``cummax``/``cummin`` (with indices), ``logcumsumexp``, and ``diff``."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ._util import Primitive, on_graph, wrap_dim
from .elementwise import sub
from .indexing import add_into_zeros, getitem

__all__ = ["cummax", "cummin", "logcumsumexp", "diff", "trapezoid", "cumulative_trapezoid"]

_RESULTS = {name: namedtuple(name, ["values", "indices"]) for name in ("cummax", "cummin")}


class CumExtreme(Primitive):
    """Running max/min with the index where it was reached; the gradient goes to that index."""

    non_differentiable = (1,)
    twice_differentiable = True  # (a scatter-add of g: recorded under create_graph)

    @staticmethod
    def forward(ctx, x, axis, is_max):
        acc = np.maximum if is_max else np.minimum  # both propagate NaN, as PyTorch
        vals = acc.accumulate(x, axis=axis)
        # PyTorch moves the index on ties (the latest position wins) and to every NaN.
        hit = vals == x
        if x.dtype.kind in "fc":
            hit |= np.isnan(x)
        pos = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=axis).astype(np.int64)
        ctx.meta = (x.shape, axis, idx)
        return vals, idx

    @staticmethod
    def backward(ctx, g, _gi=None):
        shape, axis, idx = ctx.meta
        grids = list(np.indices(idx.shape, sparse=True))
        grids[axis] = idx
        return add_into_zeros(shape, tuple(grids), g), None, None


def _cum_extreme(input: Tensor, dim: int, is_max: bool, name: str) -> Any:
    axis = wrap_dim(dim, input.ndim)
    if input.dtype.is_complex:
        raise RuntimeError(f"{name} is not implemented for complex tensors.")
    if input.ndim == 0:
        return _RESULTS[name](input.clone(), _wrap(np.zeros((), np.int64)))
    if input._data.size == 0:
        return _RESULTS[name](input.clone(), _wrap(np.zeros(input._data.shape, np.int64)))
    v, i = CumExtreme.apply(input, axis, is_max)
    return _RESULTS[name](v, i)


def cummax(input: Tensor, dim: int) -> Any:
    """Running maximum along ``dim`` and the index where each was reached."""
    return _cum_extreme(input, dim, True, "cummax")


def cummin(input: Tensor, dim: int) -> Any:
    """Running minimum along ``dim`` and the index where each was reached."""
    return _cum_extreme(input, dim, False, "cummin")


def _reverse_logcumsumexp(a: Any, axis: int) -> Any:
    if on_graph(a):  # create_graph: the op itself, so that the formula records its graph
        return np.flip(np.flip(a, axis).apply(LogCumSumExp, axis), axis)
    return np.flip(np.logaddexp.accumulate(np.flip(a, axis), axis=axis), axis)


class LogCumSumExp(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis):
        out = np.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        # d out_j / d x_i = exp(x_i - out_j) for j >= i. Summed stably in log space, with the
        # positive and negative parts of g apart: grad_i = exp(x_i + log sum_j>=i g_j e^-out_j).
        # On the graph the parts left out are the lowest finite number rather than -inf (as
        # PyTorch's formula): -inf would make the second derivative NaN (inf - inf).
        x, out = ctx.saved_tensors
        a = ctx.axis
        off = np.finfo(x.dtype).min if on_graph(g) else -np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = np.log(np.abs(g))
            pos = np.where(g > 0, lg - out, off)
            neg = np.where(g < 0, lg - out, off)
            gp = np.exp(x + _reverse_logcumsumexp(pos, a))
            gn = np.exp(x + _reverse_logcumsumexp(neg, a))
        return (gp - gn).astype(g.dtype, copy=False), None


def logcumsumexp(input: Tensor, dim: int, *, out: Any = None) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim`` without overflow."""
    axis = wrap_dim(dim, input.ndim)
    if not input.dtype.is_floating_point:
        from ._util import type_name

        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{type_name(input.dtype)}'"
        )
    if input.ndim == 0:
        return input.clone()
    return LogCumSumExp.apply(input, axis)


def diff(
    input: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    from .compare import logical_xor
    from .join import cat

    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = wrap_dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, axis) if len(parts) > 1 else input
    head = (slice(None),) * axis
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        hi, lo = getitem(x, head + (slice(1, None),)), getitem(x, head + (slice(None, -1),))
        x = logical_xor(hi, lo) if x.dtype.name == "bool" else sub(hi, lo)
    return x


def _trapezoid_parts(y: Tensor, x: Tensor | None, dx: float | None, dim: int) -> Any:
    """The trapezoid areas along ``dim``: ``(y[1:] + y[:-1]) / 2`` times the spacing."""
    from .elementwise import add, cast, mul
    from .shape import reshape

    if x is not None and dx is not None:
        raise RuntimeError("trapezoid: received both x and dx; pass only one")
    if y.dtype._kind < 2:  # integers and bools integrate in the default float dtype
        from .. import _dtype as D

        y = cast(y, D.get_default_dtype())
    axis = wrap_dim(dim, y.ndim)
    head = (slice(None),) * axis
    hi, lo = getitem(y, head + (slice(1, None),)), getitem(y, head + (slice(None, -1),))
    mean = mul(add(hi, lo), 0.5)
    if x is None:
        return mul(mean, 1.0 if dx is None else dx)
    spacing = diff(x, dim=-1 if x.ndim == 1 else dim)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[axis] = spacing.shape[0]
        spacing = reshape(spacing, tuple(shape))
    return mul(mean, spacing)


def trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoidal rule (spacing ``x`` or ``dx``)."""
    from .reduction import sum as _sum

    return _sum(_trapezoid_parts(y, x, dx, dim), wrap_dim(dim, y.ndim))


def cumulative_trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The running trapezoidal integral of ``y`` along ``dim`` (one element shorter)."""
    from .reduction import cumsum

    return cumsum(_trapezoid_parts(y, x, dx, dim), wrap_dim(dim, y.ndim))


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
