"""ember's own exception classes, and turning NumPy's allocation failures into PyTorch's.

PyTorch reports a failed CPU allocation as a ``RuntimeError``; NumPy raises ``MemoryError`` (or
``ValueError`` when the byte count overflows). ``OutOfMemoryError`` derives from both, so code
written for either ``except`` clause catches it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["OutOfMemoryError", "allocate", "quiet_numpy"]


class OutOfMemoryError(RuntimeError, MemoryError):
    """An allocation the machine cannot satisfy (PyTorch raises ``RuntimeError`` here)."""


def allocate(maker: Callable[..., np.ndarray], shape: tuple, dtype: Any, *args: Any) -> np.ndarray:
    """``maker(shape, dtype, *args)`` with PyTorch's errors when the memory is not there."""
    try:
        return maker(shape, *args, dtype=dtype)
    except MemoryError:
        n = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
        raise OutOfMemoryError(
            f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {n} bytes."
        ) from None
    except ValueError as e:
        if "too big" not in str(e) and "maximum" not in str(e):
            raise
        raise RuntimeError(
            f"Storage size calculation overflowed with sizes={list(shape)}"
        ) from None


# NumPy reports IEEE events (x / 0, log(0), inf - inf) as RuntimeWarnings attributed to the
# module that called the ufunc. PyTorch computes the same inf/NaN results silently, so ember
# ignores those warnings when they come from its own modules: a filter, no cost per op (an
# ``np.errstate`` around every op would cost about a microsecond each). Warnings from the user's
# own NumPy code are untouched. ``warnings.catch_warnings`` (pytest wraps every test in one)
# restores the filter list on exit, dropping a filter added inside it, so the tensor factories
# call ``quiet_numpy`` to put it back when they see a different list.
_MODULES = r"ember(\..*)?$"
# Only NumPy's floating-point event messages: ember's own RuntimeWarnings (an ambiguous KL
# registration, ...) must still reach the user.
_IEEE = r"(divide by zero|invalid value|overflow|underflow) encountered"
# ndarray.sum/.mean/.max (used throughout ember's ops) run in NumPy's Python module
# numpy._core._methods, so their IEEE warnings name that module; these messages (a reduction
# meeting inf - inf or an overflow) are silenced there too. The cost: the same warnings from
# the user's own ``array.sum()`` calls are silenced as well (docs/differences.md).
_REDUCTIONS = r"numpy\._core\._methods$"
_REDUCE_MESSAGES = r".* encountered in (reduce|accumulate)"
_seen: list = [None]


def _has(filters: list, module: str) -> bool:
    return any(f[0] == "ignore" and f[3] is not None and f[3].pattern == module for f in filters)


def quiet_numpy() -> None:
    """Make sure the filters for ember's own NumPy RuntimeWarnings are in the active list."""
    filters = warnings.filters
    if filters is _seen[0]:
        return
    if not _has(filters, _REDUCTIONS):
        warnings.filterwarnings(
            "ignore", _REDUCE_MESSAGES, category=RuntimeWarning, module=_REDUCTIONS
        )
    if not _has(filters, _MODULES):
        warnings.filterwarnings("ignore", _IEEE, category=RuntimeWarning, module=_MODULES)
    _seen[0] = warnings.filters


quiet_numpy()
