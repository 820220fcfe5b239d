"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import engine, function
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "once_differentiable",
    "Variable",
    "detect_anomaly",
    "set_detect_anomaly",
]


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _make_grads(outputs: tuple, grad_outputs: tuple, create_graph: bool = False) -> list:
    """The root gradients: arrays, or Tensors under ``create_graph`` (a given gradient that
    requires grad then keeps its graph, so the result can be differentiated through it)."""
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        arr = _grad_array(i, out, g)
        if not create_graph:
            grads.append(arr)
        elif isinstance(g, function.Tensor) and g._rg and arr is g._data:
            grads.append(g)
        else:
            grads.append(function._wrap(arr))
    return grads


def _grad_array(i: int, out: Any, g: Any) -> np.ndarray:
    if g is None:
        if out._rg and out._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if not (out.dtype.is_floating_point or out.dtype.is_complex):
            raise RuntimeError(
                f"grad can be implicitly created only for real scalar outputs but got {out.dtype}"
            )
        return np.ones(out._data.shape, out._data.dtype)
    arr = g._data if isinstance(g, function.Tensor) else np.asarray(g, dtype=out._data.dtype)
    if arr.shape != out._data.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {_size(arr.shape)} and "
            f"output[{i}] has a shape of {_size(out._data.shape)}."
        )
    if arr.dtype != out._data.dtype:
        arr = arr.astype(out._data.dtype)
    return arr


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _check_requires_grad(outputs: tuple) -> None:
    for i, o in enumerate(outputs):
        if not o._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


_CYCLE_WARNED = False


def _warn_grad_cycle() -> None:
    """PyTorch's one-time warning for ``backward(create_graph=True)``."""
    global _CYCLE_WARNED
    if not _CYCLE_WARNED:
        _CYCLE_WARNED = True
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.",
            UserWarning,
            stacklevel=3,
        )


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    With ``create_graph`` the backward pass is recorded: the ``.grad`` it leaves can be
    differentiated again (``retain_graph`` then defaults to True).
    """
    outputs = _as_tuple(tensors)
    _check_requires_grad(outputs)
    grads = _make_grads(outputs, _as_tuple(grad_tensors), create_graph)
    ins = _as_tuple(inputs) or None
    if create_graph:
        _warn_grad_cycle()
    retain = create_graph if retain_graph is None else retain_graph
    sink = engine.AccumulateSink(grads, ins, create_graph)
    engine.run_backward(list(outputs), grads, bool(retain), sink, create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    With ``create_graph`` they carry a graph and can be differentiated again (to any order).
    """
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    _check_requires_grad(outs)
    for t in ins:
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outs, _as_tuple(grad_outputs), create_graph)
    sink = engine.CaptureSink(ins)
    retain = create_graph if retain_graph is None else retain_graph
    engine.run_backward(list(outs), grads, bool(retain), sink, create_graph)
    res = sink.result()
    from .function import _wrap

    result = []
    for t, g in zip(ins, res):
        if g is None:
            if materialize_grads:
                g = np.zeros_like(t._data)
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            else:
                result.append(None)
                continue
        result.append(g if isinstance(g, function.Tensor) else _wrap(g))
    return tuple(result)


def __getattr__(name: str) -> Any:
    # ``autograd.functional`` loads on first use (it is not needed by a plain backward pass).
    if name == "functional":
        import importlib

        return importlib.import_module(".functional", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
