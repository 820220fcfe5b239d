"""The Dirichlet and Beta distributions (reparameterised through Gamma samples)."""

from __future__ import annotations

from numbers import Real
from typing import Any

from .._tensor import Size, Tensor
from . import constraints
from ._math import digamma, lgamma
from ._math_ops import xlogy
from .distribution import Distribution
from .gamma import standard_gamma
from .utils import broadcast_all

__all__ = ["Dirichlet", "Beta"]


class Dirichlet(Distribution):
    """``Dirichlet(concentration)`` over the simplex of the last dimension.

    ``rsample`` normalises Gamma(concentration, 1) draws, each differentiable by its implicit
    gradient; this is a valid reparameterisation (its gradient's expectation is exact) but not
    PyTorch's per-sample gradient (see docs/differences.md).
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Dirichlet:
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        g = standard_gamma(self.concentration.expand(shape))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        import ember
        import ember.nn.functional as F

        c = self.concentration
        cm1 = (c - 1).clamp(min=0)
        total = cm1.sum(-1, True)
        # All concentrations below 1: the mode is the vertex of the largest one (a constant).
        vertex_rows = (c < 1).all(-1, keepdim=True)
        total = ember.where(total == 0, ember.ones((), dtype=c.dtype), total)
        mode = cm1 / total
        vertex = F.one_hot(mode.argmax(-1), c.shape[-1]).to(c.dtype)
        return ember.where(vertex_rows, vertex, mode)

    @property
    def variance(self) -> Tensor:
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self) -> Tensor:
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (
            lgamma(c).sum(-1)
            - lgamma(a0)
            - (k - a0) * digamma(a0)
            - ((c - 1.0) * digamma(c)).sum(-1)
        )


class Beta(Distribution):
    """``Beta(concentration1, concentration0)`` on [0, 1], as a two-component Dirichlet.

    >>> import ember
    >>> from ember.distributions import Beta
    >>> Beta(ember.tensor([2.0]), ember.tensor([2.0])).mean
    tensor([0.5000])
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None):
        import ember

        if isinstance(concentration1, Real) and isinstance(concentration0, Real):
            c1c0 = ember.tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0)
            c1c0 = ember.stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(c1c0, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> Beta:
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: tuple = Size()) -> Tensor:
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value: Tensor) -> Tensor:
        import ember

        if self._validate_args:
            self._validate_sample(value)
        heads_tails = ember.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()

    @property
    def concentration1(self) -> Tensor:
        result = self._dirichlet.concentration[..., 0]
        return result

    @property
    def concentration0(self) -> Tensor:
        return self._dirichlet.concentration[..., 1]
