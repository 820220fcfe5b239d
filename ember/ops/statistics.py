"""Order statistics and counts: ``median``/``nanmedian``, ``quantile``/``nanquantile``,
``kthvalue``, ``mode``, ``nansum``/``nanmean``, ``bincount``, ``histc``, ``unique_consecutive``.

The order statistics find their positions with NumPy (a stable sort) and pick the values with
``gather``, so the gradient flows to the chosen elements through an existing primitive.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ._bitmask import where_or_zero
from ._util import Primitive, dims_of, on_graph, type_name, wrap_dim
from .elementwise import add, cast, div, mul, sub
from .indexing import gather
from .reduction import sum as _sum
from .reduction import values_indices
from .shape import reshape, squeeze

__all__ = [
    "median",
    "nanmedian",
    "quantile",
    "nanquantile",
    "kthvalue",
    "mode",
    "nansum",
    "nanmean",
    "bincount",
    "histc",
    "histogram",
    "unique_consecutive",
]

_nanmedian_result = namedtuple("nanmedian", ["values", "indices"])


def _sorted_order(a: np.ndarray, axis: int) -> np.ndarray:
    """Stable ascending order along ``axis`` with NaN last (NumPy's rule, PyTorch's too)."""
    return np.argsort(a, axis=axis, kind="stable")


def _pick(input: Tensor, axis: int, idx: np.ndarray, keepdim: bool) -> tuple:
    """``(values, indices)`` at ``idx`` (shape of ``input`` with ``axis`` of size 1)."""
    it = _wrap(idx.astype(np.int64))
    vals = gather(input, axis, it)
    if not keepdim:
        vals, it = squeeze(vals, axis), squeeze(it, axis)
    return vals, it


def _median_dim(input: Tensor, dim: int, keepdim: bool, ignore_nan: bool, name: str) -> Any:
    axis = wrap_dim(dim, input.ndim)
    x = input if input.ndim else reshape(input, 1)
    a = x._data
    if a.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    order = _sorted_order(a, axis)
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    n_nan = nan.sum(axis=axis, keepdims=True)
    n = a.shape[axis]
    if ignore_nan:
        k = np.maximum((n - n_nan - 1) // 2, 0)  # all-NaN rows give their first NaN
        k = np.where(n_nan == n, 0, k)
        pos = np.take_along_axis(order, k, axis)
    else:
        # A row with a NaN has median NaN, at the index of its first NaN.
        k = np.full(n_nan.shape, (n - 1) // 2)
        first_nan = np.argmax(nan, axis=axis, keepdims=True)
        pos = np.where(n_nan > 0, first_nan, np.take_along_axis(order, k, axis))
    vals, idx = _pick(x, axis, pos, keepdim or input.ndim == 0)
    if input.ndim == 0:
        vals, idx = reshape(vals, ()), reshape(idx, ())
    cls = _nanmedian_result if ignore_nan else values_indices["median"]
    return cls(vals, idx)


class EvenlyShared(Primitive):
    """A value picked from ``x`` whose gradient PyTorch shares evenly among all the elements
    equal to it (all the NaNs when it is NaN): the full ``median``/``nanmedian``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, value):
        same = (x == value) | (np.isnan(x) & np.isnan(value))
        ctx.meta = (same, same.sum())
        return np.asarray(value, x.dtype)

    @staticmethod
    def backward(ctx, g):
        same, n = ctx.meta
        if on_graph(g):
            return same * (g / n), None
        # selected, not multiplied: an inf or NaN gradient leaves 0 elsewhere, as PyTorch's
        gx = where_or_zero(np.broadcast_to(g / n, same.shape), same)
        return gx.astype(g.dtype, copy=False), None


