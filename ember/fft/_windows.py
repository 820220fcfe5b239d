"""Window functions of the ``torch.*`` namespace (``hann_window`` & co.), as PyTorch computes
them: periodic windows are the first N points of an (N + 1)-point symmetric window."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._creation import _leaf
from .._tensor import Tensor
from ..special._kernels import i0e

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _window(name: str, length: int, periodic: bool, dtype: Any, rg: bool, fn: Any) -> Tensor:
    if length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={length}"
        )
    dt = dtype or D.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if length <= 1:
        return _leaf(np.ones(length, dtype=dt.np), rg)
    n = length + 1 if periodic else length
    k = np.arange(n, dtype=np.float64)
    w = fn(k, n)[:length]
    return _leaf(w.astype(dt.np), rg)


def _cos_terms(*coefs: float) -> Any:
    def window(k: np.ndarray, n: int) -> np.ndarray:
        phase = 2 * math.pi * k / (n - 1)
        return sum(c * np.cos(j * phase) for j, c in enumerate(coefs))

    return window


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / (N - 1))."""
    fn = _cos_terms(0.5, -0.5)
    return _window("hann_window", window_length, periodic, dtype, requires_grad, fn)


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """alpha - beta cos(2 pi n / (N - 1))."""
    fn = _cos_terms(alpha, -beta)
    return _window("hamming_window", window_length, periodic, dtype, requires_grad, fn)


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    fn = _cos_terms(0.42, -0.5, 0.08)
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, fn)


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The triangular window 1 - |2n / (N - 1) - 1|."""

    def fn(k, n):
        return 1 - np.abs(2 * k / (n - 1) - 1)

    return _window("bartlett_window", window_length, periodic, dtype, requires_grad, fn)


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: D.dtype | None = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)."""

    def fn(k, n):
        arg = beta * np.sqrt(np.clip(1 - (2 * k / (n - 1) - 1) ** 2, 0, None))
        return i0e(arg) * np.exp(arg - abs(beta)) / i0e(np.float64(beta))

    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, fn)
