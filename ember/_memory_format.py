"""``ember.memory_format``: the layout a tensor's elements have in memory.

An ember tensor is a NumPy array, so its layout is the array's strides: a channels-last NCHW tensor
is an NHWC array seen through a transpose. This module holds the four format objects, PyTorch's
rules for "is this array laid out so" and the strides a copy in a given format gets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "memory_format",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout (``ember.channels_last`` & co.); instances are singletons."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self) -> str:
        return self.name  # pickled by name: unpickling gives the same singleton


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# The dimensions of a channels-last format from the fastest-varying to the slowest.
_ORDER = {channels_last: (1, 3, 2, 0), channels_last_3d: (1, 4, 3, 2, 0)}


def check_format(fmt: Any, fn: str) -> memory_format:
    """``fmt`` itself, or PyTorch's TypeError when it is not a memory format."""
    if not isinstance(fmt, memory_format):
        raise TypeError(
            f"{fn}(): argument 'memory_format' must be torch.memory_format, "
            f"not {type(fmt).__name__}"
        )
    return fmt


def check_rank(fmt: memory_format, ndim: int) -> None:
    """PyTorch's RuntimeError for channels_last on a tensor that is not 4-D (5-D for 3d)."""
    order = _ORDER.get(fmt)
    if order is not None and len(order) != ndim:
        raise RuntimeError(f"required rank {len(order)} tensor to use {fmt.name} format")


