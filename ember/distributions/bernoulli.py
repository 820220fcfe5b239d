"""The Bernoulli distribution over {0, 1}."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .._tensor import Size, Tensor, _wrap
from ..autograd.grad_mode import no_grad
from . import constraints
from ._sampling import expand_params, rng
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


def _bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    import ember.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def _probs_or_logits(self: Any, probs: Any, logits: Any) -> Tensor:
    """Store ``probs`` or ``logits`` (exactly one given) broadcast as a tensor; return it."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        (self.probs,) = broadcast_all(probs)
        return self.probs
    (self.logits,) = broadcast_all(logits)
    return self.logits


class Bernoulli(Distribution):
    """``Bernoulli(probs=None, logits=None)``, as ``torch.distributions.Bernoulli``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None):
        is_scalar = isinstance(probs if probs is not None else logits, Number)
        self._param = _probs_or_logits(self, probs, logits)
        batch_shape = Size() if is_scalar else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Bernoulli:
        new, batch_shape = expand_params(
            self, Bernoulli, _instance, batch_shape, ("probs", "logits")
        )
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> Tensor:
        return self._param.new(*args, **kwargs)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        p = self.probs._data
        return _wrap(np.where(p == 0.5, np.nan, (p >= 0.5)).astype(p.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def sample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            p = np.broadcast_to(self.probs._data, shape)
            return _wrap((rng().random(shape) < p).astype(p.dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self) -> Tensor:
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        import ember

        values = ember.arange(2, dtype=self._param.dtype)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