def _median_all(input: Tensor, ignore_nan: bool) -> Tensor:
    flat = reshape(input, -1)
    if flat._data.size == 0:
        return _wrap(np.asarray(np.nan, input._data.dtype))
    picked = _median_dim(flat.detach(), 0, False, ignore_nan, "median").values
    return EvenlyShared.apply(input, picked._data)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (of all elements, or ``(values, indices)`` along ``dim``); NaN if any."""
    if dim is None:
        return _median_all(input, ignore_nan=False)
    return _median_dim(input, dim, keepdim, False, "median")


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """``median`` ignoring NaNs (NaN only where every value is NaN)."""
    if dim is None:
        return _median_all(input, ignore_nan=True)
    return _median_dim(input, dim, keepdim, True, "nanmedian")


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest value (1-based) along ``dim`` and its index."""
    axis = wrap_dim(dim, input.ndim)
    x = input if input.ndim else reshape(input, 1)
    n = x._data.shape[axis]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    order = _sorted_order(x._data, axis)
    pos = np.take(order, [k - 1], axis=axis)
    vals, idx = _pick(x, axis, pos, keepdim or input.ndim == 0)
    if input.ndim == 0:
        vals, idx = reshape(vals, ()), reshape(idx, ())
    return values_indices["kthvalue"](vals, idx)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest on ties) and its last index."""
    axis = wrap_dim(dim, input.ndim)
    x = input if input.ndim else reshape(input, 1)
    a = np.moveaxis(x._data, axis, -1)
    rows = a.reshape(-1, a.shape[-1])
    pos = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        # NaN never equals NaN, so each NaN counts once (PyTorch's rule); np.unique sorts, so
        # argmax takes the smallest of tied values.
        real = row[~np.isnan(row)] if row.dtype.kind == "f" else row
        if real.size == 0:
            pos[r] = row.size - 1
            continue
        values, counts = np.unique(real, return_counts=True)
        best = values[np.argmax(counts)]
        pos[r] = np.flatnonzero(row == best)[-1]
    pos = np.moveaxis(pos.reshape(a.shape[:-1] + (1,)), -1, axis)
    vals, idx = _pick(x, axis, pos, keepdim or input.ndim == 0)
    if input.ndim == 0:
        vals, idx = reshape(vals, ()), reshape(idx, ())
    return values_indices["mode"](vals, idx)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(
    input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Tensor:
    name = "nanquantile" if ignore_nan else "quantile"
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
            f"but got {interpolation}"
        )
    qs = q._data.astype(np.float64) if isinstance(q, Tensor) else np.asarray(q, np.float64)
    if isinstance(q, Tensor) and q.dtype is not input.dtype:
        raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if np.any((qs < 0) | (qs > 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if input._data.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    # Work on a 2-D view: rows to reduce over the last axis.
    if dim is None:
        x = reshape(input, 1, -1)
        axis = 1
    else:
        axis = wrap_dim(dim, input.ndim)
        x = input if input.ndim else reshape(input, 1)
    a = x._data
    order = _sorted_order(a, axis)
    srt = gather(x, axis, _wrap(order.astype(np.int64)))
    nan = np.isnan(a)
    n_nan = nan.sum(axis=axis, keepdims=True)
    n = a.shape[axis]
    count = n - n_nan if ignore_nan else np.full(n_nan.shape, n)
    outs = [
        _one_quantile(srt, axis, float(qv), count, n_nan, n, interpolation, ignore_nan)
        for qv in qs.reshape(-1)
    ]
    from .join import stack

    res = stack(outs, 0)  # (len(q), *reduced shape with keepdim)
    if dim is None:
        res = reshape(res, (res.shape[0],) + ((1,) * input.ndim if keepdim else ()))
    elif not keepdim:
        res = squeeze(res, axis + 1)
    if input.ndim == 0 and dim is not None:
        res = reshape(res, (res.shape[0],))
    if qs.ndim == 0:
        res = squeeze(res, 0)
    return res


def _one_quantile(srt, axis, q, count, n_nan, n, interpolation, ignore_nan) -> Tensor:
    # Ranks in the input's dtype, as PyTorch (it decides which way 'nearest' rounds a tie).
    dt = srt._data.dtype
    rank = dt.type(q) * (np.maximum(count, 1) - 1).astype(dt)
    lo = np.floor(rank).astype(np.int64)
    hi = np.ceil(rank).astype(np.int64)
    frac = rank - lo
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(rank).astype(np.int64)  # round half to even, as PyTorch
    # Rows that must give NaN point at a NaN: quantile at the last sorted element, nanquantile
    # (whose rank is clamped to 0 when nothing is left) at the first, as PyTorch.
    bad = (count == 0) if ignore_nan else (n_nan > 0)
    lo = np.where(bad, 0 if ignore_nan else n - 1, lo)
    hi = np.where(bad, 0 if ignore_nan else n - 1, hi)
    vlo = gather(srt, axis, _wrap(lo))
    if interpolation in ("lower", "higher", "nearest"):
        return vlo
    vhi = gather(srt, axis, _wrap(hi))
    w = 0.5 if interpolation == "midpoint" else _wrap(frac.astype(srt._data.dtype))
    # lerp, as PyTorch: lo + w (hi - lo)
    return add(vlo, mul(sub(vhi, vlo), w))


def quantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out: Any = None,
) -> Tensor:
    """The ``q``-th quantiles (``q`` a number or a 1-D tensor, whose dim comes first)."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(
    input: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out: Any = None,
) -> Tensor:
    """``quantile`` ignoring NaNs."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=True)


def nansum(
    input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: D.dtype | None = None
) -> Tensor:
    """Sum treating NaN as 0 (its gradient is 0 at the NaNs)."""
    if input.dtype.is_complex:
        raise RuntimeError("nansum does not support complex inputs")
    if not input.dtype.is_floating_point:
        return _sum(input, dim, keepdim, dtype=dtype)
    if dtype is not None:
        input = cast(input, dtype)
    axes = dims_of(dim, input.ndim) if dim not in (None, (), []) else tuple(range(input.ndim))
    return NanSum.apply(input, axes, keepdim)


class NanSum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.meta = (x, axes, keepdim)
        return np.asarray(np.nansum(x, axis=axes, keepdims=keepdim), x.dtype)

    @staticmethod
    def backward(ctx, g):
        # g times the not-NaN mask (a product, as PyTorch: an infinite g gives NaN at the NaNs).
        x, axes, keepdim = ctx.meta
        if not keepdim:
            g = np.expand_dims(g, axes)
        with np.errstate(invalid="ignore"):
            return (np.broadcast_to(g, x.shape) * ~np.isnan(x)).astype(g.dtype), None, None


def nanmean(
    input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: D.dtype | None = None
) -> Tensor:
    """Mean of the non-NaN elements (NaN where there are none)."""
    if not input.dtype.is_floating_point and dtype is None:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{type_name(input.dtype)}"
        )
    if dtype is not None:
        input = cast(input, dtype)
    axes = dims_of(dim, input.ndim) if dim not in (None, (), []) else tuple(range(input.ndim))
    kept = _wrap(np.asarray(np.sum(~np.isnan(input._data), axis=axes, keepdims=keepdim)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return div(nansum(input, axes, keepdim), cast(kept, input.dtype))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each non-negative integer in the 1-D ``input`` (sums of ``weights``)."""
    a = input._data
    if a.dtype.kind not in "iub" or a.dtype.kind == "b":
        raise NotImplementedError(
            f"\"bincount_cpu\" not implemented for '{type_name(input.dtype)}'"
        )
    if a.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _wrap(np.bincount(a, minlength=minlength).astype(np.int64))
    if tuple(weights.shape) != a.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    # PyTorch: float32 weights keep float32, any other weights give float64; the weights get
    # their gradient through index_add.
    from .index_ops import index_add

    dt = D.float32 if weights.dtype is D.float32 else D.float64
    n = max(int(a.max()) + 1 if a.size else 0, minlength)
    return index_add(_wrap(np.zeros(n, dt.np)), 0, input, cast(weights, dt))


def histc(
    input: Tensor,
    bins: int = 100,
    min: float = 0,
    max: float = 0,
    *,
    out: Any = None,  # noqa: A002
) -> Tensor:
    """Histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when equal)."""
    a = input._data
    if a.dtype.kind != "f":
        raise NotImplementedError(
            f"\"histogram_cpu\" not implemented for '{type_name(input.dtype)}'"
        )
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    v = a[(a >= lo) & (a <= hi)].astype(np.float64)
    # Bin as PyTorch: floor((v - lo) * bins / (hi - lo)), the top edge in the last bin.
    pos = np.minimum(((v - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    return _wrap(np.bincount(pos, minlength=bins).astype(a.dtype))


_histogram_result = namedtuple("histogram", ["hist", "bin_edges"])


def histogram(
    input: Tensor,
    bins: Any,
    *,
    range: Any = None,  # noqa: A002 - PyTorch's name
    weight: Tensor | None = None,
    density: bool = False,
    out: Any = None,
) -> Any:
    """Counts (or ``weight`` sums) of ``input`` in ``bins`` equal bins over ``range`` (the data's
    range by default), or between the given edges; the last bin includes its right edge."""
    a = input._data
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{type_name(input.dtype)}'")
    if isinstance(bins, Tensor):
        edges = bins._data.astype(a.dtype)
        if edges.ndim != 1 or edges.size < 1:
            raise RuntimeError("torch.histogram(): bins tensor should have one dimension")
    else:
        if int(bins) <= 0:
            raise RuntimeError(
                f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0"
            )
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        else:
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo > hi:
            raise RuntimeError("torch.histogram(): max must be larger than min")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5  # NumPy's and PyTorch's rule for an empty range
        edges = np.linspace(lo, hi, int(bins) + 1).astype(a.dtype)
    w = None if weight is None else weight._data.reshape(-1).astype(np.float64)
    hist, _ = np.histogram(
        a.reshape(-1).astype(np.float64), bins=edges.astype(np.float64), weights=w, density=density
    )
    return _histogram_result(_wrap(hist.astype(a.dtype)), _wrap(edges))


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """Collapse runs of equal consecutive values (slices along ``dim`` when given)."""
    if dim is None:
        a = input._data.reshape(-1)
        change = np.concatenate([[True], a[1:] != a[:-1]]) if a.size else np.zeros(0, bool)
        values = a[change]
        inv_shape = input._data.shape
    else:
        axis = wrap_dim(dim, input.ndim)
        m = np.moveaxis(input._data, axis, 0).reshape(input._data.shape[axis], -1)
        if m.shape[0]:
            diff = np.any(m[1:] != m[:-1], axis=1)
            change = np.concatenate([[True], diff])
        else:
            change = np.zeros(0, bool)
        values = np.compress(change, input._data, axis=axis)
        inv_shape = (input._data.shape[axis],)
    group = np.cumsum(change) - 1
    out = [_wrap(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(_wrap(group.reshape(inv_shape).astype(np.int64)))
    if return_counts:
        counts = np.diff(np.append(np.flatnonzero(change), change.size))
        out.append(_wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
