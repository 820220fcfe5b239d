"""The Gamma and Chi2 distributions; reparameterised samples use implicit gradients."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .._tensor import Size, Tensor
from . import constraints
from ._math import digamma, gamma_reparam, gammainc, lgamma
from ._math_ops import xlogy
from ._sampling import expand_params, np_dtype, rng
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Gamma", "Chi2", "standard_gamma"]


def standard_gamma(concentration: Tensor) -> Tensor:
    """One Gamma(concentration, 1) draw per element, differentiable in ``concentration`` by the
    implicit reparameterisation gradient (``d sample / d concentration`` at a fixed CDF value).
    Samples are clamped to the dtype's smallest normal number, as PyTorch does."""
    dtype = np_dtype(concentration)
    x = rng().standard_gamma(concentration._data.astype(np.float64))
    x = np.maximum(x, np.finfo(dtype).tiny).astype(dtype)
    return gamma_reparam(concentration, x)


class Gamma(Distribution):
    """``Gamma(concentration, rate)``, as ``torch.distributions.Gamma``.

    >>> import ember
    >>> from ember.distributions import Gamma
    >>> Gamma(ember.tensor([2.0]), ember.tensor([3.0])).mean
    tensor([0.6667])
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, Number) and isinstance(rate, Number)
        batch_shape = Size() if scalar else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Gamma:
        new, batch_shape = expand_params(
            self, Gamma, _instance, batch_shape, ("concentration", "rate")
        )
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)

    def log_prob(self, value: Tensor) -> Tensor:
        import ember

        value = value if isinstance(value, Tensor) else ember.tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        return (
            xlogy(self.concentration, self.rate)
            + xlogy(self.concentration - 1, value)
            - self.rate * value
            - lgamma(self.concentration)
        )

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)


class Chi2(Gamma):
    """``Chi2(df)`` = ``Gamma(df / 2, 1 / 2)``."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Chi2:
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
