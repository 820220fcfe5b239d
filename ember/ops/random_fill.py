"""The remaining in-place samplers of ``Tensor``: ``geometric_``, ``cauchy_``, ``log_normal_``
(drawn from the default generator or the one given, as ``exponential_`` and ``normal_``)."""

from __future__ import annotations

from typing import Any

from .. import _random_checks as RC
from .._dtype_names import type_name
from .._tensor import Tensor
from .inplace import _fill_random

__all__ = ["geometric_", "cauchy_", "log_normal_"]


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={RC._num(p)}")
    return _fill_random(self, generator, lambda g, shape: g.geometric(p, shape))


def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fill with samples of the Cauchy distribution ``median + sigma * tan(pi * (U - 1/2))``."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {type_name(self.dtype)}"
        )
    RC.check_positive(sigma, "cauchy_", "sigma")
    return _fill_random(self, generator, lambda g, shape: median + sigma * g.standard_cauchy(shape))


def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None
) -> Tensor:
    """Fill with ``exp(N(mean, std))`` samples."""
    RC.check_floating(self.dtype, "log_normal_cpu")
    RC.check_positive(std, "log_normal_", "std")
    return _fill_random(self, generator, lambda g, shape: g.lognormal(mean, std, shape))