def element_strides(a: np.ndarray) -> tuple[int, ...]:
    return tuple(s // a.itemsize for s in a.strides)


def is_contiguous_as(a: np.ndarray, fmt: memory_format) -> bool:
    """PyTorch's ``is_contiguous(memory_format=fmt)``: size-1 dimensions never matter; a
    channels-last format on a tensor of another rank is simply False."""
    order = _ORDER.get(fmt)
    if order is None:
        return bool(a.flags.c_contiguous)
    if len(order) != a.ndim:
        return False
    expected, strides = 1, element_strides(a)
    for d in order:
        if a.shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= a.shape[d]
    return True


def has_c_strides(a: np.ndarray) -> bool:
    """C-contiguous with the C strides on size-1 dimensions too: a plain copy keeps the layout
    exactly (the common case, which needs none of the rules below)."""
    if not a.flags.c_contiguous:
        return False
    step = a.itemsize
    for n, s in zip(reversed(a.shape), reversed(a.strides)):
        if s != step:
            return False
        step *= n if n > 1 else 1
    return True


def format_strides(shape: tuple[int, ...], fmt: memory_format) -> tuple[int, ...]:
    """The strides PyTorch gives a fresh tensor of ``shape`` in ``fmt`` (not preserve)."""
    out = [0] * len(shape)
    order = _ORDER.get(fmt)
    if order is None:
        step = 1
        for d in reversed(range(len(shape))):
            out[d] = step
            step *= max(shape[d], 1)
        return tuple(out)
    step = 1
    for d in order:
        out[d] = step
        step *= shape[d]
    return tuple(out)


def _non_overlapping_and_dense(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """PyTorch's test: some permutation of the dimensions makes the strides contiguous ones."""
    if any(s < 0 for s in strides):
        return False
    dims = sorted((d for d in range(len(shape)) if shape[d] >= 2), key=lambda d: strides[d])
    expected = 1
    for d in dims:
        if strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def _dense_order(shape: tuple[int, ...], strides: tuple[int, ...]) -> list[int]:
    """The dimensions from the fastest-varying to the slowest, as PyTorch's insertion sort ranks
    them: a zero stride compares equal to anything (so it stays put), equal strides put the
    smaller size first."""

    def compare(d0: int, d1: int) -> int:
        if strides[d0] == 0 or strides[d1] == 0:
            return 0
        if strides[d0] != strides[d1]:
            return 1 if strides[d0] > strides[d1] else -1
        return int(shape[d0] > shape[d1])

    perm = list(reversed(range(len(shape))))
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = compare(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm


def _infer_dense_strides(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...]:
    """Dense strides that keep the order of a non-dense tensor's strides."""
    out, step = [0] * len(shape), 1
    for d in _dense_order(shape, strides):
        out[d] = step
        step *= shape[d] if shape[d] > 1 else 1
    return tuple(out)


def _channels_last_like(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """PyTorch's guess that strides are channels-last ones; the ambiguous N111 and N1H1 shapes
    read as contiguous, as there."""
    order = _ORDER[channels_last if len(shape) == 4 else channels_last_3d]
    if strides[1] == 0:
        return False
    low = 0
    for d in order:
        if shape[d] == 0 or strides[d] < low:
            return False
        if d == 0 and low == strides[1]:
            return False
        low = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return True


def suggest_format(a: np.ndarray) -> memory_format:
    """The format PyTorch reads from a tensor's strides (``suggest_memory_format``)."""
    if a.ndim in (4, 5) and _channels_last_like(a.shape, element_strides(a)):
        return channels_last if a.ndim == 4 else channels_last_3d
    return contiguous_format


def target_strides(a: np.ndarray, fmt: memory_format) -> tuple[int, ...]:
    """The strides of a copy of ``a`` in ``fmt``: preserve keeps a dense array's own strides and
    makes any other dense keeping the order of its strides."""
    if fmt is preserve_format:
        strides = element_strides(a)
        if _non_overlapping_and_dense(a.shape, strides):
            return strides
        return _infer_dense_strides(a.shape, tuple(abs(s) for s in strides))
    return format_strides(a.shape, fmt)


def empty_strided(
    shape: tuple[int, ...], strides: tuple[int, ...], dtype: Any, zeros: bool = False
) -> np.ndarray:
    """A new array of ``shape`` with the given (dense) element strides; zero-filled if
    ``zeros`` (by the allocator: fresh pages come zeroed, so no pass over them)."""
    dtype = np.dtype(dtype)
    new = np.zeros if zeros else np.empty
    if strides == format_strides(shape, contiguous_format) or 0 in shape:
        return new(shape, dtype)
    buf = new(int(np.prod(shape)), dtype)
    return np.lib.stride_tricks.as_strided(
        buf, shape, tuple(s * dtype.itemsize for s in strides), writeable=True
    )


def copy_as(a: np.ndarray, strides: tuple[int, ...]) -> np.ndarray:
    """A copy of ``a`` laid out with the given element strides: one copy into memory allocated
    in that layout (copying in ``a``'s own order first and then into the layout, as this once
    did when they differ, made an NCHW -> channels-last conversion two copies)."""
    if element_strides(a) == strides:
        out = a.copy(order="K")  # (NumPy's own strides for size-1 dims may differ: checked)
        if element_strides(out) == strides:
            return out
    out = empty_strided(a.shape, strides, a.dtype)
    np.copyto(out, a)
    return out


def check_to_format(fmt: Any) -> None:
    """PyTorch's TypeError for a ``to(memory_format=...)`` that is not a memory format."""
    if not isinstance(fmt, memory_format):
        raise TypeError(
            "to() received an invalid combination of arguments - got "
            f"(memory_format={type(fmt).__name__}, )"
        )


def to_format(t: Any, dtype: Any, copy: bool, fmt: memory_format) -> Any:
    """``t.to(dtype, copy=copy, memory_format=fmt)``: a (differentiable) cast and/or copy in the
    layout ``fmt`` asks for; ``t`` itself when nothing changes, which PyTorch decides from the
    format the strides suggest, not from contiguity (a strided view stays as it is)."""
    from .ops import elementwise
    from .ops.shape import Clone

    if not copy and dtype is None and (fmt is preserve_format or suggest_format(t._data) is fmt):
        return t
    check_rank(fmt, t.ndim)
    strides = target_strides(t._data, fmt)
    out = t if dtype is None else elementwise.cast(t, dtype)
    if out is not t and element_strides(out._data) == strides:
        return out
    return Clone.apply(out, strides)
