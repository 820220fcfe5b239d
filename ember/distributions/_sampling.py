"""Drawing from NumPy's generator behind ``ember.manual_seed`` (so ``ember.manual_seed`` makes
every distribution's samples reproducible), and the shared ``expand`` helper."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import default_generator
from .._tensor import Size, Tensor, _wrap

__all__ = ["rng", "standard_normal", "uniform", "expand_params", "np_dtype", "sum_rightmost"]


def rng() -> np.random.Generator:
    return default_generator.np


def np_dtype(t: Tensor) -> np.dtype:
    return t._data.dtype if t._data.dtype.kind == "f" else np.dtype(np.float32)


def standard_normal(shape: tuple, like: Tensor) -> Tensor:
    return _wrap(rng().standard_normal(tuple(shape)).astype(np_dtype(like)))


def uniform(shape: tuple, like: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Uniform on [low, high) in the dtype of ``like``."""
    return _wrap(rng().uniform(low, high, tuple(shape)).astype(np_dtype(like)))


def expand_params(self: Any, cls: type, instance: Any, batch_shape: tuple, names: tuple) -> Any:
    """The body of most ``expand`` methods: a new instance whose ``names`` parameters are
    expanded to ``batch_shape`` (views, no copies), validation inherited."""
    new = self._get_checked_instance(cls, instance)
    batch_shape = Size(batch_shape)
    for name in names:
        if name in self.__dict__:
            param_shape = batch_shape + tuple(getattr(self, name).shape[len(self.batch_shape) :])
            setattr(new, name, getattr(self, name).expand(param_shape))
    return new, batch_shape


def sum_rightmost(value: Any, dim: int) -> Any:
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0 or not isinstance(value, Tensor):
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)
