"""More elementwise ops: ``logaddexp``/``logaddexp2``, ``hypot``, ``copysign``, ``sinc``,
``logit``, ``deg2rad``/``rad2deg``, ``heaviside``, ``signbit``, ``sgn``, ``isin``, and the dtype
queries ``result_type``/``can_cast``.

Binary ops here take tensors or Python numbers and promote as PyTorch's arithmetic does; those
defined only on floats give the default float dtype for integer operands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ._util import Primitive, as_tensor_arg, broadcast_error, unbroadcast
from .elementwise import _prepare, cast, mul
from .unary import sign

__all__ = [
    "logaddexp",
    "logaddexp2",
    "hypot",
    "copysign",
    "sinc",
    "logit",
    "deg2rad",
    "rad2deg",
    "heaviside",
    "signbit",
    "sgn",
    "isin",
    "ldexp",
    "nextafter",
    "nan_to_num",
    "result_type",
    "can_cast",
]


def _float_operands(input: Any, other: Any, name: str) -> tuple:
    """Both operands as arrays-or-tensors of one floating dtype (PyTorch's promotion, then the
    default float for integers); a Python number becomes a 0-d array that takes no gradient."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    a, b = _prepare(input, other)
    t = a if isinstance(a, Tensor) else b
    dt = t.dtype if t.dtype.is_floating_point else D.get_default_dtype()
    if t.dtype.is_complex:
        raise NotImplementedError(f"ember's {name} takes real tensors only")

    def conv(x: Any) -> Any:
        return cast(x, dt) if isinstance(x, Tensor) else np.asarray(x, dtype=dt.np)

    a, b = conv(a), conv(b)
    shapes = [np.shape(x._data if isinstance(x, Tensor) else x) for x in (a, b)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise broadcast_error(a, b) from None
    return a, b


def _grads(ctx, g: np.ndarray, gx: Any, gy: Any) -> tuple:
    """Each input's gradient (the lazily computed ``gx()``/``gy()``) summed back to its shape."""
    x, y = ctx.saved_tensors[:2]
    nig = ctx.needs_input_grad
    return (
        unbroadcast(gx(), x.shape) if nig[0] else None,
        unbroadcast(gy(), y.shape) if nig[1] else None,
    )


class LogAddExp(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        out = np.logaddexp(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        with np.errstate(invalid="ignore"):
            return _grads(ctx, g, lambda: g * np.exp(x - out), lambda: g * np.exp(y - out))


class LogAddExp2(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        out = np.logaddexp2(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        with np.errstate(invalid="ignore"):
            return _grads(ctx, g, lambda: g * np.exp2(x - out), lambda: g * np.exp2(y - out))


class Hypot(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        out = np.hypot(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            return _grads(ctx, g, lambda: g * x / out, lambda: g * y / out)


class CopySign(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        out = np.copysign(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch: d/dx is +-1 (the sign change), 0 at x == 0; the sign source gets zeros.
        x, y, out = ctx.saved_tensors
        with np.errstate(invalid="ignore", divide="ignore"):
            flip = np.where(x == 0, 0, out / np.where(x == 0, 1, x))
        return _grads(ctx, g, lambda: g * flip, lambda: np.zeros_like(g))


def _no_integers(name: str, *operands: Any) -> None:
    """PyTorch has only floating kernels for these ops: operands that promote to an integer
    type are refused (an integer tensor with a floating one becomes a float)."""
    a, b = operands
    dt = D.result_type_dims(a.dtype, a.ndim, b.dtype, b.ndim)
    if dt._kind < D._FLOAT:
        from ._util import type_name

        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_name(dt)}'")


def logaddexp(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    _check_tensors(input, other, "logaddexp")
    _no_integers("logaddexp", input, other)
    return LogAddExp.apply(*_float_operands(input, other, "logaddexp"))


def logaddexp2(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    _check_tensors(input, other, "logaddexp2")
    _no_integers("logaddexp2", input, other)
    return LogAddExp2.apply(*_float_operands(input, other, "logaddexp2"))


def hypot(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    _check_tensors(input, other, "hypot")
    _no_integers("hypot", input, other)
    return Hypot.apply(*_float_operands(input, other, "hypot"))


def copysign(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``|input|`` with the sign (bit) of ``other``."""
    return CopySign.apply(*_float_operands(input, other, "copysign"))


def _check_tensors(input: Any, other: Any, name: str) -> None:
    for i, (arg, v) in enumerate((("input", input), ("other", other))):
        if not isinstance(v, Tensor):
            raise TypeError(
                f"{name}(): argument '{arg}' (position {i + 1}) must be Tensor, not "
                f"{type(v).__name__}"
            )


class Sinc(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):  # sinc(+-inf) is NaN, as PyTorch's
            out = np.sinc(x)  # NumPy's sinc is the normalised one, as PyTorch's
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # (pi x cos(pi x) - sin(pi x)) / (pi x^2), with sin(pi x) = pi x sinc(x) from the output.
        x, out = ctx.saved_tensors
        with np.errstate(all="ignore"):
            d = (np.cos(np.pi * x) - out) / x
            # PyTorch: 0 wherever pi x^2 is 0 (at 0, and where it underflows).
            return g * np.where(np.pi * x * x == 0, 0, d).astype(g.dtype, copy=False)


class Logit(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, eps):
        z = x if eps is None else np.clip(x, eps, 1 - eps)
        ctx.save_for_backward(x)
        ctx.eps = eps
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z / (1 - z)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        with np.errstate(divide="ignore", invalid="ignore"):
            d = g / (x * (1 - x))
            if eps is None:
                d = np.where((x < 0) | (x > 1), np.nan, d)
            else:
                d = np.where((x < eps) | (x > 1 - eps), 0, d)
        return d.astype(g.dtype, copy=False), None


def _float_tensor(input: Tensor) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor, got {type(input).__name__}")
    return input if input.dtype.is_floating_point else cast(input, D.get_default_dtype())


def sinc(input: Tensor, *, out: Any = None) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    return Sinc.apply(_float_tensor(input))


def logit(input: Tensor, eps: float | None = None, *, out: Any = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    return Logit.apply(_float_tensor(input), None if eps is None else float(eps))


def deg2rad(input: Tensor, *, out: Any = None) -> Tensor:
    """Degrees to radians."""
    return mul(_float_tensor(input), math.pi / 180)


def rad2deg(input: Tensor, *, out: Any = None) -> Tensor:
    """Radians to degrees."""
    return mul(_float_tensor(input), 180 / math.pi)


def heaviside(input: Tensor, values: Tensor, *, out: Any = None) -> Tensor:
    """The step function: 0 below 0, 1 above, ``values`` at 0 (not differentiable)."""
    _check_tensors(input, values, "heaviside")
    if input.dtype is not values.dtype:
        raise RuntimeError(
            "heaviside is not yet implemented for tensors with different dtypes but got tensors "
            f"with dtypes {input.dtype} and {values.dtype}"
        )
    if input.dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.requires_grad or values.requires_grad:
        from ..autograd.grad_mode import STATE

        if STATE.enabled:
            raise NotImplementedError("the derivative for 'heaviside' is not implemented.")
    x, v = input._data, values._data
    try:
        res = np.where(x == 0, v, (x > 0).astype(x.dtype))
    except ValueError:
        raise broadcast_error(input, values) from None
    return _wrap(np.asarray(res, dtype=x.dtype))


class NanToNum(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return np.where(np.isfinite(x), g, 0).astype(g.dtype, copy=False), None, None, None


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
    *,
    out: Any = None,
) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and lowest finite values); the gradient passes where ``input`` is finite."""
    if input.dtype.is_complex:
        raise NotImplementedError("ember's nan_to_num takes real tensors only")
    if not input.dtype.is_floating_point:
        return input.clone()
    return NanToNum.apply(input, nan, posinf, neginf)


def ldexp(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``input * 2**other`` (a float result, differentiable in ``input``)."""
    from .elementwise import pow as _pow

    _check_tensors(input, other, "ldexp")
    return mul(input, _pow(2.0, cast(other, D.get_default_dtype())))


class NextAfter(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.moved = x != y
        ctx.shapes = (x.shape, y.shape)
        return np.nextafter(x, y)

    @staticmethod
    def backward(ctx, g):
        # PyTorch passes the gradient to ``input`` where the value moved (0 where x == other);
        # ``other`` gets zeros.
        gx = unbroadcast(g * ctx.moved, ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        gy = np.zeros(ctx.shapes[1], g.dtype) if ctx.needs_input_grad[1] else None
        return gx, gy


def nextafter(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``."""
    _check_tensors(input, other, "nextafter")
    _no_integers("nextafter", input, other)
    a, b = _float_operands(input, other, "nextafter")
    return NextAfter.apply(a, b)


def signbit(input: Tensor, *, out: Any = None) -> Tensor:
    """Whether the sign bit is set (True for -0.0 too)."""
    if input.dtype.is_complex:
        raise RuntimeError("signbit is not implemented for complex tensors.")
    return _wrap(np.asarray(np.signbit(input._data)))


def sgn(input: Tensor, *, out: Any = None) -> Tensor:
    """``sign`` for real tensors (``x / |x|`` for complex ones, which ember does not cover)."""
    if input.dtype.is_complex:
        raise NotImplementedError("ember's sgn takes real tensors only")
    return sign(input)


def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (bool tensor)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): expected at least one Tensor argument")
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    res = np.isin(e, t, assume_unique=assume_unique, invert=invert)
    return _wrap(np.asarray(res, dtype=np.bool_))


def _dtype_of(x: Any) -> tuple:
    """``(dtype, ndim, is_python_number)`` of a result_type operand."""
    if isinstance(x, Tensor):
        return x.dtype, x.ndim, False
    if isinstance(x, (bool, int, float, complex)):
        return None, 0, True
    raise TypeError(
        "result_type() received an invalid combination of arguments - expected Tensor or Number, "
        f"got {type(x).__name__}"
    )


def result_type(tensor1: Any, tensor2: Any) -> D.dtype:
    """The dtype PyTorch's arithmetic would give for these two operands."""
    d1, n1, s1 = _dtype_of(tensor1)
    d2, n2, s2 = _dtype_of(tensor2)
    if s1 and s2:
        return (
            as_tensor_arg(tensor1).dtype
            if type(tensor1) is type(tensor2)
            else _scalars(tensor1, tensor2)
        )
    if s1:
        return D.result_type_scalar(d2, tensor1)
    if s2:
        return D.result_type_scalar(d1, tensor2)
    return D.result_type_dims(d1, n1, d2, n2)


def _scalars(a: Any, b: Any) -> D.dtype:
    kinds = [complex, float, int, bool]
    for k in kinds:
        if isinstance(a, k) or isinstance(b, k):
            if k is float:
                return D.get_default_dtype()
            if k is complex:
                return D.complex64 if D.get_default_dtype() is not D.float64 else D.complex128
            return D.int64 if k is int else D.bool
    raise TypeError("result_type(): expected numbers")


def can_cast(from_: D.dtype, to: D.dtype) -> bool:
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to`` (no category drop:
    complex -> float, float -> integer and anything -> bool are refused)."""
    for arg, v in (("from_", from_), ("to", to)):
        if not isinstance(v, D.dtype):
            raise TypeError(
                f"can_cast(): argument '{arg}' must be torch.dtype, not {type(v).__name__}"
            )
    return from_._kind <= to._kind


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
