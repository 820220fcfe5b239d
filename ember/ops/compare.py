"""Comparisons, logical and bitwise ops, and value tests (isnan, isclose, equal...): results
without a gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._out import accepts_out, into
from .._tensor import Tensor, _wrap
from ._util import broadcast_error, type_name


def _compare(ufunc) -> Any:
    def fn(input: Any, other: Any, *, out: Any = None) -> Tensor:
        if out is not None:
            return into(out, fn.__name__, fn, input, other)
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        if isinstance(b, (list, tuple)):
            b = np.asarray(b)
        if _promote(input, other):
            # Mixed dtypes compare in PyTorch's common type (a 0-d int8 -4 against a uint8
            # tensor is 252), not NumPy's exact mixed-kind comparison.
            from .elementwise import _prepare

            x, y = _prepare(input, other)
            a, b = x._data, y._data
        if type(b) is int and isinstance(a, np.ndarray) and a.dtype.kind in "iu":
            b = _wrapped(b, a.dtype)
        if not (_comparable(a) and _comparable(b)):
            raise TypeError(
                f"{fn.__name__}() received an invalid combination of arguments - got "
                f"({type(input).__name__}, {type(other).__name__})"
            )
        try:
            return _wrap(np.asarray(ufunc(a, b)))
        except ValueError as e:
            raise (broadcast_error(a, b) or e) from None

    fn.__name__ = ufunc.__name__
    fn.__doc__ = f"Elementwise ``{ufunc.__name__}``, a bool tensor (no gradient)."
    return fn


_COMPARABLE = (np.ndarray, int, float, complex, np.generic)
_INT = np.dtype(np.int64)


def _promote(a: Any, b: Any) -> bool:
    """Both tensors, of different dtypes, one of them not floating (NumPy already agrees
    with PyTorch between two floating dtypes)."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return False
    da, db = a._data.dtype, b._data.dtype
    return da != db and not (da.kind == "f" and db.kind == "f")


def _wrapped(v: int, dt: np.dtype) -> Any:
    """An int out of the tensor's range wraps into it first, as PyTorch converts the scalar."""
    info = np.iinfo(dt)
    if info.min <= v <= info.max:
        return v
    return np.asarray(v % 2**64, np.uint64).astype(dt)[()]


def _comparable(x: Any) -> bool:
    """An operand a comparison accepts: a tensor's array, a number or a NumPy scalar."""
    return isinstance(x, _COMPARABLE) and getattr(x, "dtype", _INT).kind != "O"


def _operator(fn: Any) -> Any:
    """``fn`` as a Python operator: ``NotImplemented`` for operands it does not take, so that
    ``tensor == None`` is ``False`` (Python's fallback) as in PyTorch."""

    def op(self: Tensor, other: Any) -> Any:
        if not isinstance(other, Tensor) and not _comparable(other):
            return NotImplemented
        return fn(self, other)

    op.__name__ = f"__{fn.__name__}__"
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
eq_op, ne_op, lt_op, le_op, gt_op, ge_op = map(_operator, (eq, ne, lt, le, gt, ge))
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


@accepts_out
def logical_not(input: Tensor, *, out: Any = None) -> Tensor:
    return _wrap(np.logical_not(input._data))


def _bitwise(ufunc, name: str) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        from .elementwise import _prepare

        a0 = input._data if isinstance(input, Tensor) else input
        b0 = other._data if isinstance(other, Tensor) else other
        ad = np.asarray(a0).dtype
        if ad.kind == "f" or np.asarray(b0).dtype.kind == "f":
            dt = ad if ad.kind == "f" else np.asarray(b0).dtype
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_name(dt)}'")
        x, y = _prepare(input, other)  # PyTorch's promotion (0-d tensors and numbers are weak)
        a = x._data if isinstance(x, Tensor) else x
        b = y._data if isinstance(y, Tensor) else y
        try:
            return _wrap(np.asarray(ufunc(a, b)))
        except ValueError as e:
            raise (broadcast_error(a, b) or e) from None

    fn.__name__ = name
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    if input.dtype.kind == "f":
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{type_name(input._data.dtype)}'"
        )
    return _wrap(np.invert(input._data))


def isnan(input: Tensor) -> Tensor:
    return _wrap(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return _wrap(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return _wrap(np.isfinite(input._data))


def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    return _wrap(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether all elements are close (``|a - b| <= atol + rtol * |b|``)."""
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether two tensors have the same shape and elements."""
    return input._data.shape == other._data.shape and bool(np.all(input._data == other._data))


def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN, +inf and -inf replaced (by default with 0 and the dtype's largest and smallest
    finite values); the gradient flows where the input was finite, as PyTorch's."""
    d = input._data
    if d.dtype.kind not in "fc" or not (input._rg and _grad_enabled()):
        return _wrap(np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf))
    from .elementwise import where

    info = np.finfo(d.dtype)
    top = info.max if posinf is None else posinf
    bottom = info.min if neginf is None else neginf
    fill = np.where(np.isnan(d), nan, np.where(d > 0, top, bottom)).astype(d.dtype)
    return where(_wrap(np.isfinite(d)), input, _wrap(fill))


def _grad_enabled() -> bool:
    from ..autograd.grad_mode import STATE

    return STATE.enabled
