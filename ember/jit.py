"""``ember.jit``: TorchScript's entry points, run eagerly.

ember has no graph compiler: ``script`` and ``trace`` return what they are given (a module or a
function runs exactly as before; ``trace`` calls it once on the example inputs when
``check_trace`` asks for it, so a broken function fails where PyTorch's would). ``save`` and
``load`` raise ``NotImplementedError``: a TorchScript archive holds compiled code ember cannot run
(save the ``state_dict`` with ``ember.save`` instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "script",
    "trace",
    "trace_module",
    "save",
    "load",
    "ignore",
    "unused",
    "export",
    "is_scripting",
    "is_tracing",
    "annotate",
    "Final",
    "freeze",
    "optimize_for_inference",
    "ScriptModule",
    "ScriptFunction",
    "Error",
]


def script(obj: Any, optimize: None = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:  # fmt: skip
    """Returns ``obj`` unchanged: it runs eagerly (ember has no TorchScript compiler)."""
    return obj


def trace(func: Any, example_inputs: Any = None, optimize: None = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
          example_kwarg_inputs: Any = None, _store_inputs: bool = True) -> Any:  # fmt: skip
    """Returns ``func`` unchanged (eager); with ``check_trace`` it is run once on the example
    inputs, as PyTorch's tracer runs it."""
    if check_trace and (example_inputs is not None or example_kwarg_inputs is not None):
        args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        if example_inputs is None:
            args = ()
        func(*args, **(example_kwarg_inputs or {}))
    return func


def trace_module(mod: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Returns ``mod`` unchanged (eager)."""
    return mod


def _no_archive(what: str) -> Callable:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"ember.jit.{what}: ember cannot {what} TorchScript archives (they hold compiled "
            "code); use ember.save(model.state_dict(), path) and load_state_dict instead"
        )

    fail.__name__ = what
    return fail


save = _no_archive("save")
load = _no_archive("load")


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """Decorator: leaves the function as it is."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn: Callable) -> Callable:
    """Decorator: leaves the function as it is."""
    return fn


def export(fn: Callable) -> Callable:
    """Decorator: leaves the function as it is."""
    return fn


def is_scripting() -> bool:
    """False: ember code always runs eagerly."""
    return False


def is_tracing() -> bool:
    """False: ember never traces."""
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    """Returns ``the_value`` (a type annotation for TorchScript only)."""
    return the_value


def freeze(mod: Any, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Any:
    """Returns ``mod`` unchanged (nothing to freeze: it runs eagerly)."""
    return mod


def optimize_for_inference(mod: Any, other_methods: Any = None) -> Any:
    """Returns ``mod`` unchanged (nothing to optimise: it runs eagerly)."""
    return mod


try:  # typing.Final is what torch.jit.Final is
    from typing import Final
except ImportError:  # pragma: no cover
    Final = Any  # type: ignore[assignment]


class ScriptModule:
    """A name for ``isinstance`` checks: no ember object is a ScriptModule."""


class ScriptFunction:
    """A name for ``isinstance`` checks: no ember object is a ScriptFunction."""


class Error(RuntimeError):
    """TorchScript's error type (ember never raises it)."""

    pass
