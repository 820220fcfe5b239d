"""Small composite functions of tensors shared by the families (all differentiable)."""

from __future__ import annotations

from .._tensor import Tensor
from ._math import lgamma

__all__ = ["xlogy", "clamp_by_zero", "lbeta", "matrix_diagonal"]


def xlogy(x: Tensor, y: Tensor) -> Tensor:
    """``x * log(y)``, 0 where ``x == 0`` (also its gradient: no NaN from log(0))."""
    import ember

    zero = x == 0
    safe_y = ember.where(zero, ember.ones((), dtype=y.dtype), y)
    return ember.where(zero, ember.zeros((), dtype=y.dtype), x * safe_y.log())


def clamp_by_zero(x: Tensor) -> Tensor:
    """``max(x, 0)`` with gradient 1/2 at 0 (as PyTorch's binomial uses)."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


def lbeta(a: Tensor, b: Tensor) -> Tensor:
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def matrix_diagonal(m: Tensor) -> Tensor:
    """The diagonals of a batch of square matrices, differentiable (ember's ``diagonal``
    returns a copy without a graph)."""
    import numpy as np

    from .._tensor import _wrap

    idx = _wrap(np.arange(m.shape[-1]))
    return m[..., idx, idx]
