"""Lazy layers: ``LazyLinear``, ``LazyConv{1,2,3}d``, ``LazyConvTranspose{1,2,3}d``,
``LazyBatchNorm{1,2,3}d`` and ``LazyInstanceNorm{1,2,3}d``.

Each takes its regular layer's arguments minus the input size (``in_features``,
``in_channels``, ``num_features``), reads that from the first input, and then becomes the
regular layer (see ``lazy.py``). Initial values are drawn exactly as the regular layer draws them.
"""

from __future__ import annotations

from typing import Any

from ..._creation import tensor
from ..._dtype import int64
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import UninitializedBuffer, UninitializedParameter
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .lazy import LazyModuleMixin
from .linear import Linear
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _BatchNorm,
    _InstanceNorm,
)

__all__ = [
    "LazyLinear",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is ``input.shape[-1]`` of the first input.

    >>> import ember
    >>> layer = ember.nn.LazyLinear(3)
    >>> layer
    LazyLinear(in_features=0, out_features=3, bias=True)
    >>> layer(ember.randn(2, 5)).shape, layer
    (ember.Size([2, 3]), Linear(in_features=5, out_features=3, bias=True))
    """

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:  # type: ignore[override]
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


# ---- convolutions ---------------------------------------------------------------------------
class _LazyConvXdMixin(LazyModuleMixin):
    groups: int
    in_channels: int
    out_channels: int
    kernel_size: tuple
    _sd: int
    _transposed: bool

    def _lazy_setup(self, out_channels: int, bias: bool, dtype: Any) -> None:
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self._transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        no_batch = self._sd + 1
        if input.dim() not in (no_batch, no_batch + 1):
            raise RuntimeError(
                f"Expected {no_batch}D (unbatched) or {no_batch + 1}D (batched) input to "
                f"{type(self).__name__}, but got input of size: {input.shape}"
            )
        return input.shape[1] if input.dim() == no_batch + 1 else input.shape[0]


def _lazy_conv(regular: type, doc: str) -> type:
    """The lazy twin of the convolution class ``regular``."""

    def __init__(
        self: Any,
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
        super(cls, self).__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
            dtype=dtype,
        )  # fmt: skip
        self._lazy_setup(out_channels, bias, dtype)

    cls = type(
        "Lazy" + regular.__name__,
        (_LazyConvXdMixin, regular),
        {"cls_to_become": regular, "__init__": __init__, "__doc__": doc, "__module__": __name__},
    )
    return cls


def _lazy_conv_transpose(regular: type, doc: str) -> type:
    """The lazy twin of the transposed convolution class ``regular``."""

    def __init__(
        self: Any,
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
        super(cls, self).__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
            padding_mode, dtype=dtype,
        )  # fmt: skip
        self._lazy_setup(out_channels, bias, dtype)

    cls = type(
        "Lazy" + regular.__name__,
        (_LazyConvXdMixin, regular),
        {"cls_to_become": regular, "__init__": __init__, "__doc__": doc, "__module__": __name__},
    )
    return cls


_CONV_DOC = (
    "A :class:`{0}` whose ``in_channels`` is read from the first input (``input.size(1)``, or "
    "``size(0)`` unbatched); same arguments as {0} without ``in_channels``."
)
LazyConv1d = _lazy_conv(Conv1d, _CONV_DOC.format("Conv1d"))
LazyConv2d = _lazy_conv(Conv2d, _CONV_DOC.format("Conv2d"))
LazyConv3d = _lazy_conv(Conv3d, _CONV_DOC.format("Conv3d"))
LazyConvTranspose1d = _lazy_conv_transpose(ConvTranspose1d, _CONV_DOC.format("ConvTranspose1d"))
LazyConvTranspose2d = _lazy_conv_transpose(ConvTranspose2d, _CONV_DOC.format("ConvTranspose2d"))
LazyConvTranspose3d = _lazy_conv_transpose(ConvTranspose3d, _CONV_DOC.format("ConvTranspose3d"))


# ---- normalisation ----------------------------------------------------------------------------
class _LazyNormBase(LazyModuleMixin):
    affine: bool
    track_running_stats: bool
    num_features: int

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=int64)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor) -> None:  # type: ignore[override]
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            with no_grad():
                if self.affine:
                    self.weight.materialize((self.num_features,))
                    if self.bias is not None:
                        self.bias.materialize((self.num_features,))
                if self.track_running_stats:
                    self.running_mean.materialize((self.num_features,))
                    self.running_var.materialize((self.num_features,))
                self.reset_parameters()


def _lazy_norm(regular: type, base: type, doc: str) -> type:
    return type(
        "Lazy" + regular.__name__,
        (_LazyNormBase, base),
        {
            "cls_to_become": regular,
            "_check_input_dim": regular._check_input_dim,
            "_no_batch_dim": getattr(regular, "_no_batch_dim", None),
            "__doc__": doc,
            "__module__": __name__,
        },
    )


_NORM_DOC = (
    "A :class:`{0}` whose ``num_features`` is ``input.size(1)`` of the first input; same "
    "arguments as {0} without ``num_features``."
)
LazyBatchNorm1d = _lazy_norm(BatchNorm1d, _BatchNorm, _NORM_DOC.format("BatchNorm1d"))
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, _BatchNorm, _NORM_DOC.format("BatchNorm2d"))
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, _BatchNorm, _NORM_DOC.format("BatchNorm3d"))
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, _InstanceNorm, _NORM_DOC.format("InstanceNorm1d"))
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, _InstanceNorm, _NORM_DOC.format("InstanceNorm2d"))
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, _InstanceNorm, _NORM_DOC.format("InstanceNorm3d"))
