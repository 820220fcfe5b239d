"""Argument checks shared by the random fills (``normal_``, ``uniform_``, ``bernoulli``...).

NumPy samples happily from a negative standard deviation or a probability of 1.5 and returns
numbers; PyTorch refuses with these messages, and so does ember.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D
from ._dtype_names import type_name

__all__ = [
    "check_floating",
    "check_std",
    "check_uniform",
    "check_probability",
    "check_probabilities",
    "check_positive",
    "random_bounds",
]


_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half"}


def _num(v: object) -> str:
    """A number as PyTorch's C++ messages print it (``-1`` for -1.0, ``0.1``, ``nan``)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_floating(dt: D.dtype, kernel: str) -> None:
    """PyTorch's NotImplementedError for a continuous distribution on a non-float tensor."""
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name(dt)}'")


def check_std(std: Any, name: str = "normal") -> None:
    """``std >= 0`` (a NaN fails too)."""
    if isinstance(std, np.ndarray):
        if not (std >= 0).all():
            raise RuntimeError(f"{name} expects all elements of std >= 0.0")
    elif not std >= 0:
        raise RuntimeError(f"{name} expects std >= 0.0, but found std {_num(std)}")


def check_uniform(low: float, high: float, dt: D.dtype) -> None:
    """Finite bounds with ``low <= high``, and a span the dtype can hold."""
    top = float(np.finfo(np.float32 if dt.name == "bfloat16" else dt.np).max)
    for what, v in (("from", low), ("to", high)):
        if not -top <= v <= top:
            raise RuntimeError(f"{what} is out of bounds for {_C_NAMES.get(dt.name, dt.name)}")
    if low > high:
        raise RuntimeError(
            "uniform_ expects to return a [from, to) range, but found "
            f"from={_num(low)} > to={_num(high)}"
        )
    if high - low > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{dt.name}>::max()")


def check_probability(p: float, name: str) -> None:
    """A scalar probability in [0, 1] (NaN fails)."""
    if not 0 <= p <= 1:
        raise RuntimeError(f"{name} expects p to be in [0, 1], but got p={_num(p)}")


def check_probabilities(p: np.ndarray) -> None:
    """Every element of a probability tensor in [0, 1] (PyTorch's wording for the tensor form)."""
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def check_positive(value: float, name: str, what: str) -> None:
    """``value > 0`` for a rate or scale (``exponential_``'s lambda...)."""
    if not value > 0:
        raise RuntimeError(f"{name} expects {what} > 0.0, but found {what}={_num(value)}")


def random_bounds(from_: int, to: int | None, dt: D.dtype) -> tuple:
    """``random_``'s range: ``random_(to)``, ``random_(from, to)`` or the dtype's whole range."""
    if to is None:
        if from_:
            from_, to = 0, from_
        else:
            return 0, _default_top(dt)
    if from_ >= to:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}"
        )
    if dt._kind == D._INT:
        info = np.iinfo(dt.np)
        for what, v in (("from", from_), ("to - 1", to - 1)):
            if not info.min <= v <= info.max:
                raise RuntimeError(f"{what} is out of bounds for {type_name(dt)}")
    return from_, to


def _default_top(dt: D.dtype) -> int:
    """The exclusive top of ``random_()``: every integer the dtype holds exactly."""
    if dt is D.bool:
        return 2
    if dt._kind == D._INT:
        return int(np.iinfo(dt.np).max) + 1
    digits = {"float16": 11, "bfloat16": 8, "float32": 24}.get(dt.name, 53)
    return 2**digits + 1  # [0, 2**mantissa] inclusive, as PyTorch
