"""The second trace: refuse a graph that would freeze a value depending on the inputs.

The tracer only sees calls that go through the wrapped entry points. A function captured
before the export (``self.act = F.relu``, ``from ember.nn.functional import relu`` at a
module's top) runs unwrapped, so its input-dependent result reaches the graph as a constant:
the file would silently compute something else. So the model is traced a second time on
inputs of the same shapes and dtypes but other values; a constant (or node) that differs
between the two traces depends on the inputs without being traced, and the export fails
naming the operation that consumed it. Constants that do not depend on the inputs (a fixed
``arange``, a mask built from parameters, random draws: the RNG is replayed) are equal in
both traces and stay allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ._graph import ExportError, Graph


def _perturb(obj: Any, ints: bool, memo: dict | None = None) -> Any:
    """``obj`` with every floating tensor moved (x * 0.75 + 0.125: keeps (0, 1) inside (0, 1),
    positive values positive) and, when ``ints``, every integer tensor's values reversed
    (the same values, so indices stay in range). A tensor passed twice stays one tensor
    (``mha(x, x, x)`` takes the self-attention path in both traces)."""
    memo = {} if memo is None else memo
    if isinstance(obj, Tensor):
        if id(obj) not in memo:
            memo[id(obj)] = _moved(obj.detach(), ints)
        return memo[id(obj)]
    if isinstance(obj, (tuple, list)):
        return type(obj)(_perturb(o, ints, memo) for o in obj)
    if isinstance(obj, dict):
        return {k: _perturb(v, ints, memo) for k, v in obj.items()}
    return obj


def _moved(t: Tensor, ints: bool) -> Tensor:
    if t.is_floating_point():
        return t * 0.75 + 0.125
    if ints and t.dtype != _bool() and t.ndim:
        return t.flatten().flip(0).reshape(t.shape)
    return t


def _bool() -> Any:
    import ember

    return ember.bool


def _first_difference(a: Graph, b: Graph) -> str | None:
    """The operation that made the first node or constant differing between two traces."""
    for (label, x), (_, y) in zip(a.record, b.record):
        if x != y:
            return label
    if len(a.record) != len(b.record):
        n = min(len(a.record), len(b.record))
        longer = a.record if len(a.record) > n else b.record
        return longer[n][0]
    return None


def check_inputs_traced(first: Graph, retrace: Callable, args: tuple, kwargs: dict) -> None:
    """Trace again on perturbed inputs (``retrace(args, kwargs)`` returns the graph); raise
    ``ExportError`` when the two graphs differ."""
    try:
        second = retrace(*_perturb((args, kwargs), ints=True))
    except Exception:  # reversed integers may be invalid (sorted lengths...): keep them
        second = retrace(*_perturb((args, kwargs), ints=False))
    label = _first_difference(first, second)
    if label is None:
        return
    raise ExportError(
        f"ember.onnx.export: {label} consumed a value that depends on the model's inputs but "
        "was not traced, so it would be frozen as a constant in the ONNX file. A function "
        "captured before the export (e.g. 'self.act = F.relu', or 'from "
        "ember.nn.functional import relu' at the top of a module) bypasses the tracer: call "
        "it through its module at forward time ('F.relu(x)', 'torch.relu(x)') or store a "
        "layer ('nn.ReLU()'). Python control flow on tensor values, '.item()' or "
        "'.numpy()' in the forward have the same effect."
    )
