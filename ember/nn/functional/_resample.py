"""nn.functional, resampling family (PyTorch's "vision functions"): ``pad``,
``interpolate``/``upsample*``, ``unfold``/``fold``, pixel shuffle."""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..._tensor import Tensor
from ...ops.conv import Fold, Unfold
from ...ops.resample import (
    IndexPad,
    Interpolate,
    cubic_matrix,
    linear_matrix,
    nearest_index,
    nearest_matrix,
    pad_index,
)
from ...ops.shape import constant_pad
from ._tuples import ntuple

__all__ = [
    "pad",
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "unfold",
    "fold",
    "pixel_shuffle",
    "pixel_unshuffle",
]

_NONCONST_HELP = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the trailing dims: ``pad = (left, right, top, bottom, front, back)`` from the last dim.

    ``mode`` is ``'constant'`` (fill with ``value``, default 0; negative widths crop),
    ``'reflect'`` (mirror without repeating the edge), ``'replicate'`` (repeat the edge) or
    ``'circular'`` (wrap around).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.pad(ember.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode='reflect').tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be Tensor, not {type(input).__name__}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if mode == "constant":
        return constant_pad(input, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    nd = len(pad) // 2
    if nd not in (1, 2, 3) or input.ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            + _NONCONST_HELP
        )
    _check_output_sizes(input, pad, mode)
    idx, lows = [], []
    for d in range(input.ndim - nd, input.ndim):
        i = input.ndim - 1 - d
        lo, hi = pad[2 * i], pad[2 * i + 1]
        size = input.shape[d]
        idx.append(pad_index(size, lo, hi, mode))
        lows.append(lo)
    return IndexPad.apply(input, tuple(idx), tuple(lows))


def _check_output_sizes(input: Tensor, pad: tuple, mode: str) -> None:
    """PyTorch's checks of the padded sizes: circular padding may wrap at most once and not
    crop below nothing; reflect and replicate need non-empty dims (but the batch one) and, as
    PyTorch words it, at least one output dim of at least one element."""
    nd = len(pad) // 2
    sizes = [input.shape[input.ndim - 1 - i] for i in range(nd)]  # W, H, D
    outs = [sizes[i] + pad[2 * i] + pad[2 * i + 1] for i in range(nd)]
    if mode == "circular":
        for i in range(nd):
            if pad[2 * i] > sizes[i] or pad[2 * i + 1] > sizes[i]:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if outs[i] < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            kept = sizes[i] + min(pad[2 * i], 0) + min(pad[2 * i + 1], 0)
            if kept <= 0 < outs[i]:  # nothing left to wrap (PyTorch reads uninitialised memory)
                raise RuntimeError("Padding value causes wrapping around more than once.")
        return
    first = 1 if input.ndim == nd + 2 else 0
    if 0 in input.shape[first:]:
        raise RuntimeError(
            f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {list(input.shape)}"
        )
    if mode == "reflect":
        for i in range(nd):
            if pad[2 * i] >= sizes[i] or pad[2 * i + 1] >= sizes[i]:
                d = input.ndim - 1 - i
                raise RuntimeError(
                    f"Argument #4: Padding size should be less than the corresponding input "
                    f"dimension, but got: padding ({pad[2 * i]}, {pad[2 * i + 1]}) at dimension "
                    f"{d} of input {list(input.shape)}"
                )
    if max(outs) < 1:
        names = "WHD"[:nd][::-1]
        ins = " ".join(f"{n}: {v}," for n, v in zip(names, sizes[::-1]))[:-1]
        got = " ".join(f"{n}: {v}" for n, v in zip(names, outs[::-1]))
        raise RuntimeError(f"input ({ins}) is too small. Calculated output {got}")
    for o in outs:
        if o < 0:
            shape = list(input.shape[: input.ndim - nd]) + outs[::-1]
            raise RuntimeError(f"Trying to create tensor with negative dimension {o}: {shape}")


_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``(N, C, *S)`` input to ``size`` or by ``scale_factor``.

    Modes: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'`` and
    ``'bicubic'`` (4-D), ``'trilinear'`` (5-D), ``'area'`` (adaptive average pooling).
    ``align_corners`` (linear modes only) maps corner pixel centres onto each other.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.interpolate(ember.tensor([[[1.0, 2.0]]]), scale_factor=2, mode='linear').tolist()
    [[[1.0, 1.25, 1.75, 2.0]]]
    """
    align_corners = _check_interpolate(input, mode, align_corners, antialias)
    in_size = tuple(input.shape[2:])
    out, scales = _output_size(in_size, size, scale_factor, recompute_scale_factor)
    return _resample(input, mode, in_size, out, scales, align_corners)


def _check_interpolate(input: Any, mode: str, align_corners: bool | None, antialias: bool) -> bool:
    """Refuse what ``interpolate`` cannot do, as PyTorch does; ``align_corners``'s default."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"interpolate(): argument 'input' must be Tensor, not {type(input).__name__}"
        )
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})"
        )
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("ember's interpolate does not implement antialias=True")
    sd = input.ndim - 2
    if sd not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})"
        )
    need = _MODE_DIMS.get(mode)
    if need is not None and need != sd:
        raise NotImplementedError(
            f"Got {input.ndim}D input, but {mode} mode needs {need + 2}D input"
        )
    return align_corners


