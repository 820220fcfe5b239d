"""Pooling: max/avg (1-3d), adaptive avg/max (1-3d), lp-pooling and max-unpooling.

PyTorch's signatures and errors; the window sweeps are fused primitives in ``ember.ops.pool``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._dtype_names import type_name
from ..._tensor import Tensor
from ...ops.pool import (
    AdaptiveAvgPoolNd,
    AdaptiveMaxPoolNd,
    AvgPoolNd,
    MaxPoolNd,
    MaxUnpoolNd,
    avg_divisor,
)
from ._tuples import ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _ntuple(value: Any, n: int, name: str, what: str) -> tuple:
    return ntuple(
        value,
        n,
        int,
        lambda: f"{name}: {what} must either be a single int, or a tuple of {_count(n)} ints",
    )


def _count(n: int) -> str:
    return {1: "one", 2: "two", 3: "three"}[n]


def _check_input(name: str, input: Any, sd: int) -> bool:
    """Validate the rank; True when batched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (sd + 1, sd + 2) or any(s == 0 for s in input.shape[-sd:]):
        raise RuntimeError(
            f"{name}: non-empty {sd + 1}D or {sd + 2}D (batch mode) tensor expected for input, "
            f"but got input of size {list(input.shape)}"
        )
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{type_name(input.dtype)}'")
    return input.ndim == sd + 2


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """PyTorch's pooling output size: the last window must start inside the (left-padded) input."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (num + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(name, input, sd, kernel_size, stride, padding, dilation, ceil_mode, eff_div=True):
    k = _ntuple(kernel_size, sd, name, "kernel_size")
    st = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else None
    st = st or _ntuple(stride, sd, name, "stride")
    p = _ntuple(padding, sd, name, "padding")
    d = _ntuple(dilation, sd, name, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got {list(k)}")
    if any(v <= 0 for v in st):
        raise RuntimeError(f"{name}: stride must be greater than zero, but got {list(st)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got {list(d)}")
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp * 2 > dd * (kk - 1) + 1:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pp}, "
                f"kernel_size={kk} and dilation={dd}"
            )
    size = tuple(input.shape[-sd:])
    out = tuple(_pool_out(*a, ceil_mode) for a in zip(size, k, st, p, d))
    if any(o <= 0 for o in out):
        c = input.shape[-sd - 1]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (c, *size)))}). Calculated output size: "
            f"({'x'.join(map(str, (c, *out)))}). Output size is too small"
        )
    # Right padding also covers ceil_mode's last, partial window.
    pads = tuple(
        (pp, max(pp, (o - 1) * ss + dd * (kk - 1) + 1 - s - pp))
        for pp, o, ss, dd, kk, s in zip(p, out, st, d, k, size)
    )
    return k, st, p, d, out, pads


def _max_pool(name, sd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    batched = _check_input(name, input, sd)
    k, st, _, d, out, pads = _geometry(
        name, input, sd, kernel_size, stride, padding, dilation, ceil_mode
    )
    x = input if batched else input.unsqueeze(0)
    res = MaxPoolNd.apply(x, k, st, pads, d, out, bool(return_indices))
    if not return_indices:
        return res if batched else res.squeeze(0)
    if batched:
        return res
    return res[0].squeeze(0), res[1].squeeze(0)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)``; ``stride`` defaults to ``kernel_size``."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    With ``return_indices=True`` also returns the int64 flat index (within each ``H*W`` plane)
    of every maximum, as ``F.max_unpool2d`` takes it.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.max_pool2d(ember.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> Any:
    """``max_pool1d`` returning ``(values, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> Any:
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> Any:
    """``max_pool3d`` returning ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(
    name, sd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    batched = _check_input(name, input, sd)
    k, st, p, _, out, pads = _geometry(name, input, sd, kernel_size, stride, padding, 1, ceil_mode)
    dtype = input._data.dtype
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise RuntimeError("divisor must be not zero")
        div = np.asarray(divisor_override, dtype)
    else:
        div = np.ones((), dtype)
        for i in range(sd):
            dv = avg_divisor(
                input.shape[-sd + i], k[i], st[i], p[i], out[i], count_include_pad, dtype
            )
            div = np.multiply.outer(div, dv) if div.ndim else dv
        if div.size and (div == div.flat[0]).all():
            div = np.asarray(div.flat[0])  # one divisor everywhere: lets the tiled path run
    x = input if batched else input.unsqueeze(0)
    res = AvgPoolNd.apply(x, k, st, pads, out, div)
    return res if batched else res.squeeze(0)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling over ``(N, C, L)`` or ``(C, L)``."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    ``count_include_pad`` counts zero padding in the divisor; ``divisor_override`` replaces it.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.avg_pool2d(ember.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _avg_pool(
        "avg_pool3d",
        3,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _adaptive_size(name: str, input: Tensor, output_size: Any, sd: int) -> tuple:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (sd + 1, sd + 2):
        raise RuntimeError(
            f"{name}(): Expected {sd + 1}D or {sd + 2}D tensor, but got {list(input.shape)}"
        )
    if any(s == 0 for s in input.shape[-sd:]):
        raise RuntimeError(
            f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
            f"has sizes {list(input.shape)} with dimension {input.ndim - 1} being empty"
        )
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != sd:
            raise RuntimeError(f"{name}: output_size must be {sd}")
        size = tuple(
            input.shape[-sd + i] if o is None else int(o) for i, o in enumerate(output_size)
        )
    else:
        size = (int(output_size),) * sd
    if any(o < 0 for o in size):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0")
    return size


def _adaptive_avg(name: str, sd: int, input: Tensor, output_size: Any) -> Tensor:
    out = _adaptive_size(name, input, output_size, sd)
    batched = input.ndim == sd + 2
    x = input if batched else input.unsqueeze(0)
    res = AdaptiveAvgPoolNd.apply(x, out)
    return res if batched else res.squeeze(0)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-D adaptive average pooling to ``output_size`` positions."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """2-D adaptive average pooling to ``output_size`` (an int, or a pair that may hold None).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.adaptive_avg_pool2d(ember.ones(2, 3, 7, 5), 1).shape
    ember.Size([2, 3, 1, 1])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """3-D adaptive average pooling."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(name: str, sd: int, input: Tensor, output_size: Any, return_indices: bool):
    out = _adaptive_size(name, input, output_size, sd)
    batched = input.ndim == sd + 2
    x = input if batched else input.unsqueeze(0)
    res, ind = AdaptiveMaxPoolNd.apply(x, out)
    if not batched:
        res, ind = res.squeeze(0), ind.squeeze(0)
    return (res, ind) if return_indices else res


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """1-D adaptive max pooling (optionally with the int64 indices of the maxima)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """2-D adaptive max pooling (optionally with the int64 flat indices of the maxima)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """3-D adaptive max pooling."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = True
) -> Any:
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = True
) -> Any:
    return adaptive_max_pool2d(input, output_size, True)


def _lp_pool(
    sd: int, input: Tensor, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool
) -> Tensor:
    from ...ops.unary import relu

    k = _ntuple(kernel_size, sd, f"lp_pool{sd}d", "kernel_size")
    pool = avg_pool1d if sd == 1 else avg_pool2d
    out = pool(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(int(np.prod(k))).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling: ``(sum over window of x**p) ** (1/p)``."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """2-D power-average pooling: ``(sum over window of x**p) ** (1/p)``."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def _max_unpool(name, sd, input, indices, kernel_size, stride, padding, output_size):
    k = _ntuple(kernel_size, sd, name, "kernel_size")
    st = k if stride is None else _ntuple(stride, sd, name, "stride")
    p = _ntuple(padding, sd, name, "padding")
    if input.shape != indices.shape:
        raise RuntimeError(
            f"Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    default = tuple(
        (s - 1) * ss - 2 * pp + kk for s, ss, pp, kk in zip(input.shape[-sd:], st, p, k)
    )
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in output_size)[-sd:]
        for s, dflt, ss in zip(size, default, st):
            if not dflt - ss < s < dflt + ss:
                raise ValueError(
                    f"invalid output_size {list(output_size)} (dim must be between "
                    f"{[d - s2 for d, s2 in zip(default, st)]} and "
                    f"{[d + s2 for d, s2 in zip(default, st)]})"
                )
    batched = input.ndim == sd + 2
    x = input if batched else input.unsqueeze(0)
    ind = indices if batched else indices.unsqueeze(0)
    plane = int(np.prod(size))
    if ind.numel() and (int(ind._data.min()) < 0 or int(ind._data.max()) >= plane):
        raise RuntimeError(
            f"Found an invalid max index: {int(ind._data.max())} (output volumes are of size "
            f"{'x'.join(map(str, size))})"
        )
    res = MaxUnpoolNd.apply(x, ind, size)
    return res if batched else res.squeeze(0)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of ``max_pool1d``: puts each value back at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of ``max_pool2d``: puts each value back at its index, zeros elsewhere."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of ``max_pool3d``."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
