"""Writes along one dim at an index vector: ``index_add``, ``index_copy``, ``index_fill``, and
``scatter_reduce`` (sum, prod, mean, amax, amin, with or without the input's own values)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ._util import Primitive, on_graph, type_name, wrap_dim
from .elementwise import cast
from .indexing import _gather_args, along_axis

__all__ = ["index_add", "index_copy", "index_fill", "index_reduce", "scatter_reduce"]


def _index_vector(input: Tensor, dim: int, index: Any, name: str) -> tuple:
    """``(axis, index array)`` checked as PyTorch does for the index_* family."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    axis = wrap_dim(dim, max(input.ndim, 1))
    idx = index._data.reshape(-1).astype(np.int64)
    n = input._data.shape[axis] if input.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"index out of range in self (index {bad}, size {n})")
    return axis, idx


def _check_source(input: Tensor, source: Tensor, axis: int, idx: np.ndarray, name: str) -> None:
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}(): argument 'source' must be Tensor, not {type(source).__name__}")
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"{name}(): self ({type_name(input.dtype)}) and source ({type_name(source.dtype)}) "
            "must have the same scalar type"
        )
    want = list(input.shape)
    if want:
        want[axis] = idx.size
    if list(source.shape) != want and not (source.ndim == 0 and idx.size == 1):
        raise RuntimeError(
            f"{name}(): source shape {list(source.shape)} does not match the expected "
            f"{want} (self's shape with dim {axis} of the index's length)"
        )


