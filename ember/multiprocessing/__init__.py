"""``ember.multiprocessing``: Python's ``multiprocessing`` with tensors that share memory.

Everything in ``multiprocessing`` is here under the same name (``Process``, ``Queue``,
``get_context``, ``set_start_method``, ``cpu_count``...), as in ``torch.multiprocessing``.
Importing this module teaches ``multiprocessing``'s pickler to send a tensor that lives in
shared memory (``Tensor.share_memory_()``, ``Module.share_memory()``) by the name of its memory
segment, so a process started with ``spawn`` or a tensor sent through a ``Queue`` arrives
sharing the sender's memory. Tensors not in shared memory are sent by value (PyTorch would
move them into shared memory first; see docs/differences.md).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F403

from .._shared_memory import register_reducers
from ._spawn import (
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = [
    *multiprocessing.__all__,
    "spawn",
    "start_processes",
    "ProcessContext",
    "SpawnContext",
    "ProcessRaisedException",
    "ProcessExitedException",
    "set_sharing_strategy",
    "get_sharing_strategy",
    "get_all_sharing_strategies",
]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Accepts PyTorch's strategy names; ember shares through named segments either way."""
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}")
    _strategy = new_strategy


def get_sharing_strategy() -> str:
    """The strategy last set (``'file_descriptor'`` by default, as PyTorch on Linux)."""
    return _strategy


def get_all_sharing_strategies() -> set:
    """The strategy names ``set_sharing_strategy`` accepts."""
    return set(_STRATEGIES)


register_reducers()
