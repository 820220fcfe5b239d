"""The process-wide switches PyTorch programs set at the top: default device, float32 matmul
precision, deterministic algorithms and thread counts.

The state itself lives in ``_runtime.SETTINGS``. ember has one device and deterministic CPU ops,
so the device, precision and determinism switches are validated as PyTorch validates them,
recorded and reported back; the thread counts really change how ember runs
(``_runtime.set_num_threads``).
"""

from __future__ import annotations

import warnings
from typing import Any

from . import _runtime
from ._backend import device as _device
from ._runtime import get_num_threads, set_num_threads

__all__ = [
    "set_default_device",
    "get_default_device",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "get_deterministic_debug_mode",
    "get_num_threads",
    "set_num_threads",
    "get_num_interop_threads",
    "set_num_interop_threads",
]

_S = _runtime.SETTINGS


def set_default_device(device: Any) -> None:
    """The device new tensors go to: ``'cpu'`` (or None to reset). Other devices raise, since
    ember has only the CPU (PyTorch would accept the name and fail at the first tensor)."""
    if device is None:
        _S.default_device = None
        return
    if isinstance(device, int):
        raise RuntimeError("Cannot access accelerator device when none is available.")
    _S.default_device = _device(device)


def get_default_device() -> Any:
    """The device new tensors go to (``device(type='cpu')``)."""
    return _S.default_device or _device("cpu")


def set_float32_matmul_precision(precision: str) -> None:
    """``'highest'``, ``'high'`` or ``'medium'``: recorded (ember's float32 products are always
    computed in full float32, which is what ``'highest'`` asks for)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
            "setFloat32MatmulPrecision call has no effect.",
            stacklevel=2,
        )
        return
    _S.matmul_precision = precision


def get_float32_matmul_precision() -> str:
    """The recorded float32 matmul precision (``'highest'`` unless set)."""
    return _S.matmul_precision


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded: every ember op is deterministic already (same inputs, same bits)."""
    if not isinstance(mode, bool):
        raise TypeError(
            "_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, "
            f"not {type(mode).__name__}"
        )
    _S.deterministic = mode
    _S.deterministic_warn_only = bool(warn_only) and mode


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` is in force."""
    return _S.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether deterministic mode only warns (``warn_only=True``)."""
    return _S.deterministic_warn_only


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """0/``'default'``, 1/``'warn'``, 2/``'error'``, mapped onto the two switches as PyTorch."""
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn) or 2 (error), from the two deterministic switches."""
    if not _S.deterministic:
        return 0
    return 1 if _S.deterministic_warn_only else 2


def get_num_interop_threads() -> int:
    """Recorded for compatibility: ember runs one op at a time per Python thread."""
    return _S.interop_threads


def set_num_interop_threads(n: int) -> None:
    """Record the inter-op thread count (a positive int), as PyTorch validates it."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise RuntimeError("Expected positive number of threads")
    _S.interop_threads = n
