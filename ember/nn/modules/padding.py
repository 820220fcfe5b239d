"""Padding layers: zero, constant, reflection, replication and circular padding (1-3d)."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ..functional._resample import pad
from ._errors import LAYER_ERRORS, name_layer
from .module import Module

__all__ = [
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]


def _widths(padding: Any, sd: int) -> tuple:
    """An int or a ``2*sd``-tuple as PyTorch stores it (a ``2*sd``-tuple)."""
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2 * sd:
            raise ValueError(
                f"padding must be an int or a tuple of {2 * sd} ints, got {tuple(padding)}"
            )
        return tuple(padding)
    return (padding,) * (2 * sd)


class _PadNd(Module):
    _mode = "constant"
    _sd = 0

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _widths(padding, self._sd)

    def _check_dim(self, input: Tensor) -> None:
        sd = self._sd
        if isinstance(input, Tensor) and input.ndim not in (sd + 1, sd + 2):
            raise ValueError(f"expected {sd + 1}D or {sd + 2}D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        try:
            self._check_dim(input)
            return pad(input, self.padding, self._mode)
        except LAYER_ERRORS as e:
            name_layer(e, self)
            raise

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with a constant: ``padding`` int or ``(left, right)``."""

    _sd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with a constant: ``padding`` int or ``(left, right, top, bottom)``.

    >>> import ember
    >>> from ember import nn
    >>> nn.ConstantPad2d((1, 0, 2, 0), 3.5)(ember.zeros(1, 2, 2)).shape
    ember.Size([1, 4, 3])
    """

    _sd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with a constant."""

    _sd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dim with zeros."""

    _sd = 1


class ZeroPad2d(_ZeroPadNd):
    """Pads the last 2 dims with zeros: ``padding`` int or ``(left, right, top, bottom)``."""

    _sd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pads the last 3 dims with zeros."""

    _sd = 3


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim about its edges (edge not repeated)."""

    _mode = "reflect"
    _sd = 1


class ReflectionPad2d(_PadNd):
    """Mirrors the last 2 dims about their edges (edge not repeated).

    >>> import ember
    >>> from ember import nn
    >>> nn.ReflectionPad2d(1)(ember.arange(4.0).reshape(1, 2, 2))[0, 0].tolist()
    [3.0, 2.0, 3.0, 2.0]
    """

    _mode = "reflect"
    _sd = 2


class ReflectionPad3d(_PadNd):
    """Mirrors the last 3 dims about their edges."""

    _mode = "reflect"
    _sd = 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dim."""

    _mode = "replicate"
    _sd = 1


class ReplicationPad2d(_PadNd):
    """Repeats the edge values of the last 2 dims."""

    _mode = "replicate"
    _sd = 2


class ReplicationPad3d(_PadNd):
    """Repeats the edge values of the last 3 dims."""

    _mode = "replicate"
    _sd = 3


class CircularPad1d(_PadNd):
    """Wraps the last dim around (periodic padding)."""

    _mode = "circular"
    _sd = 1


class CircularPad2d(_PadNd):
    """Wraps the last 2 dims around (periodic padding)."""

    _mode = "circular"
    _sd = 2


class CircularPad3d(_PadNd):
    """Wraps the last 3 dims around (periodic padding)."""

    _mode = "circular"
    _sd = 3
