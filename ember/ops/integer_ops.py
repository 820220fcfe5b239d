"""Integer arithmetic and float decomposition: ``bitwise_left_shift``/``bitwise_right_shift``
(and the ``<<``/``>>`` operators), ``gcd``, ``lcm`` (no gradients, as PyTorch), and ``frexp``
(its mantissa is differentiable)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap
from .elementwise import _prepare

__all__ = ["bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm", "frexp"]

# torch.return_types.frexp: a named tuple printed under that name.
FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


def _integer_operands(a: Any, b: Any, kernel: str) -> tuple:
    """Both operands as arrays of the promoted integer dtype (PyTorch's NotImplementedError
    naming the kernel and dtype otherwise)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{kernel}: expected a Tensor operand")
    ta, tb = _prepare(a, b)
    like = ta if isinstance(ta, Tensor) else tb
    dtype = like._data.dtype
    if dtype.kind not in "iu":
        name = "Bool" if dtype == np.bool_ else D.from_numpy_dtype(dtype).name.capitalize()
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{name}'")
    arrays = [np.asarray(t._data if isinstance(t, Tensor) else t, dtype) for t in (ta, tb)]
    return arrays[0], arrays[1], dtype


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """``input << other``; a shift past the width of the dtype, or a negative one, gives 0."""
    a, s, dtype = _integer_operands(input, other, "lshift")
    bits = dtype.itemsize * 8
    s64 = s.astype(np.int64)
    valid = (s64 >= 0) & (s64 < bits)
    out = np.left_shift(a, np.where(valid, s64, 0).astype(dtype))
    return _wrap(np.where(valid, out, 0).astype(dtype))


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """``input >> other`` (arithmetic); a shift past the width, or a negative one, fills with
    the sign bit."""
    a, s, dtype = _integer_operands(input, other, "rshift")
    bits = dtype.itemsize * 8
    s64 = s.astype(np.int64)
    s64 = np.where((s64 < 0) | (s64 >= bits), bits - 1, s64)
    return _wrap(np.right_shift(a, s64.astype(dtype)).astype(dtype))


def gcd(input: Tensor, other: Any) -> Tensor:
    """The elementwise greatest common divisor (non-negative) of integer tensors."""
    a, b, dtype = _integer_operands(input, other, "gcd")
    return _wrap(np.gcd(a, b).astype(dtype))


def lcm(input: Tensor, other: Any) -> Tensor:
    """The elementwise least common multiple (non-negative) of integer tensors."""
    a, b, dtype = _integer_operands(input, other, "lcm")
    return _wrap(np.abs(np.lcm(a, b)).astype(dtype))


def frexp(input: Tensor) -> Any:
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, ``|mantissa|`` in
    [0.5, 1); the exponent is int32, as PyTorch."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    _, e = np.frexp(input._data)
    # mantissa = input * 2**-e: on the graph (its gradient is g * 2**-e, as PyTorch's).
    scale = _wrap(np.ldexp(np.ones((), input._data.dtype), -e))
    return FrexpResult(input * scale, _wrap(e.astype(np.int32)))