def _moved(a: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(a, axis, 0) if a.ndim else a.reshape(1)


class IndexAdd(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx, src, alpha):
        out = x.copy()
        np.add.at(_moved(out, axis), idx, _moved(src, axis) * alpha)
        ctx.meta = (axis, idx, src.shape, alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, idx, sshape, alpha = ctx.meta
        gs = None
        if ctx.needs_input_grad[3]:
            gs = np.moveaxis(_moved(g, axis)[idx] * alpha, 0, axis).reshape(sshape)
        return g, None, None, gs, None


class IndexCopy(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx, src):
        out = x.copy()
        _moved(out, axis)[idx] = _moved(src, axis)
        ctx.meta = (axis, idx, src.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        axis, idx, sshape = ctx.meta
        if on_graph(g):  # a recorded product with the kept-rows mask (no in-place write)
            keep = np.ones(g.shape, bool)
            _moved(keep, axis)[idx] = False
            gx = g * keep
        else:
            gx = g.copy()
            _moved(gx, axis)[idx] = 0
        gs = None
        if ctx.needs_input_grad[3]:
            gs = np.moveaxis(_moved(g, axis)[idx], 0, axis).reshape(sshape)
        return gx, None, None, gs


class IndexFill(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx, value):
        out = x.copy()
        _moved(out, axis)[idx] = value
        ctx.meta = (axis, idx, np.shape(value))
        return out

    @staticmethod
    def backward(ctx, g):
        axis, idx, vshape = ctx.meta
        if on_graph(g):  # recorded products with the filled-rows mask (no in-place write)
            keep = np.ones(g.shape, bool)
            _moved(keep, axis)[idx] = False
            gx = g * keep
            gv = (g * ~keep).sum() if ctx.needs_input_grad[3] else None
            return gx, None, None, gv
        gx = g.copy()
        _moved(gx, axis)[idx] = 0
        gv = None
        if ctx.needs_input_grad[3]:
            gv = np.asarray((g - gx).sum(), g.dtype)  # every filled element came from value
        return gx, None, None, gv


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` slices added at ``index`` along ``dim``."""
    axis, idx = _index_vector(input, dim, index, "index_add")
    _check_source(input, source, axis, idx, "index_add")
    return IndexAdd.apply(input, axis, idx, source, alpha)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with slices of ``source`` written at ``index`` along ``dim``."""
    axis, idx = _index_vector(input, dim, index, "index_copy")
    _check_source(input, source, axis, idx, "index_copy")
    return IndexCopy.apply(input, axis, idx, source)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` written into the slices at ``index`` along ``dim``."""
    axis, idx = _index_vector(input, dim, index, "index_fill")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        value = cast(value, input.dtype)
    return IndexFill.apply(input, axis, idx, value)


# ---- scatter_reduce ----------------------------------------------------------------------------
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis, idx, src, reduce, include_self):
        key = along_axis(idx, axis)
        s = src[tuple(slice(0, n) for n in idx.shape)]
        count = np.zeros(x.shape, np.int64)
        np.add.at(count, key, 1)
        hit = count > 0
        out = x.copy()
        if not include_self:
            fill = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if fill is None:  # amax/amin: start from the first scattered value
                fill = _identity(x.dtype, reduce)
            out[hit] = fill
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum}.get(
            reduce, np.minimum
        )
        ufunc.at(out, key, s)
        n = count + (1 if include_self else 0)
        if reduce == "mean":
            n_safe = np.maximum(n, 1)
            out = out // n_safe if out.dtype.kind in "iu" else out / n_safe
            out = out.astype(x.dtype, copy=False)
        ctx.save_for_backward(
            x, src, out
        )  # src itself, not the slice: on the graph under create_graph
        ctx.meta = (key, idx.shape, src.shape, reduce, include_self, n, hit)
        ctx.where = (axis, idx)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        key, ishape, sshape, reduce, include_self, n, hit = ctx.meta
        s = src if ishape == sshape else src[tuple(slice(0, k) for k in ishape)]
        if reduce == "prod" and on_graph(g):
            gx, gs = _prod_grads_on_graph(g, x, s, out, ctx)
        else:
            gx, gs = _scatter_reduce_grads(g, x, s, out, key, reduce, include_self, n, hit)
        gsrc = None
        if ctx.needs_input_grad[3]:
            # src may be larger than the index: zeros past it (np.pad also records on the graph)
            gsrc = (
                gs if ishape == sshape else np.pad(gs, [(0, a - b) for a, b in zip(sshape, ishape)])
            )
        return gx, None, None, gsrc, None, None


def _identity(dt: np.dtype, reduce: str) -> Any:
    if dt.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dt) if dt.kind in "iu" else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_grads(g, x, s, out, key, reduce, include_self, n, hit) -> tuple:
    """The gradients of the input and of the scattered values (PyTorch's rules: amax/amin share
    the gradient evenly among the values equal to the result)."""
    if reduce == "sum":
        gx = g if include_self else np.where(hit, 0, g)
        return gx, g[key]
    if reduce == "mean":
        gn = g / np.maximum(n, 1)
        gx = np.where(hit, gn, g) if include_self else np.where(hit, 0, g)
        return gx.astype(g.dtype, copy=False), gn[key].astype(g.dtype, copy=False)
    if reduce in ("amax", "amin"):
        x_eq = (x == out) & include_self
        s_eq = s == out[key]
        ties = x_eq.astype(np.int64)
        np.add.at(ties, key, s_eq)
        share = g / np.maximum(ties, 1)
        gx = np.where(hit, np.where(x_eq, share, 0), g)
        return gx.astype(g.dtype, copy=False), np.where(s_eq, share[key], 0).astype(g.dtype)
    # prod: the product of the others, exact when some factors are zero.
    zeros = np.zeros(x.shape, np.int64)
    nz_prod = np.where(x == 0, 1, x) if include_self else np.ones_like(x)
    if include_self:
        zeros += x == 0
    np.add.at(zeros, key, s == 0)
    np.multiply.at(nz_prod, key, np.where(s == 0, 1, s))
    with np.errstate(divide="ignore", invalid="ignore"):
        gx = np.where(x == 0, (zeros == 1) * nz_prod, (zeros == 0) * out / np.where(x == 0, 1, x))
        gx = np.where(hit, gx * g, g) if include_self else np.where(hit, 0, g)
        sp = nz_prod[key]
        gs = np.where(
            s == 0, (zeros[key] == 1) * sp, (zeros[key] == 0) * out[key] / np.where(s == 0, 1, s)
        )
    return gx.astype(g.dtype, copy=False), (gs * g[key]).astype(g.dtype, copy=False)


_MANY_ZEROS = (
    "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src are "
    "scattered to the same position in self"
)


def _prod_grads_on_graph(g: Any, x: Any, s: Any, out: Any, ctx: Any) -> tuple:
    """The prod gradients under create_graph, written with scatter_reduce itself (PyTorch's
    formula): each value's "product of the others" is the product with that value replaced
    by 1, so zeros are exact and the result differentiable. Where two or more zeros of src
    meet, the src gradient's derivative would be wrong: like PyTorch, it raises when used."""
    key, _, _, _, include_self, _, hit = ctx.meta
    axis, idx = ctx.where

    def scatter(base: Any, src: Any) -> Any:
        return type(g)(ScatterReduce.apply(base.t, axis, idx, src.t, "prod", include_self))

    if include_self:
        xm = np.where(x == 0, 1, x)
        gx = g * scatter(xm, s) / xm
    else:
        gx = np.where(hit, 0, g)
    s_zero = s == 0
    zeros = np.zeros(x.shape, np.int64)
    np.add.at(zeros, key, s_zero)
    single = s_zero & (zeros[key] == 1)
    others = scatter(x, np.where(single, 1, s))
    gs = np.where(single, (g * others)[key], (g * out)[key] / np.where(s_zero, 1, s))
    if (zeros > 1).any():
        from ..autograd.function import _edge, delayed_error

        edges = [_edge(t) for t in (g.t, x.t, s.t) if t._rg]
        gs = type(g)(delayed_error(_MANY_ZEROS, (gs.t,), edges)[0])
    return gx, gs


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch accepts both names
    if reduce not in _REDUCES:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_reduce(): argument 'src' must be Tensor, not {type(src).__name__}"
        )
    if src.dtype is not input.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    idx, axis = _gather_args(input, dim, index, "scatter_reduce")
    return ScatterReduce.apply(input, axis, idx, src, reduce, bool(include_self))


def index_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """Reduce the slices of ``source`` into a copy of ``input`` at ``index`` along ``dim``
    (``prod``, ``mean``, ``amax`` or ``amin``): ``scatter_reduce`` with the index vector
    spread over ``source``'s shape, which gives the same values and gradients."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    axis, idx = _index_vector(input, dim, index, "index_reduce")
    _check_source(input, source, axis, idx, "index_reduce")
    if input.ndim == 0:
        return scatter_reduce(input, 0, index, source, reduce, include_self=include_self)
    shape = [1] * source.ndim
    shape[axis] = idx.size
    spread = np.broadcast_to(idx.reshape(shape), tuple(source.shape))
    return ScatterReduce.apply(input, axis, spread, source, reduce, bool(include_self))
