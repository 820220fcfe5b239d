"""``ember.random``: PyTorch's ``torch.random`` - the default generator's seed and state, and
``fork_rng`` (run a block, then put the random state back as it was)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "set_rng_state",
    "manual_seed",
    "seed",
    "initial_seed",
]


@contextlib.contextmanager
def fork_rng(
    devices: Iterable[Any] | None = None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str | None = None,
) -> Iterator[None]:
    """Inside the block the random state may change; afterwards it is restored (the default
    generator's, and that of the listed accelerator ``devices`` - ember has none, so naming one
    raises as PyTorch's CPU build does)."""
    if not enabled:
        yield
        return
    if devices:
        from . import get_device_module

        module = get_device_module(device_type or "cuda")
        for d in devices:
            module.get_rng_state(d)  # raises: ember has no accelerator
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
