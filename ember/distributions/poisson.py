"""The Poisson and Geometric distributions (counts)."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .._tensor import Size, Tensor, _wrap
from ..autograd.grad_mode import no_grad
from . import constraints
from ._math import lgamma
from ._math_ops import xlogy
from ._sampling import expand_params, np_dtype, rng
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Poisson", "Geometric"]


class Poisson(Distribution):
    """``Poisson(rate)``, as ``torch.distributions.Poisson``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Poisson:
        new, batch_shape = expand_params(self, Poisson, _instance, batch_shape, ("rate",))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            lam = np.broadcast_to(self.rate._data.astype(np.float64), shape)
            return _wrap(rng().poisson(lam).astype(np_dtype(self.rate)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)


class Geometric(Distribution):
    """``Geometric(probs=None, logits=None)``: the number of failures before the first success."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        probs_or_logits = probs if probs is not None else logits
        batch_shape = (
            Size()
            if isinstance(probs_or_logits, Number)
            else (self.probs.size() if probs is not None else self.logits.size())
        )
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and probs is not None:
            # Add an extra check beyond unit_interval, as PyTorch does.
            value = self.probs
            valid = value._data > 0
            if not bool(np.all(valid)):
                invalid = value.detach()[_wrap(~valid)]
                raise ValueError(
                    f"Expected parameter probs ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {repr(self)} to be positive but found "
                    f"invalid values:\n{invalid}"
                )

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Geometric:
        new, batch_shape = expand_params(
            self, Geometric, _instance, batch_shape, ("probs", "logits")
        )
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return self.probs * 0

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    def sample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        dtype = np_dtype(self.probs)
        with no_grad(), np.errstate(divide="ignore"):
            u = np.maximum(rng().random(tuple(shape)).astype(dtype), np.finfo(dtype).tiny)
            p = np.broadcast_to(self.probs._data, shape)
            return _wrap(np.floor(np.log(u) / np.log1p(-p)).astype(dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        import ember

        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p = 1 with value 0 has probability 1: 0 * log(0) must be 0, not NaN.
        zero = (probs == 1) & (value == 0)
        probs = ember.where(zero, ember.zeros((), dtype=probs.dtype), probs)
        return xlogy(value, 1 - probs) + self.probs.log()

    def entropy(self) -> Tensor:
        import ember.nn.functional as F

        bce = F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bce / self.probs
