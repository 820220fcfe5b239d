"""The negative binomial distribution: failures before ``total_count`` successes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Size, Tensor, _wrap
from ..autograd.grad_mode import no_grad
from . import constraints
from ._math import lgamma
from ._sampling import np_dtype, rng
from .distribution import Distribution
from .gamma import Gamma
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["NegativeBinomial"]


class NegativeBinomial(Distribution):
    """``NegativeBinomial(total_count, probs=None, logits=None)``: the number of successes
    (each with probability ``probs``) before ``total_count`` failures, as PyTorch defines it;
    sampled as a Gamma-Poisson mixture."""

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:  # fmt: skip
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> NegativeBinomial:
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(batch_shape))
                new._param = getattr(new, name)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    @lazy_property
    def _gamma(self) -> Gamma:
        return Gamma(self.total_count, (-self.logits).exp(), validate_args=False)

    def sample(self, sample_shape: tuple = Size()) -> Tensor:
        with no_grad():
            rate = self._gamma.sample(sample_shape)
            return _wrap(rng().poisson(rate._data.astype(np.float64)).astype(np_dtype(rate)))

    def log_prob(self, value: Tensor) -> Tensor:
        import ember
        import ember.nn.functional as F

        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_unnormalized = n * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        with np.errstate(invalid="ignore"):  # n = 0: inf - inf, replaced below
            log_normalization = -lgamma(n + value) + lgamma(1.0 + value) + lgamma(n)
        # n = 0 with value 0 has probability 1 (the lgamma terms are inf - inf there).
        zero = ember.zeros((), dtype=log_normalization.dtype)
        log_normalization = ember.where(n + value == 0.0, zero, log_normalization)
        return log_unnormalized - log_normalization
