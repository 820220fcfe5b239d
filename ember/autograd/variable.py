"""``Variable`` (PyTorch's legacy name for a tensor) and its ``_execution_engine``.

Old and distributed code reaches the backward engine as
``torch.autograd.Variable._execution_engine.queue_callback(cb)``: this module gives that path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from . import engine

__all__ = ["Variable"]


class _ExecutionEngine:
    """The backward engine as PyTorch exposes it (only ``queue_callback``)."""

    @staticmethod
    def queue_callback(callback: Callable[[], Any]) -> None:
        """Run ``callback()`` once the backward pass in progress has finished; RuntimeError
        outside a backward pass."""
        engine.queue_callback(callback)


class _VariableMeta(type):
    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated: ``Variable(t)`` is a detached tensor sharing ``t``'s data (requiring grad if
    asked); every Tensor is an instance of ``Variable``."""

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        t.requires_grad_(requires_grad)
        return t
