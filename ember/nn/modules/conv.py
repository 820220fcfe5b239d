"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, and ``Fold``/``Unfold``."""

from __future__ import annotations

import math
from typing import Any

from ..._tensor import Tensor
from .. import init
from ..functional import _conv as FC
from ..functional._resample import fold, pad, unfold
from ..functional._tuples import ntuple
from ._errors import LAYER_ERRORS, name_layer
from .linear import _weight_and_bias
from .module import Module

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Fold",
    "Unfold",
]

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _sd = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: Any = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        sd = self._sd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size = ntuple(kernel_size, sd)
        stride = ntuple(stride, sd)
        dilation = ntuple(dilation, sd)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = ntuple(padding, sd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode="
                f"'{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = self._transposed
        self.output_padding = ntuple(output_padding, sd)
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad order (last dim first), each dim's (left, right): for non-'zeros' padding modes.
        if padding == "same":
            rev: list = []
            for d, k in zip(reversed(dilation), reversed(kernel_size)):
                total = d * (k - 1)
                rev += [total // 2, total - total // 2]
        elif padding == "valid":
            rev = [0, 0] * sd
        else:
            rev = [p for p in reversed(padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = rev
        if self._transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        _weight_and_bias(self, shape, out_channels, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=sqrt(5))`` (``U(-1/sqrt(fan_in), ...)``) for
        the weight and ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        try:
            padding = self.padding
            if self.padding_mode != "zeros":
                input, padding = self._pad(input), 0
            return self._fn(input, weight, bias, self.stride, padding, self.dilation, self.groups)
        except LAYER_ERRORS as e:
            name_layer(e, self)
            raise

    def _pad(self, input: Tensor) -> Tensor:
        """The input padded by ``padding_mode`` (the conv then runs without padding)."""
        sd = self._sd
        if not isinstance(input, Tensor) or input.ndim not in (sd + 1, sd + 2):
            raise RuntimeError(
                f"Expected {sd + 1}D (unbatched) or {sd + 2}D (batched) input to conv{sd}d, but "
                f"got input of size: {list(getattr(input, 'shape', []))}"
            )
        return pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class _PlainConvNd(_ConvNd):
    """The constructor Conv1d/2d/3d share (PyTorch's signature: no ``output_padding``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, 0, device, dtype,
        )  # fmt: skip


class Conv1d(_PlainConvNd):
    """1-D convolution over ``(N, C_in, L)`` (or ``(C_in, L)``) input.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, dilation: ints or 1-tuples (``padding`` may be ``'same'``
            or ``'valid'``).
        groups: blocked connections (``in_channels`` and ``out_channels`` divisible by it).
        bias: learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    >>> import ember
    >>> from ember import nn
    >>> nn.Conv1d(4, 8, 3, padding=1)(ember.randn(2, 4, 10)).shape
    ember.Size([2, 8, 10])
    """

    _sd = 1
    _fn = staticmethod(FC.conv1d)


class Conv2d(_PlainConvNd):
    """2-D convolution over ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) input.

    Weight ``(out_channels, in_channels/groups, kH, kW)``; output
    ``H_out = (H + 2*padding - dilation*(kH-1) - 1) // stride + 1`` (likewise W).

    >>> import ember
    >>> from ember import nn
    >>> conv = nn.Conv2d(1, 6, (5, 5))
    >>> conv
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    >>> conv(ember.randn(8, 1, 28, 28)).shape
    ember.Size([8, 6, 24, 24])
    """

    _sd = 2
    _fn = staticmethod(FC.conv2d)


class Conv3d(_PlainConvNd):
    """3-D convolution over ``(N, C_in, D, H, W)`` (or unbatched) input."""

    _sd = 3
    _fn = staticmethod(FC.conv3d)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, device, dtype,
        )  # fmt: skip

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        """The output_padding that makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        sd = self._sd
        non_spatial = 2 if input.ndim == sd + 2 else 1
        output_size = list(output_size)
        if len(output_size) == non_spatial + sd:
            output_size = output_size[non_spatial:]
        if len(output_size) != sd:
            raise ValueError(
                f"ConvTranspose{sd}D: for {input.ndim}D input, output_size must have {sd} or "
                f"{non_spatial + sd} elements (got {len(output_size)})"
            )
        mins, maxs = [], []
        for d in range(sd):
            size = (
                (input.shape[d + non_spatial] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            mins.append(size)
            maxs.append(size + self.stride[d] - 1)
        for d in range(sd):
            if not mins[d] <= output_size[d] <= maxs[d]:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{mins} to {maxs} (for an input of {list(input.shape)[non_spatial:]})"
                )
        return tuple(int(output_size[d] - mins[d]) for d in range(sd))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        sd = self._sd
        try:
            if isinstance(input, Tensor) and input.ndim not in (sd + 1, sd + 2):
                raise RuntimeError(
                    f"Expected {sd + 1}D (unbatched) or {sd + 2}D (batched) input to "
                    f"conv_transpose{sd}d, but got input of size: {list(input.shape)}"
                )
            opad = self._output_padding(input, output_size)
            return self._fn(
                input, self.weight, self.bias, self.stride, self.padding, opad, self.groups,
                self.dilation,
            )  # fmt: skip
        except LAYER_ERRORS as e:
            name_layer(e, self)
            raise


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution; weight ``(in_channels, out_channels/groups, kW)``."""

    _sd = 1
    _fn = staticmethod(FC.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution"), the gradient of Conv2d w.r.t. its input.

    Weight ``(in_channels, out_channels/groups, kH, kW)``; output
    ``H_out = (H-1)*stride - 2*padding + dilation*(kH-1) + output_padding + 1``.
    ``forward(input, output_size=None)`` picks output_padding to reach ``output_size``.

    >>> import ember
    >>> from ember import nn
    >>> nn.ConvTranspose2d(16, 8, 3, stride=2)(ember.randn(1, 16, 5, 5)).shape
    ember.Size([1, 8, 11, 11])
    """

    _sd = 2
    _fn = staticmethod(FC.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution; weight ``(in_channels, out_channels/groups, kD, kH, kW)``."""

    _sd = 3
    _fn = staticmethod(FC.conv_transpose3d)


class Unfold(Module):
    """Extracts sliding local blocks (im2col): ``(N, C, H, W) -> (N, C*prod(kernel_size), L)``.

    >>> import ember
    >>> from ember import nn
    >>> nn.Unfold(kernel_size=(2, 3))(ember.randn(2, 5, 3, 4)).shape
    ember.Size([2, 30, 4])
    """

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )


class Fold(Module):
    """Sums sliding local blocks into an image (col2im): ``(N, C*prod(k), L) -> (N, C, *size)``.

    >>> import ember
    >>> from ember import nn
    >>> nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(ember.randn(1, 12, 12)).shape
    ember.Size([1, 3, 4, 5])
    """

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )
