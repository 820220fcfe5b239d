"""nn.functional: fractional max pooling (2-D and 3-D) and 3-D power-average pooling.

Fractional max pooling (Graham, 2014) uses pseudo-random window starts, drawn from
``_random_samples`` (uniform in [0, 1), one per plane and spatial dimension) exactly as
PyTorch's kernel draws them, so the same samples give the same windows, values and indices.
The window maxima are found in NumPy; the output is a ``gather`` of the input at those
positions, so the gradient flows back through an existing op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._creation_random import rand
from ..._tensor import Tensor, _wrap
from ...ops import indexing as IX
from ...ops import shape as S
from ...ops.unary import relu
from ._pooling import _ntuple, avg_pool3d

__all__ = [
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
    "lp_pool3d",
]


def lp_pool3d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """3-D power-average pooling: ``(sum over window of x**p) ** (1/p)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.lp_pool3d(ember.ones(1, 1, 2, 2, 2), 2, 2).flatten().tolist()
    [2.8284270763397217]
    """
    k = _ntuple(kernel_size, 3, "lp_pool3d", "kernel_size")
    out = avg_pool3d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(int(np.prod(k))).pow(1.0 / norm_type)


def _intervals(sample: np.ndarray, size: int, out: int, pool: int, dtype: np.dtype) -> np.ndarray:
    """Window starts ``(..., out)`` for samples ``(...)``: PyTorch's formula, computed in the
    input's precision so float32 inputs give the same integers."""
    starts = np.empty((*sample.shape, out), dtype=np.int64)
    if out > 1:
        alpha = dtype.type(size - pool) / dtype.type(out - 1)
        i = np.arange(out - 1, dtype=dtype)
        s = sample.astype(dtype)[..., None]
        starts[..., :-1] = ((i + s) * alpha).astype(np.int64) - (s * alpha).astype(np.int64)
    starts[..., -1] = size - pool
    return starts


def _window_positions(
    samples: np.ndarray, in_sizes: tuple, out_sizes: tuple, kernel: tuple, dtype: np.dtype
) -> np.ndarray:
    """Flat positions ``(N, C, *out, prod(kernel))`` of every window element in a plane."""
    d = len(in_sizes)
    flat = np.zeros((*samples.shape[:2], *out_sizes, *kernel), dtype=np.int64)
    stride = 1
    for axis in range(d - 1, -1, -1):
        # PyTorch's sample order: (width, height) in 2-D, (time, height, width) in 3-D.
        k = d - 1 - axis if d == 2 else axis
        starts = _intervals(samples[..., k], in_sizes[axis], out_sizes[axis], kernel[axis], dtype)
        # starts: (N, C, out_axis) placed on its output axis; offsets on its kernel axis.
        shape_o = [1] * d
        shape_o[axis] = out_sizes[axis]
        shape_k = [1] * d
        shape_k[axis] = kernel[axis]
        pos = starts.reshape(*samples.shape[:2], *shape_o, *([1] * d))
        pos = pos + np.arange(kernel[axis]).reshape(*shape_k)
        flat += pos * stride
        stride *= in_sizes[axis]
    return flat.reshape(*samples.shape[:2], *out_sizes, -1)


def _fractional(
    d: int,
    input: Tensor,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    return_indices: bool,
    _random_samples: Tensor | None,
) -> Any:
    name = f"fractional_max_pool{d}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if input.dim() not in (d + 1, d + 2):
        raise RuntimeError(
            f"{name}(): Expected {d + 1}D or {d + 2}D tensor, but got: {list(input.shape)}"
        )
    kernel = _ntuple(kernel_size, d, name, "kernel_size")
    in_sizes = tuple(input.shape[-d:])
    if output_size is None:
        if d == 2 and len(output_ratio) > 2:
            raise ValueError(
                f"{name} requires output_ratio to either be a single Int or tuple of Ints."
            )
        ratio = tuple(output_ratio) if isinstance(output_ratio, (list, tuple)) else (output_ratio,)
        ratio = ratio * d if len(ratio) == 1 else ratio
        output_size = [int(s * r) for s, r in zip(in_sizes, ratio)]
    out_sizes = _ntuple(output_size, d, name, "output_size")
    dims = ("time", "height", "width")[-d:]
    for dim, k, s, o in zip(dims, kernel, in_sizes, out_sizes):
        if o + k - 1 > s:
            raise RuntimeError(f"{name}(): pool {dim} {k} too large relative to input {dim} {s}")
    batched = input.dim() == d + 2
    x = input if batched else S.unsqueeze(input, 0)
    n, c = x.shape[0], x.shape[1]
    if _random_samples is None:
        _random_samples = rand(n, c, d, dtype=input.dtype)
    samples = np.asarray(_random_samples._data)
    if samples.shape != (n, c, d):
        raise RuntimeError(
            f"{name}(): expected _random_samples of shape {[n, c, d]}, got {list(samples.shape)}"
        )
    pos = _window_positions(samples, in_sizes, out_sizes, kernel, x._data.dtype)
    plane = np.asarray(x._data).reshape(n, c, -1)
    vals = np.take_along_axis(plane, pos.reshape(n, c, -1), 2).reshape(pos.shape)
    # The first maximum of each window wins; a NaN wins over any number (PyTorch's rule).
    best = np.where(np.isnan(vals), np.inf, vals).argmax(-1)
    idx = np.take_along_axis(pos, best[..., None], -1)[..., 0]
    flat_x = S.reshape(x, (n, c, -1))
    out = S.reshape(IX.gather(flat_x, 2, _wrap(idx.reshape(n, c, -1))), (n, c, *out_sizes))
    indices = _wrap(idx.astype(np.int64))
    if not batched:
        out, indices = S.squeeze(out, 0), S.squeeze(indices, 0)
    return (out, indices) if return_indices else out


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """2-D fractional max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, to ``output_size`` or
    ``output_ratio`` of the input size; ``_random_samples`` ``(N, C, 2)`` (width, height) in
    [0, 1) fix the windows (drawn with ``ember.rand`` when None).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=ember.zeros(1, 1, 2))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _fractional(
        2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """3-D fractional max pooling of ``(N, C, T, H, W)`` or ``(C, T, H, W)``;
    ``_random_samples`` is ``(N, C, 3)`` (time, height, width)."""
    return _fractional(
        3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`fractional_max_pool2d` returning ``(output, indices)``."""
    return _fractional(2, input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`fractional_max_pool3d` returning ``(output, indices)``."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, True, _random_samples)
