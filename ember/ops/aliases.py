"""Names PyTorch keeps for ops ember already has under another name or as a functional:
``igamma``/``igammac`` (``special.gammainc``/``gammaincc``), ``trapz`` (``trapezoid``),
``Tensor.hardshrink``/``prelu`` (``nn.functional``), ``cfloat``/``cdouble`` (casts),
``narrow_copy``, ``float_power_``, and ``put``/``put_`` (flat-index writes)."""

from __future__ import annotations

from typing import Any

from .. import _dtype as D
from .._tensor import Tensor

__all__ = [
    "igamma",
    "igammac",
    "trapz",
    "hardshrink",
    "prelu",
    "cfloat",
    "cdouble",
    "narrow_copy",
    "float_power_",
    "put",
]


def igamma(input: Tensor, other: Any) -> Tensor:
    """The regularized lower incomplete gamma function (``special.gammainc``)."""
    from ..special import gammainc

    return gammainc(input, other)


def igammac(input: Tensor, other: Any) -> Tensor:
    """The regularized upper incomplete gamma function (``special.gammaincc``)."""
    from ..special import gammaincc

    return gammaincc(input, other)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """``trapezoid`` under its older name."""
    from .cumulative import trapezoid

    if x is not None:
        return trapezoid(y, x, dim=dim)
    return trapezoid(y, dx=1 if dx is None else dx, dim=dim)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    from ..nn.functional import hardshrink as _hardshrink

    return _hardshrink(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    from ..nn.functional import prelu as _prelu

    return _prelu(input, weight)


def cfloat(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input.to(complex64)``."""
    return input.to(D.complex64)


def cdouble(input: Tensor, memory_format: Any = None) -> Tensor:
    """``input.to(complex128)``."""
    return input.to(D.complex128)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow`` as a new tensor (not a view)."""
    return input.narrow(dim, start, length).clone()


def float_power_(input: Tensor, exponent: Any) -> Tensor:
    """``float_power`` in place: only a float64 (or complex128) tensor can hold the result."""
    from .inplace import inplace_from

    out_dtype = D.float64 if not input.is_complex() else D.complex128
    if isinstance(exponent, Tensor) and exponent.is_complex():
        out_dtype = D.complex128
    if out_dtype != input.dtype:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_title(input.dtype)} but the operation's "
            f"result requires dtype {_title(out_dtype)}"
        )
    return inplace_from(Tensor.float_power, "float_power_")(input, exponent)


def _title(dt: D.dtype) -> str:
    from .._dtype_names import type_name

    return type_name(dt)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written at the flat (C-order) positions ``index``
    (added there when ``accumulate``); negative positions count from the end."""
    n = input.numel()
    flat_index = index.reshape(-1)
    if flat_index.numel():
        lo, hi = int(flat_index.min()), int(flat_index.max())
        bad = hi if hi >= n else lo if lo < -n else None
        if bad is not None:
            raise IndexError(
                f"out of range: tried to access index {bad} on a tensor of {n} elements."
            )
    if flat_index.numel() != source.numel():
        raise RuntimeError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {flat_index.numel()}"
        )
    flat = input.reshape(-1).index_put((flat_index,), source.reshape(-1), accumulate)
    return flat.reshape(input.shape)
