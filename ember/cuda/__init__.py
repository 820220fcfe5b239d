"""``ember.cuda``: what PyTorch's CPU-only build answers about CUDA, so scripts that ask run.

``is_available()`` is False and ``device_count()`` 0; seeding, ``empty_cache`` and the memory
counters quietly do nothing (0, as PyTorch's CPU build); the calls that need a GPU
(``synchronize``, ``get_device_name``, ``current_device``, ...) raise ``AssertionError`` as
PyTorch's CPU build does ("Torch not compiled with CUDA enabled").
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from . import amp

__all__ = [
    "amp",
    "is_available",
    "device_count",
    "is_initialized",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "initial_seed",
    "get_rng_state",
    "get_rng_state_all",
    "set_rng_state",
    "set_rng_state_all",
    "synchronize",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "memory_cached",
    "max_memory_cached",
    "memory_stats",
    "memory_summary",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "mem_get_info",
    "get_device_name",
    "get_device_properties",
    "get_device_capability",
    "get_arch_list",
    "current_device",
    "set_device",
    "init",
    "device",
    "stream",
    "current_stream",
    "Stream",
    "Event",
]

_NO_CUDA = "Torch not compiled with CUDA enabled (ember runs on the CPU only)"


def _no_cuda(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(_NO_CUDA)


def is_available() -> bool:
    """False: ember has no CUDA device."""
    return False


def device_count() -> int:
    """0: ember has no CUDA device."""
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Accepted and ignored (no CUDA generator), as on PyTorch's CPU build."""
    int(seed)  # the same ValueError as PyTorch for a non-number


def manual_seed_all(seed: int) -> None:
    int(seed)


def seed() -> None:
    """Does nothing without CUDA (as PyTorch's CPU build)."""


def seed_all() -> None:
    """Does nothing without CUDA (as PyTorch's CPU build)."""


def get_rng_state_all() -> list:
    """An empty list: no CUDA generators."""
    return []


def set_rng_state(new_state: Any, device: Any = "cuda") -> None:
    """Ignored without CUDA (as PyTorch's CPU build)."""


def set_rng_state_all(new_states: Any) -> None:
    """Ignored without CUDA (as PyTorch's CPU build)."""


def empty_cache() -> None:
    """Nothing to free without CUDA."""


def _zero(device: Any = None) -> int:
    return 0


memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _zero
memory_cached = max_memory_cached = _zero


def memory_stats(device: Any = None) -> OrderedDict:
    """An empty ``OrderedDict``, as PyTorch's CPU build returns."""
    return OrderedDict()


def get_arch_list() -> list:
    return []


# Everything below needs a GPU: PyTorch's CPU build raises AssertionError for them.
initial_seed = get_rng_state = synchronize = mem_get_info = _no_cuda
get_device_name = get_device_properties = get_device_capability = _no_cuda
current_device = set_device = init = current_stream = ipc_collect = _no_cuda
reset_peak_memory_stats = reset_max_memory_allocated = memory_summary = _no_cuda


class device:  # noqa: N801 - PyTorch's name
    """``with ember.cuda.device(i):`` - entering raises for a real index (there is no GPU);
    index -1 (PyTorch's "no device") is a no-op."""

    def __init__(self, device: Any) -> None:
        self.idx = device if isinstance(device, int) else getattr(device, "index", device)

    def __enter__(self) -> device:
        if self.idx is not None and self.idx >= 0:
            raise RuntimeError("PyTorch was compiled without CUDA support (ember is CPU only)")
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


class stream:  # noqa: N801 - PyTorch's name
    """``with ember.cuda.stream(None):`` is a no-op (as PyTorch's)."""

    def __init__(self, stream: Any) -> None:
        if stream is not None:
            raise RuntimeError("torch.cuda.Stream requires CUDA support (ember is CPU only)")

    def __enter__(self) -> stream:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


class Stream:
    """Raises: a CUDA stream needs CUDA."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Stream:
        raise RuntimeError("torch.cuda.Stream requires CUDA support (ember is CPU only)")


class Event:
    """Raises: a CUDA event needs CUDA."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Event:
        raise RuntimeError("torch.cuda.Event requires CUDA support (ember is CPU only)")
