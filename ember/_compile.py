"""``ember.compile``: PyTorch's compiler entry point, run as its ``backend="eager"``.

ember has no graph compiler, so ``compile(model)`` returns ``model`` itself and it runs exactly
as before: the same results, no speed-up, no compilation time. Every PyTorch keyword is accepted
(``mode``, ``fullgraph``, ``dynamic``, ``backend``, ``options``...); ``disable=True`` also
returns the model. Used bare (``@ember.compile``) or with keywords (``@ember.compile(mode=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile"]


def compile(  # noqa: A001 - PyTorch's name
    model: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable | None = None,
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    **kwargs: Any,
) -> Any:
    """Returns ``model`` unchanged (eager execution), or a decorator doing so when ``model`` is
    omitted."""
    if mode is not None and options is not None:
        raise RuntimeError(
            "Either mode or options can be specified, but both can't be specified at the same time."
        )
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model
