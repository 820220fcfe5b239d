"""The Cauchy and Student's t distributions."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import numpy as np

from .._tensor import Size, Tensor, _wrap
from . import constraints
from ._math import digamma, lgamma
from ._sampling import expand_params, np_dtype, rng, standard_normal
from .distribution import Distribution
from .gamma import Chi2
from .utils import broadcast_all

__all__ = ["Cauchy", "StudentT"]


class Cauchy(Distribution):
    """``Cauchy(loc, scale)``, as ``torch.distributions.Cauchy`` (mean NaN, variance inf)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = (
            Size() if isinstance(loc, Number) and isinstance(scale, Number) else self.loc.size()
        )
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Cauchy:
        new, batch_shape = expand_params(self, Cauchy, _instance, batch_shape, ("loc", "scale"))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return _wrap(np.full(self._extended_shape(), np.nan, dtype=np_dtype(self.loc)))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return _wrap(np.full(self._extended_shape(), np.inf, dtype=np_dtype(self.loc)))

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _wrap(rng().standard_cauchy(tuple(shape)).astype(np_dtype(self.loc)))
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (
            -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()
        )

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class StudentT(Distribution):
    """``StudentT(df, loc=0.0, scale=1.0)``; ``rsample`` is reparameterised through a Normal
    and a Chi2 (implicit gradient in ``df``)."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        batch_shape = self.df.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> StudentT:
        new, batch_shape = expand_params(
            self, StudentT, _instance, batch_shape, ("df", "loc", "scale")
        )
        new._chi2 = self._chi2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        import ember

        nan = ember.full((), float("nan"), dtype=self.loc.dtype)
        return ember.where(self.df <= 1, nan, self.loc)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        import ember

        df = self.df
        safe_df = ember.where(df > 2, df, ember.full((), 3.0, dtype=df.dtype))
        finite = self.scale.pow(2) * safe_df / (safe_df - 2)
        inf = ember.full((), float("inf"), dtype=df.dtype)
        nan = ember.full((), float("nan"), dtype=df.dtype)
        return ember.where(df > 2, finite, ember.where(df > 1, inf, nan))

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = standard_normal(shape, self.df)
        z = self._chi2.rsample(sample_shape)
        y = x * (z / self.df).rsqrt()
        return self.loc + self.scale * y

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * self.df.log()
            + 0.5 * math.log(math.pi)
            + lgamma(0.5 * self.df)
            - lgamma(0.5 * (self.df + 1.0))
        )
        return -0.5 * (self.df + 1.0) * (y**2.0 / self.df).log1p() - z

    def entropy(self) -> Tensor:
        lbeta = lgamma(0.5 * self.df) + math.lgamma(0.5) - lgamma(0.5 * (self.df + 1))
        return (
            self.scale.log()
            + 0.5 * (self.df + 1) * (digamma(0.5 * (self.df + 1)) - digamma(0.5 * self.df))
            + 0.5 * self.df.log()
            + lbeta
        )
