"""Tensor creation: ``tensor``, ``zeros``, ``full``, ``arange``, ``eye``, ``*_like``... as in
PyTorch (random creation is in ``_creation_random``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _dtype as D
from . import _memory_format as MF
from ._backend import device as _device
from ._errors import allocate, quiet_numpy
from ._out import accepts_out
from ._tensor import Tensor, _size_args, _wrap

__all__ = [
    "tensor",
    "as_tensor",
    "asarray",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "arange",
    "range",
    "linspace",
    "logspace",
    "eye",
    "scalar_tensor",
]


def _check_device(device: Any) -> None:
    if device is not None:
        _device(device)


def _leaf(array: np.ndarray, requires_grad: bool) -> Tensor:
    """A new leaf tensor around a freshly made ``array`` (requiring grad if asked)."""
    quiet_numpy()
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_np(data: Any, dtype: D.dtype | None) -> np.ndarray:
    if dtype is not None:
        return np.array(_unwrap_nested(data), dtype=dtype.np)
    if isinstance(data, np.ndarray):
        D.from_numpy_dtype(data.dtype)  # raises for unsupported dtypes
        return np.array(data)
    if isinstance(data, (np.generic,)):
        return np.array(data)
    try:
        arr = np.array(_unwrap_nested(data))
    except ValueError:
        _raise_ragged(data)
        raise
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(_nested_float_dtype(data).np)
    if kind in "iu":
        return arr.astype(np.int64) if _all_python(data) else arr
    if kind == "b":
        return arr
    if kind == "c":
        return arr.astype(np.complex64 if D.get_default_dtype() is D.float32 else np.complex128)
    if kind in "USV":
        raise TypeError(f"new(): invalid data type '{type(arr.reshape(-1)[0].item()).__name__}'")
    if kind == "O":
        leaf = _first_leaf(data)
        if isinstance(leaf, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(leaf).__name__}'")
        raise RuntimeError(f"Could not infer dtype of {type(leaf).__name__}")
    return arr


def _raise_ragged(data: Any) -> None:
    """PyTorch's error for nested sequences whose lengths disagree (instead of NumPy's)."""
    level, dim = [data], 0
    while True:
        seqs = [x for x in level if isinstance(x, (list, tuple))]
        if not seqs:
            return
        if len(seqs) != len(level):
            raise TypeError(f"not a sequence: mixed numbers and sequences at dim {dim}")
        n = len(seqs[0])
        for x in seqs:
            if len(x) != n:
                raise ValueError(f"expected sequence of length {n} at dim {dim} (got {len(x)})")
        level = [y for x in seqs for y in x]
        dim += 1


def _first_leaf(data: Any) -> Any:
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return data


def _all_python(data: Any) -> bool:
    return not isinstance(data, (np.ndarray, np.generic, Tensor))


def _nested_float_dtype(data: Any) -> D.dtype:
    """A float result comes from Python floats (default dtype) or from float tensors/arrays."""
    if isinstance(data, Tensor):
        return data.dtype if data.dtype.is_floating_point else D.get_default_dtype()
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f":
        return D.from_numpy_dtype(data.dtype)
    if isinstance(data, (list, tuple)):
        best = None
        for x in data:
            if isinstance(x, (Tensor, np.ndarray, np.generic, list, tuple)):
                d = _nested_float_dtype(x)
                best = d if best is None else D.promote_types(best, d)
        return best or D.get_default_dtype()
    return D.get_default_dtype()


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(x) for x in data]
    return data


def tensor(
    data: Any,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    >>> import ember
    >>> ember.tensor([[1.0, 2.0]])
    tensor([[1., 2.]])
    """
    _check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.astype(dtype.np if dtype else data._data.dtype, copy=True)
    else:
        arr = _infer_np(data, dtype)
    return _leaf(arr, requires_grad)


