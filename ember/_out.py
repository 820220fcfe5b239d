"""``out=`` arguments: ember's functions return new tensors and refuse an ``out`` tensor clearly
(NotImplementedError naming the function) instead of ignoring it."""

from __future__ import annotations

import functools
from typing import Any


def no_out(fn: Any) -> Any:
    """Wrap ``fn`` (which declares an ``out`` keyword) so that passing ``out`` raises."""
    code = getattr(fn, "__code__", None)
    if code is None or "out" not in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is not None:
            raise NotImplementedError(
                f"{fn.__name__}(): ember does not support the out= argument; use the returned "
                "tensor"
            )
        return fn(*args, **kwargs)

    return wrapper


def refuse_out_in(namespace: dict, names: Any) -> None:
    """Apply ``no_out`` to the functions ``names`` of a module's namespace."""
    for name in names:
        namespace[name] = no_out(namespace[name])
