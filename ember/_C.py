"""``ember._C``: the few private functions of PyTorch's C extension that libraries call.

Only calls with nothing to do in ember live here: usage logging (PyTorch logs nothing unless an
embedding application installed a logger) and the tracing state (ember never traces).
"""

from __future__ import annotations

__all__ = ["_log_api_usage_once", "_get_tracing_state"]


def _log_api_usage_once(event: str) -> None:
    """Record that an API was used: a no-op, as in PyTorch without a usage logger."""


def _get_tracing_state() -> None:
    """None: no ``jit.trace`` is in progress (ember does not trace)."""
    return None
