"""Tracing: run the model once with ember's entry points wrapped, recording ONNX nodes.

While an export runs (and only then), the Tensor methods, the ``ember.*`` and
``ember.nn.functional.*`` functions and ``Module.__call__`` are replaced by wrappers; they are
put back when the export ends, so nothing costs anything outside an export. A wrapper called
at the outermost level with a traced tensor among its arguments runs the real function (with
tracing paused inside it, so a layer records one node, not its internals), then asks the
op table for the ONNX nodes of that call. A call the table does not know raises
``UnsupportedOperatorError`` naming it: nothing is silently baked into the graph.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ._graph import Graph, UnsupportedOperatorError

# the translation tables, filled by _ops_tensor, _ops_modules and _ops_rnn
OPS: dict[str, Callable] = {}
MODULES: dict[type, Callable] = {}
# ember modules that are only containers of other modules: traced through
PASS_THROUGH: set[type] = set()

# methods that change their tensor in place without returning it
_MUTATING = {"__setitem__", "copy_", "set_"}
# Tensor attributes never wrapped (object plumbing, not operations)
_SKIP = {
    "__init__",
    "__new__",
    "__getattribute__",
    "__getattr__",
    "__setattr__",
    "__delattr__",
    "__class__",
    "__dict__",
    "__weakref__",
    "__slots__",
    "__repr__",
    "__str__",
    "__format__",
    "__hash__",
    "__reduce__",
    "__reduce_ex__",
    "__deepcopy__",
    "__copy__",
    "__sizeof__",
    "__init_subclass__",
    "__subclasshook__",
    "__dir__",
    "__torch_function__",
    "__array__",
    "__array_priority__",
    "__instancecheck__",
    "register_hook",
    "requires_grad_",
    "retain_grad",
    "backward",
    "numpy",
    "tolist",
    "item",
    "size",
    "dim",
    "numel",
    "data_ptr",
    "stride",
    "is_contiguous",
    "element_size",
    "__len__",
    "__bool__",
    "__index__",
    "__int__",
    "__float__",
    "__iter__",
}


class Tracer:
    """The export in progress: its graph and how deep inside a translated call we are."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.depth = 0


ACTIVE: list[Tracer] = []


def _tensors(obj: Any) -> list:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _bind(g: Graph, out: Any, names: Any) -> None:
    if isinstance(out, Tensor):
        g.bind(out, names if isinstance(names, str) else names[0])
        return
    outs = _tensors(out)
    names = [names] if isinstance(names, str) else list(names)
    if len(outs) != len(names):
        raise RuntimeError(f"internal: {len(outs)} outputs but {len(names)} ONNX values")
    for t, n in zip(outs, names):
        g.bind(t, n)


def _call(tr: Tracer, fn: Callable, args: tuple, kwargs: dict) -> Any:
    tr.depth += 1
    try:
        return fn(*args, **kwargs)
    finally:
        tr.depth -= 1


def _wrap(key: str, label: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tr = ACTIVE[-1] if ACTIVE else None
        if tr is None or tr.depth or not any(map(tr.graph.traced, _tensors((args, kwargs)))):
            return fn(*args, **kwargs)
        out = _call(tr, fn, args, kwargs)
        handler = OPS.get(key)
        if handler is None:
            if not _tensors(out) and key not in _MUTATING and not key.endswith("_"):
                return out  # a query (shape, dtype, a Python number): nothing to record
            raise UnsupportedOperatorError(
                f"ember.onnx.export: the operator '{label}' has no ONNX translation"
            )
        tr.graph.current = f"'{label}'"
        _bind(tr.graph, out, handler(tr.graph, out, *args, **kwargs))
        return out

    wrapper._ember_onnx_original = fn  # type: ignore[attr-defined]
    return wrapper


def _module_call(original: Callable) -> Callable:
    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        tr = ACTIVE[-1] if ACTIVE else None
        if tr is None or tr.depth or not any(map(tr.graph.traced, _tensors((args, kwargs)))):
            return original(self, *args, **kwargs)
        handler = MODULES.get(type(self))
        if handler is None:
            cls = type(self)
            if cls.__module__.startswith("ember.") and cls not in PASS_THROUGH:
                raise UnsupportedOperatorError(
                    f"ember.onnx.export: the module 'ember.nn.{cls.__name__}' has no ONNX "
                    "translation"
                )
            return original(self, *args, **kwargs)  # the user's module: trace its forward
        out = _call(tr, original, (self, *args), kwargs)
        tr.graph.current = f"the module '{type(self).__name__}'"
        _bind(tr.graph, out, handler(tr.graph, self, out, *args, **kwargs))
        return out

    return __call__


def _patch_namespace(ns: Any, where: str, prefix: str, saved: list) -> None:
    for name, fn in list(vars(ns).items()):
        if name.startswith("_") or not isinstance(
            fn, (types.FunctionType, types.BuiltinFunctionType)
        ):
            continue
        saved.append((ns, name, fn))
        setattr(ns, name, _wrap(prefix + name, where + name, fn))


def _patch_tensor(saved: list) -> None:
    for name, fn in list(vars(Tensor).items()):
        if name in _SKIP or (name.startswith("_") and not name.startswith("__")):
            continue
        if isinstance(fn, property) and fn.fget is not None:
            # x.T, x.mT...: a property returning a tensor is an operation too
            saved.append((Tensor, name, fn))
            getter = _wrap(name, "Tensor." + name, fn.fget)
            setattr(Tensor, name, property(getter, fn.fset, fn.fdel, fn.__doc__))
            continue
        if not callable(fn) or isinstance(fn, (type, staticmethod, classmethod)):
            continue
        saved.append((Tensor, name, fn))
        setattr(Tensor, name, _wrap(name, "Tensor." + name, fn))


def patch() -> list:
    """Install the wrappers; returns what ``unpatch`` puts back."""
    import ember
    from ember.nn import functional as F
    from ember.nn.modules import _fastpath
    from ember.nn.modules.module import Module

    saved: list = []
    _patch_tensor(saved)
    _patch_namespace(ember, "ember.", "", saved)
    _patch_namespace(F, "ember.nn.functional.", "F.", saved)
    saved.append((Module, "__call__", Module.__call__))
    Module.__call__ = _module_call(Module.__call__)
    # Sequential's inference fast path runs its layers on raw arrays, past Module.__call__
    saved.append((_fastpath, "applies", _fastpath.applies))
    _fastpath.applies = _never
    return saved


def _never(input: Any) -> bool:
    return False


def unpatch(saved: list) -> None:
    """Put every original back."""
    for owner, name, fn in reversed(saved):
        setattr(owner, name, fn)
