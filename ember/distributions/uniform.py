"""The continuous Uniform distribution on [low, high)."""

from __future__ import annotations

from numbers import Number
from typing import Any

from .._tensor import Size, Tensor
from . import constraints
from ._sampling import expand_params, uniform
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """``Uniform(low, high)``, as ``torch.distributions.Uniform`` (``rsample`` differentiable in
    both bounds)."""

    has_rsample = True

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        batch_shape = (
            Size() if isinstance(low, Number) and isinstance(high, Number) else self.low.size()
        )
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Uniform:
        new, batch_shape = expand_params(self, Uniform, _instance, batch_shape, ("low", "high"))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return float("nan") * self.high

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        rand = uniform(shape, self.low)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        import ember

        # log(1[low <= value < high]) without taking log(0) (no NumPy warning, no NaN grads).
        inside = self.low.le(value) & self.high.gt(value)
        zero = ember.zeros((), dtype=self.low.dtype)
        log_indicator = ember.where(
            inside, zero, ember.full((), float("-inf"), dtype=self.low.dtype)
        )
        return log_indicator - (self.high - self.low).log()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        result = (value - self.low) / (self.high - self.low)
        return result.clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()
