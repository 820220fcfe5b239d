"""``poisson`` (its gradient is zero, as PyTorch's) and the Tensor forms of ``multinomial`` and
``bernoulli``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._creation_random import bernoulli as _bernoulli
from .._creation_random import multinomial as _multinomial
from .._random import Generator, rng
from .._tensor import Tensor
from ._util import Primitive

__all__ = ["poisson", "multinomial", "bernoulli"]


class Poisson(Primitive):
    """A draw whose gradient is zero everywhere (PyTorch records it that way too)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, rates, generator):
        return rng(generator).poisson(rates).astype(rates.dtype)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Samples from Poisson distributions with the rates in ``input``."""
    if input.dtype.kind != "f":
        from ._util import type_name

        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{type_name(input.dtype)}'")
    if input._data.size and not (input._data >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return Poisson.apply(input, generator)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """``torch.multinomial(input, ...)`` as a method."""
    return _multinomial(input, num_samples, replacement, generator=generator)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:
    """``torch.bernoulli(input, ...)`` as a method."""
    return _bernoulli(input, p, generator=generator)
