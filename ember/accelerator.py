"""``ember.accelerator``: PyTorch's device-agnostic accelerator API, answering "none".

Scripts pick their device with ``torch.accelerator.is_available()`` and
``current_accelerator()``; on ember (CPU only) those answer False and None, ``device_count()``
is 0, and the calls that need an accelerator raise ``RuntimeError`` as PyTorch does without one.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_available",
    "current_accelerator",
    "device_count",
    "current_device_index",
    "current_device_idx",
    "set_device_index",
    "set_device_idx",
    "current_stream",
    "set_stream",
    "synchronize",
    "device_index",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "memory_stats",
    "reset_peak_memory_stats",
    "reset_accumulated_memory_stats",
    "get_memory_info",
]


def is_available() -> bool:
    """False: ember has no accelerator."""
    return False


def current_accelerator(check_available: bool = False) -> Any:
    """None: ember has no accelerator."""
    return None


def device_count() -> int:
    return 0


def _none_available(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("Cannot access accelerator device when none is available.")


current_device_index = current_device_idx = set_device_index = set_device_idx = _none_available
current_stream = set_stream = synchronize = empty_cache = _none_available
memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _none_available
memory_stats = reset_peak_memory_stats = reset_accumulated_memory_stats = _none_available
get_memory_info = _none_available


class device_index:  # noqa: N801 - PyTorch's name
    """``with ember.accelerator.device_index(None):`` is a no-op; an index needs a device."""

    def __init__(self, device: int | None, /) -> None:
        self.idx = device

    def __enter__(self) -> None:
        if self.idx is not None:
            _none_available()

    def __exit__(self, *exc: Any) -> bool:
        return False
