"""``ember.compiler``: PyTorch's compiler namespace, for an eager-only library.

ember never compiles (``ember.compile`` returns its input), so each function here is what it
means when nothing is being compiled: the decorators return the function unchanged,
``is_compiling()`` is False, ``reset()`` has nothing to reset. Libraries call these to mark
functions for the compiler or to branch on tracing, and then run as under PyTorch's eager mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ._compile import compile  # noqa: A004 - PyTorch's name

__all__ = [
    "compile",
    "reset",
    "allow_in_graph",
    "disable",
    "assume_constant_result",
    "substitute_in_graph",
    "nested_compile_region",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "set_stance",
    "cudagraph_mark_step_begin",
    "list_backends",
]


def reset() -> None:
    """Nothing is cached: there is no compiler state to clear."""


def allow_in_graph(fn: Callable) -> Callable:
    """Returns ``fn``: there is no graph to put it in."""
    return fn


def disable(
    fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None
) -> Any:
    """Returns ``fn`` (or, without one, a decorator returning its function): ember runs
    everything eagerly already."""
    if fn is None:
        return lambda f: f
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """Returns ``fn``."""
    return fn


def substitute_in_graph(original_fn: Callable, **kwargs: Any) -> Callable[[Callable], Callable]:
    """A decorator that leaves ``original_fn`` in use (the substitute is for a tracer)."""
    return lambda substitute: substitute


def nested_compile_region(fn: Callable | None = None, **kwargs: Any) -> Any:
    """Returns ``fn`` (or a decorator returning its function)."""
    return (lambda f: f) if fn is None else fn


def is_compiling() -> bool:
    """False: ember code never runs under a tracer."""
    return False


def is_dynamo_compiling() -> bool:
    """False: ember code never runs under a tracer."""
    return False


def is_exporting() -> bool:
    """False: ember does not export graphs."""
    return False


class _Stance(contextlib.ContextDecorator):
    def __enter__(self) -> _Stance:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def set_stance(stance: str = "default", **kwargs: Any) -> _Stance:
    """Accepted; every stance runs eagerly in ember. Usable as a decorator or context
    manager, as PyTorch's."""
    return _Stance()


def cudagraph_mark_step_begin() -> None:
    """Nothing to mark: there are no CUDA graphs."""


def list_backends(exclude_tags: tuple = ("debug", "experimental")) -> list[str]:
    """The compile backends ember has: none beyond eager execution."""
    return []
