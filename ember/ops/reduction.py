"""Reductions: sum, mean, var/std, prod, max/min, argmax, logsumexp, norm, all/any, cumsum."""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _dtype as D
from .._dtype_names import type_name
from .._out import accepts_out
from .._tensor import Tensor, _wrap
from ._bitmask import where_or_zero
from ._spatial_mean import trailing_mean
from ._util import Primitive, dims_of, on_graph, wrap_dim
from .elementwise import cast

values_indices = {
    name: namedtuple(name, ["values", "indices"])
    for name in ("max", "min", "sort", "topk", "kthvalue", "median", "mode")
}


def _expand_back(g: np.ndarray, shape: tuple, axes: tuple | None, keepdim: bool) -> np.ndarray:
    """Broadcast a reduction's gradient back to the input ``shape`` (``axes`` None: all)."""
    if g.size == 1 and not on_graph(g):
        # A full reduction (``loss.sum()``, ``.mean()``): a read-only zero-stride view of the one
        # value, made directly (np.broadcast_to costs 4x more, once per backward).
        out = np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
        out.flags.writeable = False
        return out
    if not keepdim and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.meta = (x.shape, axes, keepdim, x.dtype)
        if dtype is None and x.dtype.kind == "b":
            dtype = np.int64
        # np.add.reduce rather than ndarray.sum (a Python wrapper in NumPy): the same pairwise
        # sum, and NumPy's overflow warnings name ember's module, which ember filters.
        if axes is None:
            return np.asarray(np.add.reduce(x, axis=None, dtype=dtype))
        return np.asarray(np.add.reduce(x, axis=axes, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, dt = ctx.meta
        return _expand_back(g.astype(dt, copy=False), shape, axes, keepdim), None, None, None


def _sum_dtype(x: Tensor, dtype: D.dtype | None) -> Any:
    if dtype is not None:
        return dtype.np
    if x._data.dtype.kind in "biu":
        return np.int64
    return None


def _is_full(dim: Any) -> bool:
    """No ``dim`` given (None or an empty sequence): reduce over every dimension."""
    return dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)


def _sum_axes(dim: Any, ndim: int, keepdim: bool) -> tuple | None:
    """The axes for Sum/Mean: None for a full reduction to a 0-d result."""
    if _is_full(dim):
        return tuple(range(ndim)) if keepdim else None
    return dims_of(dim, ndim)


@accepts_out(out_dtype=True)
def sum(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,  # noqa: A001
    dtype: D.dtype | None = None,
    out: Any = None,
) -> Tensor:
    """Sum over ``dim`` (all dims by default)."""
    return Sum.apply(input, _sum_axes(dim, input.ndim, keepdim), keepdim, _sum_dtype(input, dtype))


def _count(shape: tuple, axes: Any) -> int:
    n = 1
    for a in axes if axes is not None else range(len(shape)):
        n *= shape[a]
    return n


class Mean(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.meta = (x.shape, axes, keepdim)
        return _mean(x, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx.meta
        n = _count(shape, axes)
        # Expand, then divide (as PyTorch): the gradient is a fresh array the caller may write
        # into, not a read-only broadcast view (the same values either way).
        g = _expand_back(g, shape, axes, keepdim)
        return (g / g.dtype.type(n) if n else g), None, None


@accepts_out
def mean(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: D.dtype | None = None,
    out: Any = None,
) -> Tensor:
    """Mean over ``dim`` (all dims by default); floating-point inputs only."""
    if dtype is not None:
        input = cast(input, dtype)
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {type_name(input.dtype)}"
        )
    return Mean.apply(input, _sum_axes(dim, input.ndim, keepdim), keepdim)


def _mean(x: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
    """``x.mean``, NaN over nothing as PyTorch (NumPy warns "Mean of empty slice" from its own
    module, which ember's warning filter cannot reach)."""
    n = _count(x.shape, axes)
    if axes and axes == tuple(range(x.ndim - len(axes), x.ndim)):  # e.g. x.mean((2, 3))
        res = trailing_mean(x, len(axes))
        if res is not None:
            return res.reshape(x.shape[: -len(axes)] + (1,) * len(axes)) if keepdim else res
    total = np.add.reduce(x, axis=axes, keepdims=keepdim, dtype=_ACC.get(x.dtype))
    if n == 0:
        return np.asarray(np.full_like(total, np.nan, dtype=x.dtype))
    return np.asarray(np.true_divide(total, n)).astype(x.dtype, copy=False)


# Half precision is summed in float32 (NumPy's mean and PyTorch both do).
_ACC = {np.dtype(np.float16): np.float32}


def _deviation(x: np.ndarray, axes: Any, correction: float, root: bool = False) -> tuple:
    """``x - mean``, the divisor ``n - correction`` and the variance (keepdims; its square root
    with ``root``, taken before rounding to ``x``'s dtype)."""
    diff = x - _mean(x, axes, True)
    denom = builtins.max(_count(x.shape, axes) - correction, 0)  # (max is this module's)
    # Squares summed in double precision, as PyTorch accumulates: float32 values near 1e19 and
    # beyond would overflow to inf where PyTorch's variance is finite.
    wide = diff.astype(np.float64) if diff.dtype.kind == "f" and diff.itemsize < 8 else diff
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = np.asarray(np.add.reduce(wide * wide, axis=axes, keepdims=True) / denom)
        v = (np.sqrt(v) if root else v).astype(x.dtype)
    return diff, denom, v


def _axes_or_none(dim: Any, ndim: int) -> tuple | None:
    return None if dim is None else dims_of(dim, ndim)


def _centered(x: Any, axes: Any) -> Any:
    """``x - mean(x)`` over ``axes`` (all when None), written for arrays and GraphArrays."""
    n = _count(x.shape, axes)
    return x - x.sum(axis=axes, keepdims=True) / x.dtype.type(n)


def _squeeze(out: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
    return out if keepdim else np.asarray(out.squeeze(axis=axes))


def _unsqueeze(g: np.ndarray, axes: Any, keepdim: bool, ndim: int) -> np.ndarray:
    if keepdim:
        return g
    return np.expand_dims(g, axes if axes is not None else tuple(range(ndim)))


class Var(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        diff, denom, v = _deviation(x, axes, correction)
        ctx.save_for_backward(x)  # (not diff: create_graph differentiates through it)
        ctx.meta = (axes, keepdim, denom)
        return _squeeze(v, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axes, keepdim, denom = ctx.meta
        diff = _centered(x, axes)
        g = _unsqueeze(g, axes, keepdim, diff.ndim)
        return (2 / diff.dtype.type(denom)) * g * diff, None, None, None


class Std(Primitive):
    """``sqrt(var)`` in one node: where the deviation is 0 the gradient is 0, as in PyTorch
    (``sqrt``'s own backward would give ``inf * 0 = nan`` there)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        _, denom, out = _deviation(x, axes, correction, root=True)
        ctx.meta = (axes, keepdim, denom)
        res = _squeeze(out, axes, keepdim)
        ctx.save_for_backward(x, res)  # the output itself (create_graph goes through it)
        return res

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim, denom = ctx.meta
        out = _unsqueeze(out, axes, keepdim, x.ndim)
        diff = _centered(x, axes)
        g = _unsqueeze(g, axes, keepdim, diff.ndim)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(out == 0, 0, g / (out * diff.dtype.type(denom)))
        return (scale * diff).astype(diff.dtype, copy=False), None, None, None


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return float(correction)
    if unbiased is None:
        return 1.0
    return 1.0 if unbiased else 0.0


@accepts_out
def var(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
    out: Any = None,
) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default)."""
    axes, corr = _var_args(input, dim, unbiased, correction)
    return Var.apply(input, axes, corr, keepdim)


def _var_args(input: Tensor, dim: Any, unbiased: Any, correction: Any) -> tuple:
    """Sort out PyTorch's var/std overloads; returns ``(axes, correction)``."""
    if isinstance(unbiased, (int, tuple, list)) and not isinstance(unbiased, bool) and dim is None:
        dim, unbiased = unbiased, None
    if isinstance(dim, bool):  # var(x, False): PyTorch's (input, unbiased) overload
        dim, unbiased = None, dim
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"std and var only support floating point and complex dtypes, got "
            f"{type_name(input.dtype)}"
        )
    corr = _correction(unbiased, correction)
    return _axes_or_none(dim, input.ndim), corr


@accepts_out
def std(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
    out: Any = None,
) -> Tensor:
    """Standard deviation (``sqrt(var)``) over ``dim`` with Bessel's ``correction``."""
    axes, corr = _var_args(input, dim, unbiased, correction)
    return Std.apply(input, axes, corr, keepdim)


def var_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    return (var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def std_mean(
    input: Tensor,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple:
    return (std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


class Prod(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        # ufunc.reduce, not ndarray.prod: NumPy's warnings then name ember (see ember._errors)
        out = np.asarray(np.multiply.reduce(x, axis=axis, keepdims=keepdim))
        ctx.save_for_backward(x)
        ctx.meta = (axis, keepdim)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis, keepdim = ctx.meta
        if x.size == 0:
            return np.zeros(x.shape, g.dtype), None, None
        xs = x if axis is not None else x.reshape(-1)
        a = axis if axis is not None else 0
        # Product of all other elements, exact even with zeros: exclusive cumprods both ways.
        left = _exclusive_cumprod(xs, a)
        right = np.flip(_exclusive_cumprod(np.flip(xs, a), a), a)
        others = left * right
        if axis is None:
            return (g * others).reshape(x.shape), None, None
        return _unsqueeze(g, axis, keepdim, x.ndim) * others, None, None


def _exclusive_cumprod(a: np.ndarray, axis: int) -> np.ndarray:
    """The product of the elements before each one along ``axis`` (1 for the first)."""
    head = np.ones_like(np.take(a, [0], axis))
    return np.concatenate([head, np.take(a, range(a.shape[axis] - 1), axis)], axis).cumprod(axis)


def prod(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: D.dtype | None = None
) -> Tensor:
    """Product over one ``dim`` (or all elements)."""
    if dtype is not None:
        input = cast(input, dtype)
    elif input._data.dtype.kind in "biu":
        input = cast(input, D.int64)
    axis = None if dim is None else wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        axis = None  # dim 0 / -1 of a 0-dim tensor: the product of its one element
    return Prod.apply(input, axis, keepdim)


class Amax(Primitive):
    """max/min over several dims; ties share the gradient evenly (PyTorch's amax rule). With
    ``select`` (``max()``/``min()`` of everything) the gradient is selected into the ties, so an
    inf or NaN gradient leaves 0 elsewhere; amax multiplies by the mask (NaN there), as PyTorch."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, is_max, select=False):
        out = np.asarray(
            x.max(axis=axes, keepdims=True) if is_max else x.min(axis=axes, keepdims=True)
        )
        ctx.meta = (axes, keepdim, select)
        res = _squeeze(out, axes, keepdim)
        ctx.save_for_backward(x, res)  # the output itself (create_graph goes through it)
        return res

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim, select = ctx.meta
        out = _unsqueeze(out, axes, keepdim, x.ndim)
        mask = x == out
        if x.dtype.kind == "f":
            mask |= np.isnan(x) & np.isnan(out)  # a NaN maximum: the NaNs share the gradient
        cnt = mask.sum(axis=axes, keepdims=True)
        g = _unsqueeze(g, axes, keepdim, x.ndim)
        if select and not on_graph(g):
            gx = where_or_zero(np.broadcast_to(g, mask.shape), mask) / cnt
        else:
            gx = g * mask / cnt
        return gx.astype(g.dtype, copy=False), None, None, None, None


def _reduce_dims_or_all(dim: Any, ndim: int) -> tuple:
    if _is_full(dim):
        return tuple(range(ndim))
    return dims_of(dim, ndim)


def _check_nonempty(
    x: Tensor, name: str, axes: tuple, full: bool, full_exc: type = RuntimeError
) -> None:
    """PyTorch's errors for max-like reductions of empty tensors (``full``: no dim given)."""
    if x._data.size:
        return
    if full:
        raise full_exc(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            + (
                " Specify the reduction dim with the 'dim' argument."
                if full_exc is RuntimeError
                else ""
            )
        )
    for a in axes:
        if x._data.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def _amax(input: Tensor, dim: Any, keepdim: bool, is_max: bool, name: str) -> Tensor:
    axes = _reduce_dims_or_all(dim, input.ndim)
    _check_nonempty(input, name, axes, _is_full(dim))
    return Amax.apply(input, axes, keepdim, is_max)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (all dims by default); ties share the gradient."""
    return _amax(input, dim, keepdim, True, "amax")


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (all dims by default); ties share the gradient."""
    return _amax(input, dim, keepdim, False, "amin")


class MaxDim(Primitive):
    """max/min along one dim with indices; the gradient goes to the returned index."""

    twice_differentiable = True

    non_differentiable = (1,)

    @staticmethod
    def forward(ctx, x, axis, keepdim, is_max):
        idx = (
            np.argmax(x, axis=axis, keepdims=True)
            if is_max
            else np.argmin(x, axis=axis, keepdims=True)
        )
        vals = np.take_along_axis(x, idx, axis)
        ctx.save_for_backward(idx)
        ctx.meta = (x.shape, axis, keepdim)
        if not keepdim:
            vals = vals.squeeze(axis)
            idx = idx.squeeze(axis)
        return vals, idx.astype(np.int64)

    @staticmethod
    def backward(ctx, g, _gi=None):
        (idx,) = ctx.saved_tensors
        shape, axis, keepdim = ctx.meta
        g = _unsqueeze(g, axis, keepdim, len(shape))
        if on_graph(g):  # create_graph: a recorded scatter
            from .indexing import add_into_zeros, along_axis

            return add_into_zeros(shape, along_axis(idx, axis), g), None, None, None
        out = np.zeros(shape, g.dtype)
        np.put_along_axis(out, idx, g, axis)
        return out, None, None, None


def _max_min(input: Tensor, dim: Any, keepdim: bool, is_max: bool, name: str) -> Any:
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum

        return maximum(input, dim) if is_max else minimum(input, dim)
    if dim is None:
        _check_nonempty(input, name, (), True)
        return Amax.apply(input, tuple(range(input.ndim)), False, is_max, True)
    axis = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        return values_indices[name](input.clone(), _wrap(np.asarray(0, np.int64)))
    if input._data.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    v, i = MaxDim.apply(input, axis, keepdim, is_max)
    return values_indices[name](v, i)


@accepts_out
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:  # noqa: A001
    """The maximum; with ``dim`` a ``(values, indices)`` named tuple; with a tensor, maximum."""
    return _max_min(input, dim, keepdim, True, "max")


@accepts_out
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:  # noqa: A001
    """The minimum; with ``dim`` a ``(values, indices)`` named tuple; with a tensor, minimum."""
    return _max_min(input, dim, keepdim, False, "min")


def _arg_reduce(fn: Any, name: str, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    """argmax/argmin: ``fn`` (np.argmax or np.argmin) with PyTorch's dims and errors."""
    axes = () if dim is None or input.ndim == 0 else (wrap_dim(dim, input.ndim),)
    _check_nonempty(input, name, axes, dim is None, IndexError)
    if dim is None:
        r = np.asarray(fn(input._data))
        return _wrap(r.reshape((1,) * input.ndim) if keepdim else r)
    return _wrap(fn(input._data, axis=wrap_dim(dim, input.ndim), keepdims=keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor, or along ``dim``); first one on ties."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("argmax(): does not support bool input")
    return _arg_reduce(np.argmax, "argmax", input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor, or along ``dim``); first one on ties."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("argmin(): does not support bool input")
    return _arg_reduce(np.argmin, "argmin", input, dim, keepdim)


class LogSumExp(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        m = x.max(axis=axes, keepdims=True, initial=-np.inf)  # initial: empty dims give -inf
        m = np.where(np.isfinite(m), m, 0)
        s = np.exp(x - m).sum(axis=axes, keepdims=True)
        out = np.log(s) + m
        ctx.meta = (axes, keepdim)
        res = _squeeze(out, axes, keepdim)
        ctx.save_for_backward(x, res)  # the output itself (create_graph goes through it)
        return res

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        out = _unsqueeze(out, axes, keepdim, x.ndim)
        g = _unsqueeze(g, axes, keepdim, x.ndim)
        return g * np.exp(x - out), None, None


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably."""
    if input.dtype.kind not in "fc":
        input = cast(input, D.get_default_dtype())
    return LogSumExp.apply(input, _reduce_dims_or_all(dim, input.ndim), keepdim)


def norm(
    input: Tensor,
    p: Any = "fro",
    dim: Any = None,
    keepdim: bool = False,
    dtype: D.dtype | None = None,
) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is the 2-norm."""
    from .elementwise import pow as _pow
    from .unary import abs as _abs
    from .unary import sign as _sign

    if dtype is not None:
        input = cast(input, dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{type_name(input.dtype)}"
        )
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("nuclear norm is not supported by ember")
    axes = _reduce_dims_or_all(dim, input.ndim)
    if p == float("inf"):
        return amax(_abs(input), axes, keepdim)
    if p == float("-inf"):
        return amin(_abs(input), axes, keepdim)
    if p == 0:
        # sign(|x|) counts the non-zeros and keeps the (zero) gradient PyTorch gives.
        return sum(_sign(_abs(input)), axes, keepdim)
    if p == 2:
        return Norm2.apply(input, axes, keepdim)
    if p == 1:
        return sum(_abs(input), axes, keepdim)
    return _pow(sum(_pow(_abs(input), p), axes, keepdim), 1.0 / p)


class Norm2(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        out = np.sqrt((x * x).sum(axis=axes, keepdims=True))
        ctx.meta = (axes, keepdim)
        res = _squeeze(out, axes, keepdim)
        ctx.save_for_backward(x, res)  # the output itself (create_graph goes through it)
        return res

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        out = _unsqueeze(out, axes, keepdim, x.ndim)
        g = _unsqueeze(g, axes, keepdim, x.ndim)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(out == 0, 0, g * x / out)
        return r.astype(x.dtype, copy=False), None, None


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether all elements (over ``dim``) are non-zero; a bool tensor (uint8 for uint8 input,
    PyTorch's legacy rule)."""
    r = np.asarray(np.all(input._data, _axes_or_none(dim, input.ndim), keepdims=keepdim))
    return _wrap(r.astype(np.uint8) if input._data.dtype == np.uint8 else r)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element (over ``dim``) is non-zero; a bool tensor (uint8 for uint8 input)."""
    r = np.asarray(np.any(input._data, _axes_or_none(dim, input.ndim), keepdims=keepdim))
    return _wrap(r.astype(np.uint8) if input._data.dtype == np.uint8 else r)


class Cumsum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, dtype):
        ctx.axis = axis
        return x.cumsum(axis=axis, dtype=dtype)  # methods: NumPy's FP warnings name ember

    @staticmethod
    def backward(ctx, g):
        a = ctx.axis
        return np.flip(np.flip(g, a).cumsum(axis=a), a), None, None


@accepts_out(out_dtype=True)
def cumsum(input: Tensor, dim: int, *, dtype: D.dtype | None = None, out: Any = None) -> Tensor:
    """Cumulative sum along ``dim``."""
    axis = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        sd = _sum_dtype(input, dtype)
        return cast(input, D._BY_NP[np.dtype(sd)] if sd else input.dtype).clone()
    return Cumsum.apply(input, axis, _sum_dtype(input, dtype))


class Cumprod(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis):
        out = x.cumprod(axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        a = ctx.axis
        if (x == 0).any():
            return _cumprod_grad_with_zeros(x, g, a), None
        # Without zeros: the suffix sums of g * out, divided by x.
        r = np.flip(np.flip(g * out, a).cumsum(axis=a), a) / x
        return r, None


def _cumprod_grad_with_zeros(x: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """d cumprod / dx_k = sum over i >= k of g_i * (product of x_j, j <= i, j != k): exact where
    x has zeros (dividing by x is not); O(n^2) along the axis, as PyTorch's slow path."""
    xm, gm = np.moveaxis(x, axis, -1), np.moveaxis(g, axis, -1)
    r = np.empty_like(xm)
    for k in range(xm.shape[-1]):
        without = xm.copy()
        without[..., k] = 1
        p = without.cumprod(axis=-1)
        r[..., k] = np.add.reduce(gm[..., k:] * p[..., k:], axis=-1)
    return np.moveaxis(r, -1, axis)


def cumprod(input: Tensor, dim: int, *, dtype: D.dtype | None = None) -> Tensor:
    """Cumulative product along ``dim`` (integers and bools accumulate in int64)."""
    axis = wrap_dim(dim, input.ndim)
    if dtype is None and input.dtype._kind < D._FLOAT:
        dtype = D.int64
    if dtype is not None:
        input = cast(input, dtype)
    if input.ndim == 0:
        return input.clone()
    return Cumprod.apply(input, axis)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    axes = _axes_or_none(dim, input.ndim)
    return _wrap(np.asarray(np.count_nonzero(input._data, axis=axes), dtype=np.int64))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """Sorted values and their indices along ``dim``."""
    from .indexing import gather

    axis = wrap_dim(dim, input.ndim)
    a = input._data
    it = _wrap(_sort_order(a, axis, descending))
    return values_indices["sort"](gather(input, axis, it), it)


def _sort_order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort indices along ``axis``, with NaN the largest value (as PyTorch).

    Descending order sorts the reversed array ascending and reverses the result: ties keep
    their original order, NaN comes first, and no negation wraps unsigned or extreme integers.
    """
    if a.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    n = a.shape[axis]
    rev = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(rev, axis)).astype(np.int64, copy=False)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    from .join import narrow

    axis = wrap_dim(dim, input.ndim)
    if input._data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if k > (input.shape[axis] if input.ndim else 1) or k < 0:
        raise RuntimeError("selected index k out of range")
    v, i = sort(input, axis, descending=largest)
    if input.ndim == 0:
        return values_indices["topk"](v, i)
    return values_indices["topk"](narrow(v, axis, 0, k), narrow(i, axis, 0, k).contiguous())