def _output_size(in_size: tuple, size: Any, scale_factor: Any, recompute: bool | None) -> tuple:
    """The output spatial size, and the scale factors the kernels use (None: from the sizes)."""
    sd = len(in_size)
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "only one of size or scale_factor should be defined"
            if size is not None
            else "either size or scale_factor should be defined"
        )
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != sd:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(in_size)} and output size of "
                    f"{tuple(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    "and output size in (o1, o2, ...,oK) format."
                )
            out = tuple(int(s) for s in size)
        else:
            out = (int(size),) * sd
        scales = (None,) * sd
    else:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != sd:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(in_size)} and scale_factor of "
                    f"shape {tuple(scale_factor)}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format."
                )
            sf = tuple(float(s) for s in scale_factor)
        else:
            sf = (float(scale_factor),) * sd
        out = tuple(int(math.floor(s * f)) for s, f in zip(in_size, sf))
        scales = (None,) * sd if recompute else sf
    if any(o <= 0 for o in out) or any(s <= 0 for s in in_size):
        names = "DHW"[3 - sd :]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, in_size))
            + ") output ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, out))
            + ")"
        )
    return out, scales


def _resample(
    input: Tensor, mode: str, in_size: tuple, out: tuple, scales: tuple, align_corners: bool
) -> Tensor:
    """Resize ``input``'s spatial dims from ``in_size`` to ``out`` with the checked arguments."""
    sd = len(in_size)
    if mode == "area":
        from ._pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[sd - 1](input, out)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"upsample_{mode}\" not implemented for '{input.dtype.name}'")
    dt = input._data.dtype.type
    if mode in ("nearest", "nearest-exact"):
        gathers = tuple(
            nearest_index(s, o, f, mode == "nearest-exact") for s, o, f in zip(in_size, out, scales)
        )
        mats = tuple(nearest_matrix(s, o, g, dt) for s, o, g in zip(in_size, out, gathers))
        return Interpolate.apply(input, gathers, mats)
    build = cubic_matrix if mode == "bicubic" else linear_matrix
    mats = tuple(build(s, o, align_corners, f, dt) for s, o, f in zip(in_size, out, scales))
    return Interpolate.apply(input, None, mats)


def _deprecated(name: str) -> None:
    warnings.warn(
        f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
        UserWarning,
        stacklevel=3,
    )


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _pair(v: Any, name: str) -> tuple:
    return ntuple(
        v,
        2,
        int,
        lambda: f"{name} must be an int or a tuple of two ints, got {v}",
        expand_one=False,
    )


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Extract sliding local blocks (im2col): ``(N, C, H, W) -> (N, C*kH*kW, L)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.unfold(ember.ones(1, 2, 4, 4), 3).shape
    ember.Size([1, 18, 4])
    """
    if input.ndim not in (3, 4):
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(input.shape)}"
        )
    k, d, p, s = (
        _pair(v, n)
        for v, n in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    size = tuple(input.shape[-2:])
    out = tuple(
        (sz + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for sz, kk, dd, pp, ss in zip(size, k, d, p, s)
    )
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"Given input with spatial size {size}, kernel_size={k}, dilation={d}, padding={p}, "
            f"calculated shape of the array of sliding blocks as {out}, but its components must "
            "be at least one."
        )
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    res = Unfold.apply(x, k, s, p, d, out)
    return res if batched else res.squeeze(0)


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """Sum sliding local blocks back into an image (col2im): ``(N, C*kH*kW, L) -> (N, C, H, W)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.fold(ember.ones(1, 4, 9), (4, 4), 2)[0, 0].tolist()[1]
    [2.0, 4.0, 4.0, 2.0]
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and non-zero "
            f"dimensions for input, but got: {list(input.shape)}"
        )
    size, k, d, p, s = (
        _pair(v, n)
        for v, n in (
            (output_size, "output_size"),
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    cdim = input.shape[-2]
    kk = k[0] * k[1]
    if cdim % kk:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={cdim} and kernel_size={k}."
        )
    out = tuple(
        (sz + 2 * pp - dd * (kz - 1) - 1) // ss + 1 for sz, kz, dd, pp, ss in zip(size, k, d, p, s)
    )
    if out[0] * out[1] != input.shape[-1] or any(o < 1 for o in out):
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
            f"expected size of input's dimension 2 to match the calculated number of sliding "
            f"blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got "
            f"input.size(2)={input.shape[-1]}."
        )
    batched = input.ndim == 3
    x = input if batched else input.unsqueeze(0)
    res = Fold.apply(x, cdim // kk, size, k, s, p, d, out)
    return res if batched else res.squeeze(0)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange ``(*, C*r*r, H, W)`` into ``(*, C, H*r, W*r)``."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    perm = (*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.permute(*perm).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange ``(*, C, H*r, W*r)`` into ``(*, C*r*r, H, W)`` (inverse of pixel_shuffle)."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(
            "pixel_unshuffle expects height and width to be divisible by downscale_factor, but "
            f"input.size(-2)={h} and input.size(-1)={w} are not divisible by {r}"
        )
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    perm = (*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.permute(*perm).reshape(*lead, c * r * r, h // r, w // r)