def scalar_tensor(
    s: Any, dtype: D.dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return tensor(s, dtype=dtype or D.get_default_dtype(), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: D.dtype | None = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a Tensor or NumPy array when no copy is needed."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or dtype is data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtype.np):
        D.from_numpy_dtype(data.dtype)
        return _wrap(data)
    return tensor(data, dtype=dtype)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (no copy)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    D.from_numpy_dtype(ndarray.dtype)
    if not ndarray.flags.writeable:
        import warnings

        warnings.warn(
            "The given NumPy array is not writable: the tensor shares its memory, so writing "
            "into the tensor will raise. Copy the array, or make it writable, first.",
            UserWarning,
            stacklevel=2,
        )
    return _wrap(ndarray)


def _size(size: tuple) -> tuple:
    size = _size_args(size)
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"zeros(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__} at pos {len(out)}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _dt(dtype: D.dtype | None) -> np.dtype:
    return (dtype or D.get_default_dtype()).np


def _new(
    maker: Any, size: tuple, dtype: D.dtype | None, device: Any, requires_grad: bool
) -> Tensor:
    """zeros/ones/empty: check the device, then ``maker(shape, numpy dtype)`` as a leaf tensor."""
    _check_device(device)
    return _leaf(allocate(maker, _size(size), _dt(dtype)), requires_grad)


@accepts_out(creation=True)
def zeros(
    *size: Any,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """A tensor of zeros of the given shape."""
    return _new(np.zeros, size, dtype, device, requires_grad)


@accepts_out(creation=True)
def ones(
    *size: Any,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """A tensor of ones of the given shape."""
    return _new(np.ones, size, dtype, device, requires_grad)


@accepts_out(creation=True)
def empty(
    *size: Any,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    out: Any = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor (ember fills it with zeros, so it is never garbage), laid out in
    ``memory_format`` (C order by default)."""
    t = _new(np.zeros, size, dtype, device, requires_grad)
    if memory_format is None:
        return t
    fmt = MF.check_format(memory_format, "empty")
    if fmt is MF.preserve_format:
        raise RuntimeError("unsupported memory format Preserve")
    MF.check_rank(fmt, t.ndim)
    strides = MF.format_strides(t._data.shape, fmt)
    if MF.element_strides(t._data) != strides:
        t._data = _filled(t._data.shape, strides, t._data.dtype, np.zeros)
    return t


def _fill_dtype(fill_value: Any) -> D.dtype:
    if isinstance(fill_value, Tensor):
        return fill_value.dtype
    if isinstance(fill_value, bool):
        return D.bool
    if isinstance(fill_value, (int, np.integer)):
        return D.int64
    if isinstance(fill_value, complex):
        return D.complex64
    return D.get_default_dtype()


@accepts_out(creation=True)
def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """A tensor of the given shape filled with ``fill_value``."""
    _check_device(device)
    _check_fill(fill_value)
    d = dtype or _fill_dtype(fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _leaf(allocate(np.full, _size((size,)), d.np, fill_value), requires_grad)


def _check_fill(fill_value: Any) -> None:
    """PyTorch's TypeError for a fill value that is not a number (``full((2,), 'x')``)."""
    if isinstance(fill_value, Tensor) or isinstance(fill_value, (int, float, complex, np.number)):
        return
    raise TypeError(
        "full(): argument 'fill_value' (position 2) must be Number, not "
        f"{type(fill_value).__name__}"
    )


def _new_like(
    maker: Any,
    input: Tensor,
    dtype: D.dtype | None,
    requires_grad: bool,
    fmt: Any = None,
    fn: str = "empty_like",
) -> Tensor:
    """zeros_like & co.: ``maker(shape, numpy dtype)`` (a constant fill) with ``input``'s shape
    (and dtype unless ``dtype`` is given) as a leaf tensor, laid out in ``fmt`` (default:
    input's own layout): allocated in that layout and filled there."""
    shape = input._data.shape
    dt = dtype.np if dtype is not None else input._data.dtype
    strides = like_strides(input, fmt, fn)
    if strides is None:
        return _leaf(allocate(maker, shape, dt), requires_grad)
    return _leaf(_filled(shape, strides, dt, maker), requires_grad)


def _filled(shape: tuple, strides: tuple, dtype: Any, maker: Any) -> np.ndarray:
    """A new array with the given element strides holding ``maker``'s constant."""
    value = maker((), dtype=dtype)
    zero = not any(value.tobytes())  # all bits zero (-0.0 is not)
    out = allocate(lambda size, dtype: MF.empty_strided(size, strides, dtype, zero), shape, dtype)
    if not zero:
        np.copyto(out, value)
    return out


def like_strides(input: Tensor, fmt: Any, fn: str = "empty_like") -> tuple | None:
    """The element strides of a ``*_like`` of ``input`` for ``memory_format=fmt`` (PyTorch's
    preserve_format keeps a dense input's layout), or None for C order."""
    src = input._data
    if fmt is None and src.size and src.strides == _c_strides(src.shape, src.itemsize):
        return None  # (the common case, without the stride arithmetic below)
    fmt = MF.preserve_format if fmt is None else MF.check_format(fmt, fn)
    MF.check_rank(fmt, input.ndim)
    strides = MF.target_strides(src, fmt)
    return None if strides == MF.format_strides(src.shape, MF.contiguous_format) else strides


def _c_strides(shape: tuple, itemsize: int) -> tuple:
    """The byte strides NumPy gives a new C-ordered array of ``shape``."""
    out, step = [], itemsize
    for d in reversed(shape):
        out.append(step)
        step *= max(d, 1)
    return tuple(reversed(out))


def relayout(a: np.ndarray, input: Tensor, fmt: Any, fn: str = "empty_like") -> np.ndarray:
    """``a`` (a fresh C-contiguous array shaped as ``input``) laid out as ``memory_format=fmt``
    asks for a ``*_like`` of ``input`` (see :func:`like_strides`)."""
    strides = like_strides(input, fmt, fn)
    return a if strides is None else MF.copy_as(a, strides)


def zeros_like(
    input: Tensor,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    return _new_like(np.zeros, input, dtype, requires_grad, memory_format, "zeros_like")


def ones_like(
    input: Tensor,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    return _new_like(np.ones, input, dtype, requires_grad, memory_format, "ones_like")


def empty_like(
    input: Tensor,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    return _new_like(np.zeros, input, dtype, requires_grad, memory_format)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    _check_fill(fill_value)
    return _new_like(
        lambda shape, dtype: np.full(shape, fill_value, dtype),
        input,
        dtype,
        requires_grad,
        memory_format,
        "full_like",
    )


@accepts_out(creation=True)
def arange(
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in vals)
        dtype = D.int64 if is_int else D.get_default_dtype()
    # An integer dtype truncates start and step (arange(0.5, 4.2, 1, dtype=long) is
    # [0, 1, 2, 3]); PyTorch sizes int64 ranges from the truncated bounds and every other
    # dtype from the exact ones.
    n = int(math.ceil((end - start) / step))
    if dtype.np.kind in "iub":
        istep = int(step)
        if istep == 0:
            raise ValueError("step must be nonzero")
        if dtype is D.int64:
            span = int(end) - int(start) + istep - (1 if istep > 0 else -1)
            n = max(int(span / istep), 0)
        arr = int(start) + np.arange(n, dtype=np.int64) * istep
    else:
        arr = start + np.arange(n, dtype=np.float64) * step
    return _leaf(arr.astype(dtype.np), requires_grad)


def range(
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: D.dtype | None = None,  # noqa: A001
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Deprecated in PyTorch: values from ``start`` to ``end`` inclusive."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    arr = start + np.arange(n, dtype=np.float64) * step
    return _leaf(arr.astype(_dt(dtype)), requires_grad)


@accepts_out(creation=True)
def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    arr = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _leaf(arr.astype(_dt(dtype)), requires_grad)


def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    arr = np.power(base, np.linspace(float(start), float(end), int(steps)))
    return _leaf(arr.astype(_dt(dtype)), requires_grad)


@accepts_out(creation=True)
def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """A 2-D identity matrix of ``n`` rows and ``m`` (default ``n``) columns."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    return _leaf(np.eye(n, m, dtype=_dt(dtype)), requires_grad)
