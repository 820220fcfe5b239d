"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` with PyTorch's signatures.

Argument checking and PyTorch's errors live here; the maths is in ``ember.ops.conv``.
"""

from __future__ import annotations

from typing import Any

from ..._dtype_names import type_name
from ..._tensor import Tensor
from ...ops.conv import ConvNd, ConvTransposeNd
from ._tuples import ntuple

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]


def _tuple(value: Any, n: int, name: str) -> tuple:
    """An int or a length-``n`` sequence as an ``n``-tuple of ints (PyTorch's error otherwise)."""
    return ntuple(
        value,
        n,
        int,
        lambda: (
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the convolution dimensions, but got {name}={list(value)}"
        ),
    )


def _shape(t: Any) -> str:
    return str(list(t.shape))


def _check_conv(
    name: str,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    sd: int,
    stride: Any,
    dilation: Any,
    groups: int,
    transposed: bool,
) -> tuple:
    """PyTorch's checks of a convolution's arguments, in PyTorch's order; returns the stride and
    dilation tuples, ``groups`` as an int and whether the input is batched."""
    _check_ranks(name, input, weight, sd)
    stride_t = _tuple(stride, sd, "stride")
    dil_t = _tuple(dilation, sd, "dilation")
    if any(s <= 0 for s in stride_t):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dil_t):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dil_t)}")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_dtypes(name, input, weight, bias)
    batched = input.ndim == sd + 2
    _check_channels(input, weight, bias, groups, transposed, batched)
    return stride_t, dil_t, groups, batched


def _check_ranks(name: str, input: Any, weight: Any, sd: int) -> None:
    """Both are Tensors, the input ``sd + 1``-D (unbatched) or ``sd + 2``-D, the weight
    ``sd + 2``-D."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    if input.ndim not in (sd + 1, sd + 2):
        raise RuntimeError(
            f"Expected {sd + 1}D (unbatched) or {sd + 2}D (batched) input to {name}, but got "
            f"input of size: {_shape(input)}"
        )
    if weight.ndim != sd + 2:
        raise RuntimeError(
            "weight should have at least three dimensions"
            if weight.ndim < 3
            else f"Expected {sd + 2}-dimensional weight for {sd + 2}-dimensional input "
            f"{_shape(weight)}, but got {weight.ndim}-dimensional weight of size "
            f"{_shape(weight)} instead"
        )


def _check_dtypes(name: str, input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """One floating dtype for input, weight and bias."""
    x, w = input._data, weight._data
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != x.dtype):
        other = w.dtype if x.dtype != w.dtype else bias._data.dtype
        raise RuntimeError(
            f"expected scalar type {type_name(x.dtype)} but found {type_name(other)}"
        )
    if x.dtype.kind not in "fV":  # V: bfloat16 (ml_dtypes)
        raise RuntimeError(f"\"{name}\" not implemented for '{type_name(x.dtype)}'")


def _check_channels(
    input: Tensor, weight: Tensor, bias: Tensor | None, groups: int, transposed: bool, batched: bool
) -> None:
    """The input's channels match the weight's (per group), and the bias its output channels."""
    x, w = input._data, weight._data
    shape = tuple(x.shape) if batched else (1, *x.shape)
    c = shape[1]
    wshape = list(w.shape)
    if transposed:
        expected_c = w.shape[0]
        out_c = w.shape[1] * groups
        if expected_c % groups:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
                f"0, but got weight of size {wshape} instead"
            )
    else:
        expected_c = w.shape[1] * groups
        out_c = w.shape[0]
        if out_c % groups:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
                f"0, but got weight of size [{wshape}] instead"
            )
    if c != expected_c:
        tr = "transposed=1, " if transposed else f"groups={groups}, "
        raise RuntimeError(
            f"Given {tr}weight of size {wshape}, expected input{_shape(input)} to have "
            f"{expected_c} channels, but got {c} channels instead"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_c):
        raise RuntimeError(
            f"Given weight of size {wshape}, expected bias to be 1-dimensional with {out_c} "
            f"elements, but got bias of size {_shape(bias)} instead"
        )


def _conv(
    name: str,
    sd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    stride_t, dil_t, groups, batched = _check_conv(
        name, input, weight, bias, sd, stride, dilation, groups, False
    )
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * sd
        elif padding == "same":
            if any(s != 1 for s in stride_t):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # PyTorch puts the odd extra element of an even total on the right.
            pads = tuple(
                (d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for d, kk in zip(dil_t, k)
            )
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad_t = _tuple(padding, sd, "padding")
        if any(p < 0 for p in pad_t):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((p, p) for p in pad_t)
    spatial = input.shape[-sd:]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads))
    eff = tuple(d * (kk - 1) + 1 for d, kk in zip(dil_t, k))
    if any(p < e for p, e in zip(padded, eff)):
        msg = (
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than "
            "actual input size"
        )
        raise RuntimeError(msg)
    x = input if batched else input.unsqueeze(0)
    out = ConvNd.apply(x, weight, bias, stride_t, pads, dil_t, groups)
    return out if batched else out.squeeze(0)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``) input.

    ``weight`` is ``(C_out, C_in/groups, kW)``; ``padding`` may be an int, a tuple, ``'valid'``
    or ``'same'``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv1d(ember.ones(1, 1, 5), ember.ones(1, 1, 3)).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``) input.

    ``weight`` is ``(C_out, C_in/groups, kH, kW)``; ``stride``, ``padding`` and ``dilation`` are
    ints or pairs; ``padding`` may also be ``'valid'`` or ``'same'``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv2d(ember.ones(1, 1, 4, 4), ember.ones(2, 1, 3, 3), padding=1).shape
    ember.Size([1, 2, 4, 4])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation over ``(N, C_in, D, H, W)`` (or unbatched) input."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    name: str,
    sd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    stride_t, dil_t, groups, batched = _check_conv(
        name, input, weight, bias, sd, stride, dilation, groups, True
    )
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding='{padding}' is not supported for transposed convs")
    pad_t = _tuple(padding, sd, "padding")
    opad_t = _tuple(output_padding, sd, "output_padding")
    if any(p < 0 for p in pad_t):
        raise RuntimeError("negative padding is not supported")
    if any(op < 0 for op in opad_t):
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(opad_t, stride_t, dil_t)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding={list(opad_t)} stride={list(stride_t)} dilation={list(dil_t)}"
        )
    k = tuple(weight.shape[2:])
    out = tuple(
        (s - 1) * st - 2 * p + d * (kk - 1) + op + 1
        for s, st, p, d, kk, op in zip(input.shape[-sd:], stride_t, pad_t, dil_t, k, opad_t)
    )
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, input.shape[-sd:]))}). "
            f"Calculated output size per channel: ({' x '.join(map(str, out))}). "
            "Output size is too small"
        )
    x = input if batched else input.unsqueeze(0)
    y = ConvTransposeNd.apply(x, weight, bias, stride_t, pad_t, opad_t, dil_t, groups)
    return y if batched else y.squeeze(0)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution ("deconvolution"); ``weight`` is ``(C_in, C_out/groups, kW)``."""
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution; ``weight`` is ``(C_in, C_out/groups, kH, kW)``.

    The output size is ``(H-1)*stride - 2*padding + dilation*(kH-1) + output_padding + 1``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.conv_transpose2d(ember.ones(1, 2, 3, 3), ember.ones(2, 4, 2, 2), stride=2).shape
    ember.Size([1, 4, 6, 6])
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """3-D transposed convolution; ``weight`` is ``(C_in, C_out/groups, kD, kH, kW)``."""
    return _conv_transpose(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
