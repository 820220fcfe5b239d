"""``ember.mps``: PyTorch's Apple-GPU module as its builds without MPS answer it.

``is_available()`` is False, ``device_count()`` 0 and ``manual_seed`` is ignored; the calls that
need the GPU raise ``RuntimeError`` ("... without MPS backend"), as PyTorch does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_available",
    "device_count",
    "manual_seed",
    "seed",
    "get_rng_state",
    "set_rng_state",
    "synchronize",
    "empty_cache",
    "current_allocated_memory",
    "driver_allocated_memory",
    "recommended_max_memory",
    "set_per_process_memory_fraction",
]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Ignored without MPS (as PyTorch)."""
    int(seed)


def _needs(what: str):
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"Cannot execute {what}() without MPS backend.")

    return fail


seed = get_rng_state = set_rng_state = _needs("getDefaultGenerator")
synchronize = _needs("deviceSynchronize")
empty_cache = _needs("emptyCache")
current_allocated_memory = _needs("getCurrentAllocatedMemory")
driver_allocated_memory = _needs("getDriverAllocatedMemory")
recommended_max_memory = _needs("getRecommendedMaxMemory")
set_per_process_memory_fraction = _needs("setMemoryFraction")
