"""Elementwise primitives: arithmetic, unary maths, comparisons, where, clamp, casts.

Binary ops take Tensors or Python scalars; operands are first converted to PyTorch's result dtype
(``_prepare``) so that NumPy's own kernels compute in the right precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE
from ._util import Primitive, broadcast_error, is_scalar, type_name, unbroadcast

_np_to_dtype = D._BY_NP


# ---- casts -------------------------------------------------------------------------------
class Cast(Primitive):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src), None


def cast(x: Tensor, dtype: D.dtype) -> Tensor:
    if x._data.dtype == dtype.np:
        return x
    if x._rg and not (dtype.is_floating_point or dtype.is_complex):
        with _no_grad():
            return Cast.apply(x, dtype)
    return Cast.apply(x, dtype)


class _no_grad:
    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *a):
        STATE.enabled = self.prev


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


# ---- binary arithmetic -------------------------------------------------------------------
class Add(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (_shape(x), _shape(y))
        return x + y

    @staticmethod
    def backward(ctx, g):
        sx, sy = ctx.shapes
        return (
            None if sx is None else unbroadcast(g, sx),
            None if sy is None else unbroadcast(g, sy),
        )


class Sub(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (_shape(x), _shape(y))
        return x - y

    @staticmethod
    def backward(ctx, g):
        sx, sy = ctx.shapes
        return (
            None if sx is None else unbroadcast(g, sx),
            None if sy is None else unbroadcast(-g, sy),
        )


class Mul(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = unbroadcast(g * y, x.shape) if nig[0] else None
        gy = unbroadcast(g * x, y.shape) if nig[1] else None
        return gx, gy


class Div(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = unbroadcast(g / y, x.shape) if nig[0] else None
        gy = unbroadcast(-g * x / (y * y), y.shape) if nig[1] else None
        return gx, gy


class Pow(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        out = np.power(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gy = None
        if nig[0]:
            if is_scalar(y):
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


class Atan2(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.arctan2(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        den = x * x + y * y
        return unbroadcast(g * y / den, x.shape), unbroadcast(-g * x / den, y.shape)


class Maximum(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, np.greater)


class Minimum(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _minmax_backward(ctx, g, np.less)


def _minmax_backward(ctx, g, better):
    x, y = ctx.saved_tensors
    # Ties split the gradient evenly, as PyTorch does.
    win = better(x, y)
    tie = x == y
    gx = g * (win + 0.5 * tie).astype(g.dtype)
    gy = g * ((~win & ~tie) + 0.5 * tie).astype(g.dtype)
    return unbroadcast(gx, np.shape(x)), unbroadcast(gy, np.shape(y))


class FloorDivide(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (_shape(x), _shape(y))
        return np.floor_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        # Piecewise constant: a zero gradient (as PyTorch's div(rounding_mode='floor')).
        sx, sy = ctx.shapes
        return (
            None if sx is None else np.zeros(sx, g.dtype),
            None if sy is None else np.zeros(sy, g.dtype),
        )


class Remainder(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.remainder(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = unbroadcast(g, np.shape(x)) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            gy = unbroadcast(-g * np.floor_divide(x, y), np.shape(y))
        return gx, gy


class Fmod(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.fmod(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = unbroadcast(g, np.shape(x)) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            gy = unbroadcast(-g * np.trunc(x / y), np.shape(y))
        return gx, gy


_SCALAR_CACHE: dict = {}


def _scalar_array(c: Any, dt: np.dtype) -> np.ndarray:
    """``c`` as a cached 0-d array of ``dt``: NumPy multiplies an array by a 0-d array of its own
    dtype about twice as fast as by a Python float (NEP 50 weak-scalar handling), with the same
    result (the float is rounded to ``dt`` either way)."""
    key = (c, dt)
    z = _SCALAR_CACHE.get(key)
    if z is None:
        if len(_SCALAR_CACHE) > 512:
            _SCALAR_CACHE.clear()
        z = _SCALAR_CACHE[key] = np.array(c, dt)
    return z


class AddScalar(Primitive):
    """``x + c`` for a Python number ``c``: no broadcasting to undo, nothing to save."""

    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, x, c):
        return x + _scalar_array(c, x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g, None


class RSubScalar(Primitive):
    """``c - x`` for a Python number ``c``."""

    node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, c):
        return c - x

    @staticmethod
    def backward(ctx, g):
        return -g, None


class MulScalar(Primitive):
    """``x * c`` for a Python number ``c``."""

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, c):
        c = ctx.c = _scalar_array(c, x.dtype)
        return x * c

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c, None


class DivScalar(Primitive):
    """``x / c`` for a Python number ``c``."""

    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x / c

    @staticmethod
    def backward(ctx, g):
        return g / ctx.c, None


_PY_NUM = (float, int)


def _float_tensor_and_number(a: Any, b: Any) -> bool:
    """The hot case: a floating tensor with a plain Python number (keeps the tensor's dtype)."""
    return type(b) in _PY_NUM and isinstance(a, Tensor) and a._data.dtype.kind == "f"


def _binary(prim: type, a: Any, b: Any) -> Tensor:
    try:
        if type(a) is type(b) and a._data.dtype == b._data.dtype:  # hot path: same dtypes
            return prim.apply(a, b)
        a, b = _prepare(a, b)
        return prim.apply(a, b)
    except ValueError as e:
        raise (broadcast_error(a, b) or e) from None


def _check_int_div(a: Any, b: Any) -> tuple:
    # True division of integers gives the default float dtype, as in PyTorch.
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
    if alpha != 1:
        other = mul(other, alpha)
    if _float_tensor_and_number(input, other):
        return AddScalar.apply(input, other)
    if _float_tensor_and_number(other, input):
        return AddScalar.apply(other, input)
    return _binary(Add, input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha)
    if _float_tensor_and_number(input, other):
        return AddScalar.apply(input, -other)
    if _float_tensor_and_number(other, input):
        return RSubScalar.apply(other, input)
    return _binary(Sub, input, other)


def _is_bool(x: Any) -> bool:
    return x is True or x is False or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return sub(other, input, alpha=alpha) if alpha == 1 else sub(other, mul(input, alpha))


def mul(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """Elementwise product with broadcasting."""
    if _float_tensor_and_number(input, other):
        return MulScalar.apply(input, other)
    if _float_tensor_and_number(other, input):
        return MulScalar.apply(other, input)
    return _binary(Mul, input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Any = None) -> Tensor:
    """Elementwise true division (``rounding_mode`` 'trunc' or 'floor' rounds the result)."""
    if rounding_mode is None:
        if _float_tensor_and_number(input, other):
            return DivScalar.apply(input, other)
        a, b = _check_int_div(input, other)
        return _binary(Div, a, b)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = _prepare(input, other)
        if isinstance(a, Tensor) and a.dtype._kind < D._FLOAT:
            r = np.trunc(np.divide(_arr(a), _arr(b)))
            return _wrap(r.astype(a._data.dtype))
        return trunc(_binary(Div, a, b))
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


def _arr(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


true_divide = div
multiply = mul
subtract = sub
divide = div


def floor_divide(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return _binary(FloorDivide, input, other)


def remainder(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return _binary(Remainder, input, other)


def fmod(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return _binary(Fmod, input, other)


def pow(input: Any, exponent: Any, *, out: Any = None) -> Tensor:  # noqa: A001
    """``input ** exponent`` elementwise (either may be a scalar)."""
    if isinstance(input, Tensor) and is_scalar(exponent):
        if input.dtype._kind < D._FLOAT and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _binary(Pow, input, exponent)


float_power = pow


def atan2(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    a, b = _prepare(input, other)
    if a.dtype._kind < D._FLOAT:
        a, b = cast(a, D.get_default_dtype()), cast(b, D.get_default_dtype())
    return Atan2.apply(a, b)


arctan2 = atan2


def maximum(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise maximum of two tensors (ties share the gradient)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"maximum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Maximum, input, other)


def minimum(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Elementwise minimum of two tensors (ties share the gradient)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"minimum(): argument 'other' must be Tensor, not {type(other).__name__}")
    return _binary(Minimum, input, other)


fmax = maximum
fmin = minimum


# ---- unary -------------------------------------------------------------------------------
def _unary(name: str, fwd, bwd, save: str = "x", float_only: bool = True) -> tuple:
    """Make a unary primitive class and its function. ``bwd(g, x, out)`` gives the input grad."""

    if save == "x":

        def forward(ctx, x):
            ctx.save_for_backward(x)
            return fwd(x)

        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return bwd(g, x, None)

    elif save == "out":

        def forward(ctx, x):
            out = fwd(x)
            ctx.save_for_backward(out)
            return out

        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return bwd(g, None, out)

    else:

        def forward(ctx, x):
            return fwd(x)

        def backward(ctx, g):
            return bwd(g, None, None)

    cls = type(
        name,
        (Primitive,),
        {
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
        },
    )

    if float_only:

        def fn(input: Tensor, *, out: Any = None) -> Tensor:
            if input._data.dtype.kind not in "fc":
                input = cast(input, D.get_default_dtype())
            return cls.apply(input)

    else:

        def fn(input: Tensor, *, out: Any = None) -> Tensor:
            return cls.apply(input)

    fn.__name__ = name.lower()
    fn.__doc__ = f"Elementwise ``{name.lower()}`` (differentiable)."
    return cls, fn


def _zero_grad(g, x, out):
    return np.zeros_like(g)


def _sign_fwd(x):
    return x.copy() if x.dtype == np.bool_ else np.sign(x)


Neg, _neg = _unary("Neg", np.negative, lambda g, x, o: -g, save="none", float_only=False)


def neg(input: Tensor, *, out: Any = None) -> Tensor:
    """``-input`` elementwise (PyTorch refuses bool tensors)."""
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(input)


Exp, exp = _unary("Exp", np.exp, lambda g, x, o: g * o, save="out")
Exp2, exp2 = _unary("Exp2", np.exp2, lambda g, x, o: g * o * np.log(2).astype(g.dtype), save="out")
Expm1, expm1 = _unary("Expm1", np.expm1, lambda g, x, o: g * (o + 1), save="out")
Log, log = _unary("Log", np.log, lambda g, x, o: g / x)
Log2, log2 = _unary("Log2", np.log2, lambda g, x, o: g / (x * np.log(2).astype(x.dtype)))
Log10, log10 = _unary("Log10", np.log10, lambda g, x, o: g / (x * np.log(10).astype(x.dtype)))
Log1p, log1p = _unary("Log1p", np.log1p, lambda g, x, o: g / (1 + x))
Sqrt, sqrt = _unary("Sqrt", np.sqrt, lambda g, x, o: g / (2 * o), save="out")
Rsqrt, rsqrt = _unary(
    "Rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, o: -0.5 * g * o * o * o, save="out"
)
Sin, sin = _unary("Sin", np.sin, lambda g, x, o: g * np.cos(x))
Cos, cos = _unary("Cos", np.cos, lambda g, x, o: -g * np.sin(x))
Tan, tan = _unary("Tan", np.tan, lambda g, x, o: g * (1 + o * o), save="out")
Asin, asin = _unary("Asin", np.arcsin, lambda g, x, o: g / np.sqrt(1 - x * x))
Acos, acos = _unary("Acos", np.arccos, lambda g, x, o: -g / np.sqrt(1 - x * x))
Atan, atan = _unary("Atan", np.arctan, lambda g, x, o: g / (1 + x * x))
Sinh, sinh = _unary("Sinh", np.sinh, lambda g, x, o: g * np.cosh(x))
Cosh, cosh = _unary("Cosh", np.cosh, lambda g, x, o: g * np.sinh(x))


def _tanh_backward(g, x, o):
    # g * (1 - o**2) as three array-array ops: Python scalars cost more than a whole tiny op.
    t = g * o
    t *= o
    return g - t


Tanh, tanh = _unary("Tanh", np.tanh, _tanh_backward, save="out")
Asinh, asinh = _unary("Asinh", np.arcsinh, lambda g, x, o: g / np.sqrt(x * x + 1))
Acosh, acosh = _unary("Acosh", np.arccosh, lambda g, x, o: g / np.sqrt(x * x - 1))
Atanh, atanh = _unary("Atanh", np.arctanh, lambda g, x, o: g / (1 - x * x))
Reciprocal, reciprocal = _unary("Reciprocal", np.reciprocal, lambda g, x, o: -g * o * o, save="out")
Square, _square = _unary("Square", np.square, lambda g, x, o: 2 * g * x, float_only=False)


def _sigmoid_fwd(x):
    # exp of a negative argument only: no overflow warnings for large |x|.
    out = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + out), out / (1 + out)).astype(x.dtype, copy=False)


Sigmoid, sigmoid = _unary("Sigmoid", _sigmoid_fwd, lambda g, x, o: g * o * (1 - o), save="out")
Abs, _abs = _unary("Abs", np.abs, lambda g, x, o: g * np.sign(x), float_only=False)


def abs(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A001
    """``|input|`` elementwise (PyTorch has no bool kernel)."""
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    return Abs.apply(input)


Sign, sign = _unary("Sign", _sign_fwd, _zero_grad, save="none", float_only=False)
Floor, floor = _unary("Floor", np.floor, _zero_grad, save="none", float_only=False)
Ceil, ceil = _unary("Ceil", np.ceil, _zero_grad, save="none", float_only=False)
Trunc, trunc = _unary("Trunc", np.trunc, _zero_grad, save="none", float_only=False)
Frac, frac = _unary("Frac", lambda x: x - np.trunc(x), lambda g, x, o: g, save="none")


def _relu_fwd(x):
    return np.maximum(x, 0, dtype=x.dtype)


Relu, _relu = _unary("Relu", _relu_fwd, lambda g, x, o: g * (o > 0), save="out", float_only=False)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)`` elementwise."""
    return Relu.apply(input)


absolute = abs
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
negative = neg
fix = trunc


def square(input: Tensor) -> Tensor:
    if input.dtype is D.bool:
        input = cast(input, D.int64)
    return Square.apply(input)


class Round(Primitive):
    @staticmethod
    def forward(ctx, x, decimals):
        return np.round(x, decimals)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, as PyTorch does."""
    return Round.apply(input, decimals)


def _erf_np(x: np.ndarray) -> np.ndarray:
    # Abramowitz-Stegun is too coarse for parity; use math.erf through a vectorised ufunc.
    return _ERF(x).astype(x.dtype, copy=False)


import math as _math  # noqa: E402

_ERF = np.frompyfunc(_math.erf, 1, 1)


class Erf(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.asarray(_erf_np(x), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / np.sqrt(np.pi)) * np.exp(-x * x)


def erf(input: Tensor) -> Tensor:
    if input._data.dtype.kind not in "fc":
        input = cast(input, D.get_default_dtype())
    return Erf.apply(input)


# ---- clamp, where, lerp ------------------------------------------------------------------
class Clamp(Primitive):
    @staticmethod
    def forward(ctx, x, lo, hi):
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        if out is x:
            out = x.copy()
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        # PyTorch's rule: input gets the gradient where lo <= x <= hi (ties included), a tensor
        # bound where x lies beyond it.
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        nig = ctx.needs_input_grad
        mask = True
        if lo is not None:
            mask = mask & (x >= lo)
        if hi is not None:
            mask = mask & (x <= hi)
        gx = unbroadcast(np.where(mask, g, 0).astype(g.dtype, copy=False), x.shape)
        glo = ghi = None
        if isinstance(lo, np.ndarray) and nig[1]:
            glo = unbroadcast(np.where(x < lo, g, 0).astype(g.dtype, copy=False), lo.shape)
        if isinstance(hi, np.ndarray) and nig[2]:
            ghi = unbroadcast(np.where(x > hi, g, 0).astype(g.dtype, copy=False), hi.shape)
        return gx, glo, ghi


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Any = None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]`` (either bound may be None or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Tensor bounds: one Clamp node on the promoted dtype (not maximum/minimum, whose ties
        # split the gradient where PyTorch's clamp gives it all to the input).
        bounds = [v for v in (min, max) if isinstance(v, Tensor)]
        dt = input.dtype
        for v in bounds:
            dt = D.result_type_dims(dt, input.ndim, v.dtype, v.ndim)
        lo = cast(min, dt) if isinstance(min, Tensor) else _scalar_like(min, dt)
        hi = cast(max, dt) if isinstance(max, Tensor) else _scalar_like(max, dt)
        try:
            return Clamp.apply(cast(input, dt), lo, hi)
        except ValueError as e:
            raise (broadcast_error(*(v for v in (input, lo, hi) if v is not None)) or e) from None
    if input.dtype._kind < D._FLOAT and any(isinstance(v, float) for v in (min, max)):
        input = cast(input, D.get_default_dtype())
    return Clamp.apply(input, min, max)


def _scalar_like(v: Any, dt: D.dtype) -> Tensor | None:
    return None if v is None else _wrap(np.asarray(v, dtype=dt.np))


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


class Where(Primitive):
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
        gx = unbroadcast(np.where(cond, g, 0).astype(g.dtype), sx) if nig[1] else None
        gy = unbroadcast(np.where(cond, 0, g).astype(g.dtype), sy) if nig[2] else None
        return None, gx, gy


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
                f"{condition.dtype.name.capitalize()}"
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
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return add(input, mul(mul(tensor1, tensor2), value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return add(input, mul(div(tensor1, tensor2), value))


# ---- comparisons and logic (no gradient) -------------------------------------------------
def _compare(ufunc) -> Any:
    def fn(input: Any, other: Any, *, out: Any = None) -> Tensor:
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        if isinstance(b, (list, tuple)):
            b = np.asarray(b)
        try:
            return _wrap(np.asarray(ufunc(a, b)))
        except ValueError as e:
            raise (broadcast_error(a, b) or e) from None

    fn.__name__ = ufunc.__name__
    fn.__doc__ = f"Elementwise ``{ufunc.__name__}``, a bool tensor (no gradient)."
    return fn


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


def logical_not(input: Tensor, *, out: Any = None) -> Tensor:
    return _wrap(np.logical_not(input._data))


def _bitwise(ufunc, name: str) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        ad = np.asarray(a).dtype
        if ad.kind == "f" or np.asarray(b).dtype.kind == "f":
            dt = ad if ad.kind == "f" else np.asarray(b).dtype
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_name(dt)}'")
        return _wrap(np.asarray(ufunc(a, b)))

    fn.__name__ = name
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "f":
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
    return _wrap(np.nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf))
