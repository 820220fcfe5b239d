"""Row builders for the op parity tables.

A row is ``case(id, fn, *inputs)``: ``fn(lib, *tensors)`` is called once with ``lib=ember`` and
once with ``lib=torch`` (pass ``tfn=`` when the torch spelling differs). Inputs are array specs
(``f(3, 4)``, ``i(2)``...) made into the same NumPy arrays for both libraries, or plain values
passed unchanged (Python scalars, dims).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import ember
from tests.parity import check_op, rand_array


@dataclass(frozen=True)
class Arr:
    """A random array to make: shape, dtype and value range."""

    shape: tuple
    dtype: Any = np.float32
    low: float = -2.0
    high: float = 2.0

    def make(self, seed: int) -> np.ndarray:
        return rand_array(self.shape, self.dtype, seed=seed, low=self.low, high=self.high)


def f(*shape: int, low: float = -2.0, high: float = 2.0) -> Arr:
    """A float32 array."""
    return Arr(shape, np.float32, low, high)


def d(*shape: int, low: float = -2.0, high: float = 2.0) -> Arr:
    """A float64 array."""
    return Arr(shape, np.float64, low, high)


def pos(*shape: int, low: float = 0.5, high: float = 2.0) -> Arr:
    """A float32 array of positive values (for log, sqrt, pow bases...)."""
    return Arr(shape, np.float32, low, high)


def i(*shape: int, low: int = -5, high: int = 5, dtype: Any = np.int64) -> Arr:
    """An integer array (int64 unless told)."""
    return Arr(shape, dtype, low, high)


def nz(*shape: int, dtype: Any = np.int64) -> Arr:
    """A positive integer array (safe divisor)."""
    return Arr(shape, dtype, 1, 5)


def b(*shape: int) -> Arr:
    """A bool array."""
    return Arr(shape, np.bool_)


def case(name: str, fn: Callable, *inputs: Any, tfn: Callable | None = None, **tol: Any) -> Any:
    """One table row: ``fn(lib, *inputs)`` run with ember and torch (or ``tfn`` for torch)."""
    return pytest.param(fn, tfn or fn, inputs, tol, id=name)


def make_inputs(specs: tuple) -> list:
    return [s.make(seed=k + 11) if isinstance(s, Arr) else s for k, s in enumerate(specs)]


def run_case(fn: Callable, tfn: Callable, specs: tuple, tol: dict) -> None:
    """Build the inputs and compare ember with torch (values, dtype, shape, gradients)."""
    inputs = make_inputs(specs)
    check_op(lambda *a: fn(ember, *a), lambda *a: tfn(torch, *a), *inputs, **tol)
