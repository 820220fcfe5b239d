"""Pooling layers: ``FractionalMaxPool2d``/``3d`` and ``LPPool3d``."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from .. import functional as F
from ..functional._tuples import ntuple
from ._errors import names_layer
from .module import Module
from .pooling import _LPPoolNd

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool3d"]


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling: ``(sum of x**p over the window) ** (1/p)``.

    >>> import ember
    >>> ember.nn.LPPool3d(2, 2)
    LPPool3d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)
    """

    _fn = staticmethod(F.lp_pool3d)


class _FractionalMaxPoolNd(Module):
    _d = 0

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        d = self._d
        name = type(self).__name__
        self.kernel_size = ntuple(kernel_size, d)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = ntuple(output_size, d) if output_size is not None else None
        self.output_ratio = ntuple(output_ratio, d) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    @names_layer
    def forward(self, input: Tensor) -> Any:
        fn = F.fractional_max_pool2d if self._d == 2 else F.fractional_max_pool3d
        return fn(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-D fractional max pooling (see ``F.fractional_max_pool2d``); a given
    ``_random_samples`` ``(N, C, 2)`` is kept as a buffer and fixes the windows.

    >>> import ember
    >>> pool = ember.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5))
    >>> pool(ember.randn(2, 4, 10, 12)).shape
    ember.Size([2, 4, 5, 6])
    """

    _d = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-D fractional max pooling (see ``F.fractional_max_pool3d``); ``_random_samples`` is
    ``(N, C, 3)``.

    >>> import ember
    >>> pool = ember.nn.FractionalMaxPool3d(2, output_size=(3, 4, 5))
    >>> pool(ember.randn(1, 2, 6, 8, 9)).shape
    ember.Size([1, 2, 3, 4, 5])
    """

    _d = 3
