"""``ember.xpu``: what PyTorch's build without Intel GPUs answers about them (nothing is there).

``is_available()`` is False and ``device_count()`` 0; seeding, ``empty_cache`` and the memory
counters do nothing; the calls that need a device raise ``AssertionError``, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_available",
    "device_count",
    "is_initialized",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "synchronize",
    "get_device_name",
    "current_device",
    "set_device",
    "initial_seed",
    "get_rng_state",
]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Ignored: there is no XPU generator (as PyTorch without XPUs)."""
    int(seed)


manual_seed_all = manual_seed


def seed() -> None:
    """Does nothing without an XPU."""


seed_all = seed


def empty_cache() -> None:
    """Nothing to free without an XPU."""


def _zero(device: Any = None) -> int:
    return 0


memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _zero


def _no_xpu(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("Torch not compiled with XPU enabled (ember runs on the CPU only)")


synchronize = get_device_name = current_device = set_device = _no_xpu
initial_seed = get_rng_state = _no_xpu
