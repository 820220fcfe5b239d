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

__all__ = ["OutOfMemoryError", "allocate"]


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
# ignores those warnings when they come from its own modules: one filter installed at import, no
# cost per op (an ``np.errstate`` around every op would cost a microsecond each). Warnings from
# the user's own NumPy code are untouched.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember(\..*)?$")
