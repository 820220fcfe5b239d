"""nn.functional: ``affine_grid`` and ``grid_sample`` (spatial transformer networks).

``grid_sample`` is a composite of differentiable ops, following PyTorch's kernel step by step:
the grid's normalised coordinates are mapped to pixel positions, folded back by the padding
mode (clip for ``'border'``, reflect then clip for ``'reflection'``), and the input is gathered
at the neighbouring integer positions (``gather``) and weighted. The integer positions and the
in-bounds masks are constants; the weights are functions of the grid, so gradients reach both
the input (through ``gather``) and the grid (through the weights).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from ..._tensor import Tensor, _wrap
from ...ops import indexing as IX
from ...ops import shape as S
from ...ops.elementwise import where
from ...ops.unary import clamp

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def _align(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        return False
    return bool(align_corners)


# ---- affine_grid ------------------------------------------------------------------------------
def _linspace(steps: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    if steps <= 1:
        return np.zeros(1, dtype)
    line = np.linspace(-1.0, 1.0, steps)
    if not align_corners:
        line = line * (steps - 1) / steps
    return line.astype(dtype)


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid ``(N, H, W, 2)`` (``(N, D, H, W, 3)``) of the affine maps ``theta``
    ``(N, 2, 3)`` (``(N, 3, 4)``) for an output of ``size`` ``(N, C, H, W)`` (``(N, C, D, H,
    W)``), in the normalised ``[-1, 1]`` coordinates ``grid_sample`` reads.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> theta = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> F.affine_grid(theta, (1, 1, 2, 2), align_corners=True).tolist()
    [[[[-1.0, -1.0], [1.0, -1.0]], [[-1.0, 1.0], [1.0, 1.0]]]]
    """
    align_corners = _align(align_corners)
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(
                f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                f"{_size(size)}. Got {_size(theta.shape)}."
            )
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(
                f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                f"{_size(size)}. Got {_size(theta.shape)}."
            )
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {_size(size)}."
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {_size(size)}")
    dt = theta._data.dtype
    # Coordinates (x, y[, z], 1): x runs along the last spatial dimension.
    axes = [_linspace(s, align_corners, dt) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([*mesh[::-1], np.ones(spatial, dt)], -1).reshape(-1, len(spatial) + 1)
    grid = _wrap(base) @ S.transpose(theta, 1, 2)
    return S.reshape(grid, (size[0], *spatial, len(spatial)))


def _size(shape: Any) -> str:
    return f"torch.Size({list(shape)})"


# ---- grid_sample ------------------------------------------------------------------------------
def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Fold ``coord`` into ``[twice_low / 2, twice_high / 2]`` by reflection (PyTorch's
    ``reflect_coordinates``); the number of flips is a constant of the data."""
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    flips = np.floor(np.asarray(dist._data) / span)
    extra = dist - _wrap(flips * span)
    even = _wrap(flips % 2 == 0)
    return where(even, extra + low, span - extra + low)


def _compute_coordinates(
    coord: Tensor, size: int, padding_mode: str, align_corners: bool
) -> Tensor:
    """PyTorch's ``compute_coordinates``: clip (border) or reflect and clip (reflection)."""
    if padding_mode == "border":
        return clamp(coord, 0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return clamp(coord, 0, size - 1)
    return coord


def _compute_coordinates_int(
    pos: np.ndarray, size: int, padding_mode: str, align_corners: bool
) -> np.ndarray:
    """``_compute_coordinates`` on constant integer taps (bicubic's ``get_value_bounded``)."""
    pos = pos.astype(np.float64)
    if padding_mode == "reflection":
        lo, hi = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo == hi:
            pos = np.zeros_like(pos)
        else:
            low, span = lo / 2, (hi - lo) / 2
            dist = np.abs(pos - low)
            flips = np.floor(dist / span)
            extra = dist - flips * span
            pos = np.where(flips % 2 == 0, extra + low, span - extra + low)
    if padding_mode in ("border", "reflection"):
        pos = np.clip(pos, 0, size - 1)
    return pos.astype(np.int64)


class _Sampler:
    """Gathers of a flattened input ``(N, C, prod(sizes))`` at integer taps."""

    def __init__(self, input: Tensor, sizes: tuple) -> None:
        self.n, self.c = input.shape[0], input.shape[1]
        self.sizes = sizes  # spatial sizes in (x, y[, z]) order: W, H[, D]
        self.flat = S.reshape(input, (self.n, self.c, -1))

    def tap(self, positions: list[np.ndarray]) -> tuple[Tensor, np.ndarray]:
        """Values at integer ``positions`` (one array per coordinate, shape ``(N, P)``) and the
        in-bounds mask; out-of-bounds taps read position 0 and are masked out by the caller."""
        inside = np.ones(positions[0].shape, dtype=bool)
        index = np.zeros(positions[0].shape, dtype=np.int64)
        stride = 1
        for pos, size in zip(positions, self.sizes):
            inside &= (pos >= 0) & (pos < size)
            index += np.clip(pos, 0, size - 1) * stride
            stride *= size
        index = np.where(inside, index, 0)
        idx = np.broadcast_to(index[:, None, :], (self.n, self.c, index.shape[1]))
        return IX.gather(self.flat, 2, _wrap(np.ascontiguousarray(idx))), inside


def _masked(weight: Tensor, inside: np.ndarray) -> Tensor:
    return weight * _wrap(inside.astype(np.asarray(weight._data).dtype))


def _linear(sampler: _Sampler, coords: list[Tensor]) -> Tensor:
    """Bilinear (trilinear) interpolation at the folded coordinates ``coords``."""
    lows = [np.floor(np.asarray(c._data)).astype(np.int64) for c in coords]
    fracs = [c - _wrap(lo.astype(np.asarray(c._data).dtype)) for c, lo in zip(coords, lows)]
    out = None
    for corner in itertools.product((0, 1), repeat=len(coords)):
        weight = None
        for bit, frac in zip(corner, fracs):
            w = frac if bit else 1 - frac
            weight = w if weight is None else weight * w
        vals, inside = sampler.tap([lo + bit for lo, bit in zip(lows, corner)])
        term = vals * S.unsqueeze(_masked(weight, inside), 1)
        out = term if out is None else out + term
    return out


def _nearest(sampler: _Sampler, coords: list[Tensor]) -> Tensor:
    # np.rint rounds half to even, as PyTorch's nearbyint.
    pos = [np.rint(np.asarray(c._data)).astype(np.int64) for c in coords]
    vals, inside = sampler.tap(pos)
    # The weight is 1 but built from the grid (times 0), so the grid gets a zero gradient as
    # in PyTorch rather than none; non-finite coordinates are replaced first (inf * 0).
    c = coords[0]
    finite = _wrap(np.isfinite(np.asarray(c._data)))
    weight = where(finite, c, 0.0) * 0.0 + 1.0
    return vals * S.unsqueeze(_masked(weight, inside), 1)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """The four cubic-convolution weights (A = -0.75) of taps at -1, 0, 1, 2 for offset ``t``."""
    a = -0.75

    def near(x: Tensor) -> Tensor:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(
    sampler: _Sampler, coords: list[Tensor], padding_mode: str, align_corners: bool
) -> Tensor:
    lows = [np.floor(np.asarray(c._data)).astype(np.int64) for c in coords]
    weights = [
        _cubic_weights(c - _wrap(lo.astype(np.asarray(c._data).dtype)))
        for c, lo in zip(coords, lows)
    ]
    out = None
    for i, j in itertools.product(range(4), repeat=2):
        px = _compute_coordinates_int(
            lows[0] - 1 + i, sampler.sizes[0], padding_mode, align_corners
        )
        py = _compute_coordinates_int(
            lows[1] - 1 + j, sampler.sizes[1], padding_mode, align_corners
        )
        vals, inside = sampler.tap([px, py])
        term = vals * S.unsqueeze(_masked(weights[0][i] * weights[1][j], inside), 1)
        out = term if out is None else out + term
    return out


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if input.dtype != grid.dtype:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to have same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, "
            f"but got grid with sizes {list(grid.shape)}"
        )
    if mode == "bicubic" and input.dim() != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` ``(N, C, H, W)`` (``(N, C, D, H, W)``) at the normalised positions of
    ``grid`` ``(N, H_out, W_out, 2)`` (``(..., 3)``; ``(x, y[, z])`` in ``[-1, 1]``).

    ``mode``: ``'bilinear'``, ``'nearest'`` or ``'bicubic'`` (4-D only); ``padding_mode`` for
    positions outside: ``'zeros'``, ``'border'`` or ``'reflection'``. Differentiable in both
    ``input`` and ``grid`` (``'nearest'``: the grid's gradient is zero).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> img = ember.arange(4.0).reshape(1, 1, 2, 2)
    >>> F.grid_sample(img, ember.zeros(1, 1, 1, 2), align_corners=True)
    tensor([[[[1.5000]]]])
    """
    _check_grid_sample(input, grid, mode, padding_mode)
    align_corners = _align(align_corners)
    d = input.dim() - 2
    sizes = tuple(input.shape[2:][::-1])  # (W, H[, D]): the grid's coordinate order
    out_spatial = tuple(grid.shape[1:-1])
    n = input.shape[0]
    flat_grid = S.reshape(grid, (n, -1, d))
    sampler = _Sampler(input, sizes)
    coords = [_unnormalize(flat_grid[..., k], sizes[k], align_corners) for k in range(d)]
    if mode == "bicubic":
        out = _bicubic(sampler, coords, padding_mode, align_corners)
    else:
        coords = [
            _compute_coordinates(c, s, padding_mode, align_corners) for c, s in zip(coords, sizes)
        ]
        out = _linear(sampler, coords) if mode == "bilinear" else _nearest(sampler, coords)
    return S.reshape(out, (n, input.shape[1], *out_spatial))
