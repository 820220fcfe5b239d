"""Argument handling shared by ``ember.fft``: norms, dtypes, dims and sizes as PyTorch checks
them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _dtype as D
from .._tensor import Tensor, _wrap_dim
from ..ops._util import type_name
from ..ops.elementwise import cast

NORMS = ("backward", "forward", "ortho")


def norm_of(norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def prepare(x: Tensor, name: str, real_only: bool = False) -> Tensor:
    """Integers become the default float; half precision has no CPU FFT in PyTorch."""
    dt = x.dtype
    if dt in (D.float16, D.bfloat16):
        raise RuntimeError(f"Unsupported dtype {type_name(dt)}")
    if real_only and dt.is_complex:
        if name == "ihfftn":
            raise RuntimeError(f"Only supports floating-point dtypes, but found: {_cname(dt)}")
        kind = "real-valued" if name == "rfftn" else "real"
        raise RuntimeError(f"{name} expects a {kind} input tensor, but got {_cname(dt)}")
    if not (dt.is_floating_point or dt.is_complex):
        x = cast(x, D.get_default_dtype())
    return x


def _cname(dt: D.dtype) -> str:
    return "ComplexFloat" if dt is D.complex64 else "ComplexDouble"


def check_points(n: int) -> int:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def one_dim(x: Tensor, dim: int) -> int:
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, x.ndim)


def dims_and_sizes(
    x: Tensor, s: Sequence[int] | None, dim: Any, default_dims: tuple | None = None
) -> tuple[tuple, list]:
    """The axes to transform and their requested sizes (``-1`` or None: keep the size).

    As PyTorch: with neither, all dims (or ``default_dims``); with ``s`` only, the last
    ``len(s)`` dims; with both, they must have the same length."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None and default_dims is not None:
        dim = default_dims
    if s is not None and dim is not None and len(s) != len(dim):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    if dim is None:
        dim = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else tuple(range(x.ndim))
        if s is not None and len(s) > x.ndim:
            raise RuntimeError(
                f"Got shape with {len(s)} values but input tensor only has {x.ndim} dimensions."
            )
    if x.ndim == 0 and len(dim):
        raise IndexError(f"Dimension specified as {dim[0]} but tensor has no dimensions")
    axes = tuple(_wrap_dim(int(d), x.ndim) for d in dim)
    if len(set(axes)) != len(axes):
        raise RuntimeError("FFT dims must be unique")
    sizes = [x.shape[a] if (s is None or s[i] == -1) else int(s[i]) for i, a in enumerate(axes)]
    for n in sizes:
        check_points(n)
    return axes, sizes
