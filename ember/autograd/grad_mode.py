"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator, as in PyTorch. The state is one global flag
read on every op call (see ``docs/differences.md``: PyTorch's flag is per thread).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled"]


class _GradState:
    __slots__ = ("enabled", "inference")

    def __init__(self) -> None:
        self.enabled = True
        self.inference = False


STATE = _GradState()


def is_grad_enabled() -> bool:
    """Whether ops record a graph for autograd."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """Base for grad-mode contexts usable as ``with`` blocks and as decorators."""

    def __call__(self, func: Callable) -> Callable:
        import inspect  # only when decorating: keeps `import ember` fast

        if inspect.isclass(func):
            raise TypeError(f"{type(self).__name__} cannot decorate a class")
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any):
                gen = func(*args, **kwargs)
                # The mode applies only while the generator body runs, not between its steps.
                # A StopIteration escaping a generator becomes a RuntimeError (PEP 479), so the
                # inner generator's return value is passed on with `return`.
                try:
                    with self.clone():
                        response = gen.send(None)
                    while True:
                        try:
                            request = yield response
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as e:
                            with self.clone():
                                response = gen.throw(e)
                        else:
                            with self.clone():
                                response = gen.send(request)
                except StopIteration as stop:
                    return stop.value

            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return type(self)()


class _SetGradMode(_DecoratorContextManager):
    """Base of ``no_grad`` and ``enable_grad``: grad mode is ``_mode`` inside, restored on exit."""

    _mode = True

    def __init__(self, orig_func: Callable | None = None) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(STATE.enabled)
        STATE.enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled = self._prev.pop()


class no_grad(_SetGradMode):  # noqa: N801
    """Context manager and decorator that turns off graph recording.

    >>> import ember
    >>> x = ember.ones(2, requires_grad=True)
    >>> with ember.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False

    def __init__(self, orig_func: Callable | None = None) -> None:
        super().__init__()
        if orig_func is not None:  # used as a bare decorator: @no_grad
            self._wrapped = self(orig_func)

    def __new__(cls, orig_func: Callable | None = None):
        if orig_func is None or cls is not no_grad:
            return super().__new__(cls)
        return cls()(orig_func)


class enable_grad(_SetGradMode):  # noqa: N801
    """Context manager and decorator that turns graph recording on inside ``no_grad``."""

    def __new__(cls, orig_func: Callable | None = None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class set_grad_enabled(_DecoratorContextManager):  # noqa: N801
    """Set grad mode on or off; takes effect immediately, and as a context restores on exit."""

    def __init__(self, mode: bool) -> None:
        self.prev = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled = self.prev

    def clone(self) -> set_grad_enabled:
        return type(self)(self.mode)

    def __call__(self, func: Callable) -> Callable:
        STATE.enabled = self.prev  # as a decorator it must not change the mode at definition
        return super().__call__(func)


class inference_mode(_DecoratorContextManager):  # noqa: N801
    """Like ``no_grad`` (ember has no separate inference tensors); ``mode=False`` is a no-op."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self._prev: list[tuple[bool, bool]] = []

    def __new__(cls, mode: bool | Callable = True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev.append((STATE.enabled, STATE.inference))
        if self.mode:
            STATE.enabled = False
            STATE.inference = True

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled, STATE.inference = self._prev.pop()

    def clone(self) -> inference_mode:
        return type(self)(self.mode)
