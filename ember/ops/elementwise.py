"""Elementwise primitives of two or more operands: casts, operand preparation, arithmetic
(with fast paths for a tensor and a Python number), ``where``, ``lerp``/``addcmul``/``addcdiv``.

Binary ops take Tensors or Python scalars; operands are first converted to PyTorch's result dtype
(``_prepare``) so that NumPy's own kernels compute in the right precision.
"""

from __future__ import annotations

import builtins
import functools
import math
from typing import Any

import numpy as np

from .. import _bfloat16 as BF
from .. import _dtype as D
from .._dtype_names import type_name
from .._out import accepts_out, into
from .._tensor import Tensor, _np_to_dtype, _wrap
from ..autograd.grad_mode import STATE, no_grad
from . import _parallel as _P
from ._parallel import binary_split
from ._util import Primitive, broadcast_error, grad_where, is_scalar, unbroadcast

builtins_max = builtins.max


# ---- casts -------------------------------------------------------------------------------
class Cast(Primitive):
    twice_differentiable = True
    bf16_native = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        if g.dtype.kind == "c" and ctx.src.kind != "c":
            g = g.real  # a real input cast to complex: its gradient is the real part
        return g.astype(ctx.src), None


def cast(x: Tensor, dtype: D.dtype) -> Tensor:
    if x._data.dtype == dtype.np:
        return x
    if x._rg and not (dtype.is_floating_point or dtype.is_complex):
        with no_grad():
            return Cast.apply(x, dtype)
    return Cast.apply(x, dtype)


def _prepare(a: Any, b: Any) -> tuple:
    """Cast operands so NumPy's result dtype is PyTorch's; scalars stay Python numbers."""
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        if da == db:
            return a, b
        target = D.result_type_dims(_np_to_dtype[da], a._data.ndim, _np_to_dtype[db], b._data.ndim)
        return cast(a, target), cast(b, target)
    if ta:
        t, s = a, b
    elif tb:
        t, s = b, a
    else:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    if not is_scalar(s):
        if isinstance(s, (list, tuple, np.ndarray)):
            from .._creation import tensor

            s = tensor(s)
            return _prepare(a if ta else s, b if tb else s)
        raise TypeError(
            f"unsupported operand type(s): '{type(a).__name__}' and '{type(b).__name__}'"
        )
    if isinstance(s, (np.number, np.bool_)):
        s = s.item()
    td = _np_to_dtype[t._data.dtype]
    target = D.result_type_scalar(td, s)
    if target is not td:
        t = cast(t, target)
    if type(s) is int and target.np.kind in "iu":
        info = np.iinfo(target.np)
        if not info.min <= s <= info.max:
            # PyTorch wraps an out-of-range integer into the tensor's type (uint8 - 300);
            # NumPy 2 raises OverflowError instead.
            s = np.asarray(s % 2**64, np.uint64).astype(target.np)[()]
    return (t, s) if ta else (s, t)


def _shape(x: Any) -> Any:
    return x.shape if isinstance(x, np.ndarray) else None


def _small(x: Any) -> bool:
    """Whether a binary op on ``x`` runs as the plain NumPy call: not an array big enough for
    ``binary_split`` to consider cutting (its own checks cost ~0.2 us an op; this ~0.1)."""
    return type(x) is not np.ndarray or x.size < _P.MIN_WORK


# ---- binary arithmetic -------------------------------------------------------------------
class Add(Primitive):
    twice_differentiable = True
    bf16_round_scalars = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (_shape(x), _shape(y))
        return x + y if _small(x) else binary_split(np.add, x, y)

    @staticmethod
    def backward(ctx, g):
        sx, sy = ctx.shapes
        nig = ctx.needs_input_grad
        return (
            None if sx is None or not nig[0] else unbroadcast(g, sx),
            None if sy is None or not nig[1] else unbroadcast(g, sy),
        )


