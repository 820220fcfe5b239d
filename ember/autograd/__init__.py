"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import engine, function
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
]


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _make_grads(outputs: tuple, grad_outputs: tuple, is_grads_batched: bool = False) -> list:
    _Tensor = function.Tensor
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if g is None:
            if out._rg and out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not (out.dtype.is_floating_point or out.dtype.is_complex):
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            grads.append(np.ones(out._data.shape, out._data.dtype))
        else:
            if isinstance(g, _Tensor):
                arr = g._data
            else:
                arr = np.asarray(g, dtype=out._data.dtype)
            if arr.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {_size(arr.shape)} and "
                    f"output[{i}] has a shape of {_size(out._data.shape)}."
                )
            if arr.dtype != out._data.dtype:
                arr = arr.astype(out._data.dtype)
            grads.append(arr)
    return grads


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _check_requires_grad(outputs: tuple) -> None:
    for i, o in enumerate(outputs):
        if not o._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


def _check_create_graph(create_graph: bool) -> None:
    if create_graph:
        raise NotImplementedError(
            "create_graph=True (higher-order gradients) is not supported by ember yet"
        )


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    _check_create_graph(create_graph)
    outputs = _as_tuple(tensors)
    _check_requires_grad(outputs)
    grads = _make_grads(outputs, _as_tuple(grad_tensors))
    ins = _as_tuple(inputs) or None
    engine.run_backward(list(outputs), grads, bool(retain_graph), engine.AccumulateSink(grads, ins))


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
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    _check_create_graph(create_graph)
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    _check_requires_grad(outs)
    for t in ins:
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outs, _as_tuple(grad_outputs))
    sink = engine.CaptureSink(ins)
    engine.run_backward(list(outs), grads, bool(retain_graph), sink)
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
        result.append(_wrap(g))
    return tuple(result)
