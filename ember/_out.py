"""``out=``: one implementation for every function that accepts it.

PyTorch writes the result into ``out`` (cast to ``out``'s dtype when the cast is safe, resized
when the shape differs, with its deprecation warning when ``out`` had elements), bumps ``out``'s
version counter, and returns ``out``. It refuses ``out=`` when autograd would have to record the
call. ``accepts_out`` wraps a function so that it does all of that; with ``out=None`` the wrapper
adds one dictionary lookup to the call.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _dtype as D
from ._tensor import Tensor
from .autograd.grad_mode import STATE

__all__ = ["accepts_out", "into", "write_out"]


def accepts_out(
    fn: Callable | None = None, *, creation: bool = False, out_dtype: bool = False
) -> Callable:
    """Give ``fn`` PyTorch's ``out=`` keyword. ``creation=True`` (zeros, arange, rand...) makes
    the result in ``out``'s dtype when no ``dtype`` is given and resizes ``out`` silently, as
    PyTorch does; ``out_dtype=True`` (sum, cumsum) only computes in ``out``'s dtype."""
    if fn is None:
        return functools.partial(accepts_out, creation=creation, out_dtype=out_dtype)
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.pop("out", None)
        if out is None:
            return fn(*args, **kwargs)
        _check_no_grad(name, args, kwargs, out)
        if (creation or out_dtype) and kwargs.get("dtype") is None and isinstance(out, Tensor):
            kwargs["dtype"] = out.dtype
        # Factories resize ``out`` silently in PyTorch; other functions warn.
        return write_out(out, fn(*args, **kwargs), name, _level=None if creation else 4)

    return wrapper


def into(out: Any, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` written into ``out``: for the hot functions that test
    ``out is not None`` themselves rather than pay for the ``accepts_out`` wrapper."""
    _check_no_grad(name, args, kwargs, out)
    return write_out(out, fn(*args, **kwargs), name, _level=5)


def _tensors_in(values: Any) -> Any:
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors_in(v)


def _check_no_grad(name: str, args: tuple, kwargs: dict, out: Any) -> None:
    if not STATE.enabled:
        return
    for t in _tensors_in((*args, *kwargs.values(), out)):
        if t._rg:
            raise RuntimeError(
                f"{name}(): functions with out=... arguments don't support automatic "
                "differentiation, but one of the arguments requires grad."
            )


def write_out(out: Any, result: Any, name: str, _level: int | None = 4) -> Any:
    """Write ``result`` (a Tensor or a tuple of them) into ``out``; returns ``out``."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(
                f"{name}(): argument 'out' must be tuple of {len(result)} Tensors, not "
                f"{type(out).__name__}"
            )
        level = None if _level is None else _level + 1
        written = tuple(write_out(o, r, name, level) for o, r in zip(out, result))
        return type(result)(*written) if hasattr(result, "_fields") else written
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    src = result._data
    _check_cast(src.dtype, out.dtype)
    if out._data.shape != src.shape:
        _resize(out, src.shape, _level)
    if not out._data.flags.writeable:
        from .ops.inplace import read_only_error

        raise read_only_error(out._data)
    np.copyto(out._data, src, casting="unsafe")
    out._vc[0] += 1
    return out


def _check_cast(src: np.dtype, dst: D.dtype) -> None:
    """PyTorch's rule: no complex to real, no floating to integral, nothing but bool to bool."""
    sk = D._BY_NP[src]._kind
    if dst._kind < sk:
        from .ops._util import type_name

        raise RuntimeError(
            f"result type {type_name(src)} can't be cast to the desired output type "
            f"{type_name(dst)}"
        )


def _resize(out: Tensor, shape: tuple, level: int | None) -> None:
    if out._data.size and level is not None:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{list(out._data.shape)}, which does not match the required output shape "
            f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release outputs "
            "will not be resized unless they have zero elements. You can explicitly reuse an "
            "out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
            UserWarning,
            stacklevel=level,
        )
    out._data = np.zeros(shape, out._data.dtype)


def accepts_out_in(namespace: dict, names: Any) -> None:
    """Give ``out=`` (``accepts_out``) to those functions ``names`` of a module's namespace that
    declare an ``out`` keyword, so that none of them ignores it."""
    for name in names:
        fn = namespace[name]
        code = getattr(fn, "__code__", None)
        n_args = 0 if code is None else code.co_argcount + code.co_kwonlyargcount
        if code is not None and "out" in code.co_varnames[:n_args]:
            namespace[name] = accepts_out(fn)