class Sub(Primitive):
    twice_differentiable = True
    bf16_round_scalars = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (_shape(x), _shape(y))
        return x - y if _small(x) else binary_split(np.subtract, x, y)

    @staticmethod
    def backward(ctx, g):
        sx, sy = ctx.shapes
        nig = ctx.needs_input_grad
        return (
            None if sx is None or not nig[0] else unbroadcast(g, sx),
            # (-g only when wanted: under create_graph it would be a recorded op)
            None if sy is None or not nig[1] else unbroadcast(-g, sy),
        )


class Mul(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y if _small(x) else binary_split(np.multiply, x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if g.dtype.kind == "c":  # PyTorch's convention: grad_x = g * conj(y)
            x, y = x.conjugate(), y.conjugate()
        if type(g) is np.ndarray and g.size >= _P.MIN_WORK:  # (a graph's g is a Tensor)
            gx = unbroadcast(binary_split(np.multiply, g, y), x.shape) if nig[0] else None
            gy = unbroadcast(binary_split(np.multiply, g, x), y.shape) if nig[1] else None
            return gx, gy
        gx = unbroadcast(g * y, x.shape) if nig[0] else None
        gy = unbroadcast(g * x, y.shape) if nig[1] else None
        return gx, gy


class Div(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y if _small(x) else binary_split(np.divide, x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if g.dtype.kind == "c":  # PyTorch's convention: the conjugate derivatives
            x, y = x.conjugate(), y.conjugate()
        gx = unbroadcast(g / y, x.shape) if nig[0] else None
        gy = unbroadcast(-g * x / (y * y), y.shape) if nig[1] else None
        return gx, gy


class Pow(Primitive):
    twice_differentiable = True
    bf16_round_scalars = True

    @staticmethod
    def forward(ctx, x, y):
        if _int_kinds(x, y):
            out = _int_pow(x, y)
        elif is_scalar(y) and y in _POW_SPECIAL and np.asarray(x).dtype.kind == "f":
            out = _POW_SPECIAL[y](x)
        else:
            out = np.power(x, y)
        # The result is needed only for a tensor exponent's gradient (as PyTorch's PowBackward1;
        # PowBackward0 saves the base only, so writing into the result afterwards is allowed).
        ctx.save_for_backward(x, y, out if isinstance(y, np.ndarray) else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gy = None
        if nig[0]:
            if is_scalar(y) and y == 2:
                # x ** 1 is x exactly: one product less (one recorded op less on the graph)
                d = g * y * x
            elif is_scalar(y):
                d = g * y * np.power(x, y - 1) if y != 0 else np.zeros_like(g)
            else:
                d = np.where(y == 0, 0.0, g * y * np.power(x, y - 1)).astype(g.dtype)
            gx = unbroadcast(d, x.shape)
        if nig[1]:
            # d/dy x**y = x**y * log(x); PyTorch gives 0 where x == 0 and y >= 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where((x == 0) & (y >= 0), 0.0, g * out * np.log(x))
            gy = unbroadcast(lg.astype(g.dtype), y.shape)
        return gx, gy


# PyTorch computes these scalar powers with dedicated kernels (so -0.0 ** -0.5 is -inf, as
# 1 / sqrt(-0.0), where C's pow gives inf).
_POW_SPECIAL = {
    0.5: np.sqrt,
    -0.5: lambda x: np.reciprocal(np.sqrt(x)),
    2: np.square,
    -1: np.reciprocal,
    -2: lambda x: np.reciprocal(np.square(x)),
}


def _int_kinds(x: Any, y: Any) -> bool:
    return np.asarray(x).dtype.kind in "biu" and isinstance(y, np.ndarray) and y.dtype.kind in "iu"


def _int_pow(x: Any, y: np.ndarray) -> np.ndarray:
    """Integer powers with PyTorch's rule for negative exponents (NumPy refuses them): 1 for a
    base of 1, +-1 for -1 by the exponent's parity, 0 for every other base."""
    if not (y < 0).any():
        return np.power(x, y)
    base = np.asarray(x)
    safe = np.power(x, np.where(y < 0, 0, y).astype(y.dtype))
    odd = (y % 2) != 0
    neg = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
    return np.where(y < 0, neg, safe).astype(safe.dtype, copy=False)


class Atan2(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.arctan2(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        den = x * x + y * y
        # At the origin (or where den underflows) PyTorch's gradient is 0, not 0/0.
        zero = den == 0
        den = np.where(zero, 1, den)
        gx = np.where(zero, 0, g * y / den).astype(g.dtype, copy=False)
        gy = np.where(zero, 0, -g * x / den).astype(g.dtype, copy=False)
        return unbroadcast(gx, np.shape(x)), unbroadcast(gy, np.shape(y))


class Maximum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, np.less)


class Minimum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, np.greater)


def _minmax_backward(ctx, g, loses):
    """PyTorch's rule: ties split the gradient evenly; each side gets the whole of it except
    where it ``loses`` (so where a NaN makes every comparison false, both get it all)."""
    x, y = ctx.saved_tensors
    share = np.where(x == y, g * g.dtype.type(0.5), g)
    gx = np.where(loses(x, y), g.dtype.type(0), share)
    gy = np.where(loses(y, x), g.dtype.type(0), share)
    return unbroadcast(gx, np.shape(x)), unbroadcast(gy, np.shape(y))


class FloorDivide(Primitive):
    """Division rounded down (or toward zero with ``trunc``): a zero gradient, as PyTorch's
    ``div(rounding_mode=...)``; ``floor_divide`` itself has no derivative in PyTorch."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y, no_derivative=False, trunc=False):
        ctx.shapes = (_shape(x), _shape(y))
        ctx.no_derivative = no_derivative
        if trunc:
            return np.trunc(np.true_divide(x, y))
        _check_int_divisor(x, y)
        return np.floor_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        if ctx.no_derivative:  # torch.floor_divide (and //) have none; div(floor) has zeros
            raise RuntimeError("derivative for aten::floor_divide is not implemented")
        # Piecewise constant: a zero gradient (as PyTorch's div(rounding_mode='floor')).
        sx, sy = ctx.shapes
        return (
            None if sx is None else np.zeros(sx, g.dtype),
            None if sy is None else np.zeros(sy, g.dtype),
            None,
            None,
        )


class Remainder(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        _check_int_divisor(x, y)
        return np.remainder(x, y)

    @staticmethod
    def backward(ctx, g):
        return _mod_backward(ctx, g, np.floor_divide)


class Fmod(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        _check_int_divisor(x, y)
        return np.fmod(x, y)

    @staticmethod
    def backward(ctx, g):
        return _mod_backward(ctx, g, lambda x, y: np.trunc(x / y))


def _check_int_divisor(x: Any, y: Any) -> None:
    """PyTorch's error for an integer division by zero (NumPy would return 0 with a warning)."""
    if np.asarray(x).dtype.kind in "iub" and np.asarray(y).dtype.kind in "iub":
        if np.size(x) and not np.all(y):  # (an empty dividend divides nothing)
            raise RuntimeError("ZeroDivisionError")


def _mod_backward(ctx, g, quotient):
    # x mod y = x - quotient(x, y) * y, with a piecewise-constant quotient (floor or trunc).
    x, y = ctx.saved_tensors
    gx = unbroadcast(g, np.shape(x)) if ctx.needs_input_grad[0] else None
    gy = None
    if ctx.needs_input_grad[1]:
        gy = unbroadcast(-g * quotient(x, y), np.shape(y))
    return gx, gy


_SCALAR_CACHE: dict = {}


def _scalar_array(c: Any, dt: np.dtype) -> np.ndarray:
    """``c`` as a cached 0-d array of ``dt``: NumPy multiplies an array by a 0-d array of its own
    dtype about twice as fast as by a Python float (NEP 50 weak-scalar handling), with the same
    result (the float is rounded to ``dt`` either way)."""
    # -0.0 == 0.0 (and hashes alike), so zeros get their sign into the key: x / -0.0 is -inf.
    key = (c, dt) if c else (c, dt, math.copysign(1.0, c))
    z = _SCALAR_CACHE.get(key)
    if z is None:
        if len(_SCALAR_CACHE) > 512:
            _SCALAR_CACHE.clear()
        z = _SCALAR_CACHE[key] = np.array(c, dt)
    return z


class AddScalar(Primitive):
    """``x + c`` for a Python number ``c``: no broadcasting to undo, nothing to save."""

    twice_differentiable = True

    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, x, c):
        c = _scalar_array(c, x.dtype)
        return x + c if x.size < _P.MIN_WORK else binary_split(np.add, x, c)

    @staticmethod
    def backward(ctx, g):
        return g, None


class RSubScalar(Primitive):
    """``c - x`` for a Python number ``c``."""

    twice_differentiable = True

    node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, c):
        return c - x

    @staticmethod
    def backward(ctx, g):
        return -g, None


class MulScalar(Primitive):
    """``x * c`` for a Python number ``c``."""

    twice_differentiable = True

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, c):
        c = ctx.c = _scalar_array(c, x.dtype)
        return x * c if x.size < _P.MIN_WORK else binary_split(np.multiply, x, c)

    @staticmethod
    def backward(ctx, g):
        c = ctx.c
        if g.dtype.kind == "c":  # PyTorch's convention for complex gradients: g * conj(c)
            c = c.conjugate()
        return g * c, None


class DivScalar(Primitive):
    """``x / c`` for a Python number ``c``."""

    twice_differentiable = True

    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x / c if x.size < _P.MIN_WORK else binary_split(np.divide, x, c)

    @staticmethod
    def backward(ctx, g):
        c = ctx.c
        if g.dtype.kind == "c":
            c = c.conjugate()
        return g / c, None


_PY_NUM = (float, int)


def _float_tensor_and_number(a: Any, b: Any) -> bool:
    """The hot case: a floating tensor with a plain Python number (keeps the tensor's dtype)."""
    return type(b) in _PY_NUM and isinstance(a, Tensor) and a._data.dtype.kind == "f"


def _scalar_op(prim: type, ufunc: Any, t: Tensor, c: Any) -> Tensor:
    """``ufunc(t, c)`` for a floating tensor and a Python number: through ``prim`` when autograd
    records, else straight to NumPy (no graph machinery on the inference path)."""
    if t._rg and STATE.enabled:
        return prim.apply(t, c)
    d = t._data
    return _wrap(ufunc(d, _scalar_array(c, d.dtype)))


def _rsub(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    return c - d


def _binary(prim: type, a: Any, b: Any, *extra: Any) -> Tensor:
    try:
        if type(a) is type(b) and a._data.dtype == b._data.dtype:  # hot path: same dtypes
            return prim.apply(a, b, *extra)
        a, b = _prepare(a, b)
        return prim.apply(a, b, *extra)
    except ValueError as e:
        raise (broadcast_error(a, b) or e) from None


def _check_int_div(a: Any, b: Any) -> tuple:
    # True division of integers gives the default float dtype, as in PyTorch; an integer tensor
    # divided by (or dividing) a floating tensor takes part in ordinary promotion.
    floats = [x for x in (a, b) if isinstance(x, Tensor) and x.dtype._kind >= D._FLOAT]
    if floats:
        return a, b
    for x in (a, b):
        if isinstance(x, Tensor) and x.dtype._kind < D._FLOAT:
            dt = D.get_default_dtype()
            a = cast(a, dt) if isinstance(a, Tensor) and a.dtype._kind < D._FLOAT else a
            b = cast(b, dt) if isinstance(b, Tensor) and b.dtype._kind < D._FLOAT else b
            if not isinstance(a, Tensor) and isinstance(a, int):
                a = float(a)
            if not isinstance(b, Tensor) and isinstance(b, int):
                b = float(b)
            break
    return a, b


def add(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    if out is not None:
        return into(out, "add", add, input, other, alpha=alpha)
    if type(alpha) is not int or alpha != 1:
        alpha = checked_alpha(alpha, input, other)
    if alpha != 1 and BF.any_bf16(input, other):
        return BF.widened(add, input, other, alpha=BF.round_scalar(alpha))  # as PyTorch
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if _float_tensor_and_number(input, other):
        return _scalar_op(AddScalar, np.add, input, other)
    if _float_tensor_and_number(other, input):
        return _scalar_op(AddScalar, np.add, other, input)
    return _binary(Add, input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    if out is not None:
        return into(out, "sub", sub, input, other, alpha=alpha)
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if type(alpha) is not int or alpha != 1:
        alpha = checked_alpha(alpha, input, other)
    if alpha != 1 and BF.any_bf16(input, other):
        return BF.widened(sub, input, other, alpha=BF.round_scalar(alpha))  # as PyTorch
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if _float_tensor_and_number(input, other):
        return _scalar_op(AddScalar, np.add, input, -other)
    if _float_tensor_and_number(other, input):
        return _scalar_op(RSubScalar, _rsub, other, input)
    return _binary(Sub, input, other)


def _is_bool(x: Any) -> bool:
    return x is True or x is False or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return sub(other, input, alpha=alpha)


def _operand_kind(x: Any) -> int:
    """The dtype category (bool < integer < float < complex) an operand brings to a result."""
    if isinstance(x, Tensor):
        return x.dtype._kind
    if isinstance(x, (bool, np.bool_)):
        return D._BOOL
    if isinstance(x, (int, np.integer)):
        return D._INT
    return D._COMPLEX if isinstance(x, (complex, np.complexfloating)) else D._FLOAT


def checked_alpha(alpha: Any, a: Any, b: Any) -> Any:
    """``alpha`` of ``add``/``sub`` (``a + alpha * b``) after PyTorch's checks against the
    result's category (its ``alpha_check``), converted as PyTorch converts it: to a bool for a
    bool result, to the integer dtype for an integer result (with PyTorch's overflow error).
    NumPy would promote an integer result to float, or drop a complex alpha's imaginary part."""
    if type(alpha) is float and type(a) is Tensor and a.dtype._kind >= D._FLOAT:
        return alpha  # (the common case, an update of a float tensor: nothing to check)
    kind = builtins_max(_operand_kind(a), _operand_kind(b))
    if isinstance(alpha, (bool, np.bool_)):
        if kind != D._BOOL:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        return alpha
    if not isinstance(alpha, (int, float, complex, np.number)):
        return alpha  # (not a number: the arithmetic reports it)
    if kind < D._FLOAT and not isinstance(alpha, (int, np.integer)):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if kind < D._COMPLEX and isinstance(alpha, (complex, np.complexfloating)):
        raise RuntimeError(
            "For non-complex input tensors, argument alpha must not be a complex number."
        )
    if isinstance(alpha, int) and not -(1 << 63) <= alpha < 1 << 64:
        raise OverflowError("int too big to convert")  # (PyTorch's Scalar holds 64 bits)
    if kind == D._BOOL:
        return bool(alpha)
    if kind == D._INT:
        tensors = [x for x in (a, b) if isinstance(x, Tensor)]
        dt = _result_type(*tensors) if tensors else D.int64
        from ._kernels import fit_scalar

        return fit_scalar(int(alpha), D.int64 if dt._kind == D._BOOL else dt)
    return alpha


def mul(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """Elementwise product with broadcasting."""
    if out is not None:
        return into(out, "mul", mul, input, other)
    if _float_tensor_and_number(input, other):
        return _scalar_op(MulScalar, np.multiply, input, other)
    if _float_tensor_and_number(other, input):
        return _scalar_op(MulScalar, np.multiply, other, input)
    return _binary(Mul, input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Any = None) -> Tensor:
    """Elementwise true division (``rounding_mode`` 'trunc' or 'floor' rounds the result)."""
    if out is not None:
        return into(out, "div", div, input, other, rounding_mode=rounding_mode)
    if rounding_mode is None:
        if _float_tensor_and_number(input, other):
            return _scalar_op(DivScalar, np.true_divide, input, other)
        a, b = _check_int_div(input, other)
        return _binary(Div, a, b)
    if rounding_mode == "floor":
        if _is_bool(input) and _is_bool(other):
            raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")
        return _binary(FloorDivide, input, other)
    if rounding_mode == "trunc":
        if _is_bool(input) and _is_bool(other):
            raise NotImplementedError("\"div_trunc_cpu\" not implemented for 'Bool'")
        a, b = _prepare(input, other)
        t = a if isinstance(a, Tensor) else b
        if t.dtype._kind < D._FLOAT:
            try:
                r = _int_trunc_div(_arr(a), _arr(b))
            except ValueError as e:
                raise (broadcast_error(a, b) or e) from None
            return _wrap(r.astype(t._data.dtype, copy=False))
        return _binary(FloorDivide, a, b, False, True)
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


def _int_trunc_div(x: Any, y: Any) -> np.ndarray:
    """Integer division rounded toward zero, exact for all of int64 (no float round trip)."""
    _check_int_divisor(x, y)
    q = np.asarray(np.floor_divide(x, y))
    # floor and trunc differ by one where the division is inexact and the signs differ.
    fix = (np.remainder(x, y) != 0) & ((np.asarray(x) < 0) != (np.asarray(y) < 0))
    return q + fix.astype(q.dtype)


def rdiv(self: Tensor, other: Any) -> Tensor:
    """``other / self`` for the operator: PyTorch computes ``self.reciprocal() * other``."""
    if is_scalar(other) and not isinstance(other, bool):
        from .unary import reciprocal

        return mul(reciprocal(self), other)
    return div(other, self)


def _arr(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


true_divide = div
multiply = mul
subtract = sub
divide = div


@accepts_out
def floor_divide(input: Any, other: Any, *, out: Any = None) -> Tensor:
    if _is_bool(input) and _is_bool(other):
        raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")
    return _binary(FloorDivide, input, other, True)


@accepts_out
def remainder(input: Any, other: Any, *, out: Any = None) -> Tensor:
    if _is_bool(input) and _is_bool(other):
        raise NotImplementedError("\"remainder_cpu\" not implemented for 'Bool'")
    return _binary(Remainder, input, other)


@accepts_out
def fmod(input: Any, other: Any, *, out: Any = None) -> Tensor:
    if _is_bool(input) and _is_bool(other):
        raise NotImplementedError("\"fmod_cpu\" not implemented for 'Bool'")
    return _binary(Fmod, input, other)


@accepts_out
def pow(input: Any, exponent: Any, *, out: Any = None) -> Tensor:  # noqa: A001
    """``input ** exponent`` elementwise (either may be a scalar)."""
    if isinstance(input, Tensor) and is_scalar(exponent):
        if input.dtype._kind < D._FLOAT and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    if _is_bool(input) and isinstance(exponent, Tensor) and _is_bool(exponent):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if isinstance(input, Tensor) and is_scalar(exponent):
        kind = input._data.dtype.kind
        if input._data.dtype == np.float16 or (kind in "iu" and type(exponent) is int):
            from ._kernels import fit_scalar

            fit_scalar(exponent, input.dtype)  # PyTorch converts the exponent to it first
    return _binary(Pow, input, exponent)


@accepts_out
def float_power(input: Any, exponent: Any, *, out: Any = None) -> Tensor:
    """``input ** exponent`` computed in double precision (complex128 for complex operands)."""
    wide = D.float64
    for v in (input, exponent):
        if (isinstance(v, Tensor) and v.dtype.is_complex) or isinstance(v, complex):
            wide = D.complex128
    a = cast(input, wide) if isinstance(input, Tensor) else input
    b = cast(exponent, wide) if isinstance(exponent, Tensor) else exponent
    return _binary(Pow, a, b)


@accepts_out
def atan2(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    a, b = _prepare(input, other)
    if a.dtype._kind < D._FLOAT:  # each integer operand goes to float as it is (-5 stays -5)
        a, b = cast(input, D.get_default_dtype()), cast(other, D.get_default_dtype())
    try:
        return Atan2.apply(a, b)
    except ValueError as e:
        raise (broadcast_error(a, b) or e) from None


arctan2 = atan2


@accepts_out
def maximum(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise maximum of two tensors (ties share the gradient)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"maximum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Maximum, input, other)


@accepts_out
def minimum(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise minimum of two tensors (ties share the gradient)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"minimum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Minimum, input, other)


class Fmax(Primitive):
    """``fmax``: the larger of two values, ignoring a NaN on one side (NaN only if both are)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.fmax(x, y)

    @staticmethod
    def backward(ctx, g):
        return _fminmax_backward(ctx, g, np.greater_equal)


class Fmin(Primitive):
    """``fmin``: the smaller of two values, ignoring a NaN on one side."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.fmin(x, y)

    @staticmethod
    def backward(ctx, g):
        return _fminmax_backward(ctx, g, np.less_equal)


def _fminmax_backward(ctx, g, keeps_x):
    # As PyTorch: the whole gradient goes to x where x wins or ties, or where y is NaN.
    x, y = ctx.saved_tensors
    to_x = keeps_x(x, y) | np.isnan(y)
    return grad_where(to_x, g, np.shape(x)), grad_where(to_x, g, np.shape(y), invert=True)


@accepts_out
def fmax(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise maximum that ignores NaN unless both values are NaN."""
    if not isinstance(other, Tensor):
        raise TypeError(f"fmax(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Fmax, input, other)


@accepts_out
def fmin(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise minimum that ignores NaN unless both values are NaN."""
    if not isinstance(other, Tensor):
        raise TypeError(f"fmin(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Fmin, input, other)


# ---- where, lerp -------------------------------------------------------------------------
class Where(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        ctx.shapes = (np.shape(x), np.shape(y))
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sx, sy = ctx.shapes
        nig = ctx.needs_input_grad
        gx = grad_where(cond, g, sx) if nig[1] else None
        gy = grad_where(cond, g, sy, invert=True) if nig[2] else None
        return None, gx, gy


@accepts_out
def where(condition: Tensor, input: Any = None, other: Any = None, *, out: Any = None) -> Any:
    """Pick from ``input`` where ``condition`` holds, else from ``other``.

    With only ``condition``, the indices of its non-zero elements (``nonzero(as_tuple=True)``).
    """
    if input is None and other is None:
        return tuple(_wrap(i) for i in np.nonzero(condition._data))
    if condition._data.dtype != np.bool_:
        if condition._data.dtype == np.uint8:
            condition = _wrap(condition._data.astype(bool))
        else:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{type_name(condition.dtype)}"
            )
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        input, other = _prepare(input, other)
    elif isinstance(input, Tensor):
        input, other = _prepare(input, other)
    elif isinstance(other, Tensor):
        input, other = _prepare(input, other)
    else:
        dt = (
            D.get_default_dtype()
            if isinstance(input, float) or isinstance(other, float)
            else D.int64
        )
        input, other = _wrap(np.asarray(input, dt.np)), _wrap(np.asarray(other, dt.np))
    try:
        return Where.apply(condition, input, other)
    except ValueError as e:
        raise (broadcast_error(condition, input, other) or e) from None


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)`` (floating tensors of one dtype, as PyTorch)."""
    if BF.any_bf16(input) and getattr(end, "dtype", None) is input.dtype:
        if not isinstance(weight, Tensor) or weight.dtype is input.dtype or not weight.ndim:
            return BF.widened(lerp, input, end, weight)  # one rounding, as PyTorch
    for name, t in (("end", end), ("weight", weight)):
        zero_dim_weight = name == "weight" and isinstance(t, Tensor) and not t.ndim
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype and not zero_dim_weight:
            raise RuntimeError(
                f"expected dtype {_c10(input.dtype)} for `{name}` but got dtype {_c10(t.dtype)}"
            )
    if input.dtype._kind < D._FLOAT:
        from ._util import type_name

        raise NotImplementedError(
            f'"lerp_kernel_{"tensor" if isinstance(weight, Tensor) else "scalar"}" not '
            f"implemented for '{type_name(input.dtype)}'"
        )
    # PyTorch's formula: from the nearer end, so weight 1 gives ``end`` exactly and no
    # intermediate overflows where the result is finite.
    if isinstance(weight, Tensor) and weight.dtype._kind < D._FLOAT:
        weight = cast(weight, input.dtype)  # (1 - weight must not wrap around in uint8)
    try:
        return Lerp.apply(input, end, weight)
    except ValueError as e:
        raise (broadcast_error(input, end, weight) or e) from None


class Lerp(Primitive):
    """``lerp(x, end, w)`` from the nearer end (PyTorch's formula: ``w`` 1 gives ``end``
    exactly, no intermediate overflow where the result is finite). Its gradients are PyTorch's
    ``g (1 - w)``, ``g w`` and ``g (end - x)``: the composition ``x + w (end - x)`` would give
    ``g - g w``, NaN for an infinite ``g``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, end, w):
        if isinstance(w, np.ndarray) and w.dtype != x.dtype:
            w = w.astype(x.dtype)  # a 0-d weight of another float dtype computes in x's
        ctx.save_for_backward(x, end, w)
        diff = end - x
        if np.ndim(w) == 0:  # one weight: only its branch (NaN takes the second, as np.where)
            out = x + w * diff if abs(w) < 0.5 else end - diff * (1 - w)
        else:
            out = np.where(np.abs(w) < 0.5, x + w * diff, end - diff * (1 - w))
        return np.asarray(out).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, end, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = unbroadcast(g * (1 - w), np.shape(x)) if nig[0] else None
        gend = unbroadcast(g * w, np.shape(end)) if nig[1] else None
        gw = unbroadcast(g * (end - x), np.shape(w)) if nig[2] else None
        return gx, gend, gw


def _c10(dt: D.dtype) -> str:
    """A dtype as PyTorch's C++ messages name it."""
    return {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
            "float64": "double", "int64": "long int", "int32": "int", "bool": "bool",
            "int8": "signed char", "uint8": "unsigned char", "int16": "short int"}.get(
        dt.name, dt.name
    )  # fmt: skip


def _common_kind(*ts: Any) -> int:
    return builtins_max(t.dtype._kind for t in ts if isinstance(t, Tensor))


def _result_type(*ts: Tensor) -> D.dtype:
    """PyTorch's result dtype of several tensors: dimensioned ones decide, unless a 0-d one is
    of a higher category (float over integer...), which then decides among the 0-d ones."""
    dims = [t.dtype for t in ts if t.ndim]
    zeros = [t.dtype for t in ts if not t.ndim]
    d = functools.reduce(D.promote_types, dims) if dims else None
    z = functools.reduce(D.promote_types, zeros) if zeros else None
    if d is None or (z is not None and z._kind > d._kind):
        return z
    return d


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``, multiplied left to right as PyTorch does."""
    if BF.any_bf16(input, tensor1, tensor2):
        return BF.widened(addcmul, input, tensor1, tensor2, value=value)
    if _common_kind(input, tensor1, tensor2) == D._BOOL:
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    t1, t2 = _promoted(input, tensor1, tensor2)  # (int8 * int8 must not wrap in a float sum)
    if value == 1:
        return add(input, mul(t1, t2))
    return add(input, mul(mul(t1, _value_like(value, t1)), t2))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``, as PyTorch evaluates it."""
    if BF.any_bf16(input, tensor1, tensor2):
        return BF.widened(addcdiv, input, tensor1, tensor2, value=value)
    if _common_kind(tensor1, tensor2) < D._FLOAT:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes."
        )
    t1, t2 = _promoted(input, tensor1, tensor2)
    if value == 1:
        return add(input, div(t1, t2))
    return add(input, div(mul(t1, _value_like(value, t1)), t2))


def _promoted(input: Tensor, t1: Tensor, t2: Tensor) -> tuple:
    """``t1`` and ``t2`` in the dtype of the whole expression (PyTorch computes in it)."""
    dt = _result_type(input, t1, t2)
    return cast(t1, dt), cast(t2, dt)


def _value_like(value: Any, t: Tensor) -> Any:
    """PyTorch casts ``value`` to the computation's type (``t``'s): an integer one for integer
    tensors, with its overflow error."""
    if t.dtype._kind < D._FLOAT and isinstance(value, (int, float)):
        from ._kernels import fit_scalar

        return fit_scalar(value, t.dtype)
    return value
