"""The inference fast path of ``Sequential``: a chain of common layers run on raw arrays.

At batch 1 the arithmetic of a small MLP takes less time than calling its modules: each call
checks hooks, each op checks its arguments and wraps its result in a Tensor (measured: ~22 of
51 us for 784-256-256-10). When no graph would be recorded, nothing can observe the intermediate
Tensors, so ``Sequential.forward`` hands its layers to :func:`run`, which feeds arrays straight
through the layers it knows (``Linear``, ``ReLU``, ``Tanh``, ``Sigmoid``, ``Identity``, eval-mode
``Dropout``) with exactly the kernels their normal path runs, applying the activations in place
on the Linear outputs it owns, and wraps only the final result.

Any layer it does not know, or one with hooks or a replaced ``forward``, or an input the normal
path would refuse, is called normally on a Tensor, and the chain continues from its result: the
results, the errors and the returned objects are those of the normal path (the tests compare them
bit for bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._scratch import SCRATCH_MIN_BYTES
from ..._tensor import Tensor, _wrap
from ...autograd.function import NO_CTX
from ...autograd.grad_mode import STATE
from ...ops import unary as U
from ...ops._parallel import unary_into
from ...ops.linalg import _gemm_rows
from . import _hooks as H
from .activation import ReLU, Sigmoid, Tanh
from .dropout import Dropout
from .linear import Identity, Linear
from .module import Module

__all__ = ["applies", "run"]


def applies(input: Any) -> bool:
    """Whether ``Sequential.forward`` may use :func:`run`: a plain Tensor that records no graph
    (grad mode off, or an input that does not require grad) and no global module hooks."""
    return (
        type(input) is Tensor
        and not (STATE.enabled and input._rg)
        and not (
            H._global_forward_pre_hooks
            or H._global_forward_hooks
            or H._global_backward_hooks
            or H._global_backward_pre_hooks
        )
    )


def _plain(m: Module) -> bool:
    """No hooks of its own and the class's own ``forward`` (not one set on the instance)."""
    return not (
        m._forward_pre_hooks
        or m._forward_hooks
        or m._backward_hooks
        or m._backward_pre_hooks
        or "forward" in m.__dict__
    )


def _linear(m: Module, x: np.ndarray) -> np.ndarray | None:
    """``Linear``'s fused forward on ``x`` (a new array), or None when the normal path must run:
    a weight or bias that would record a graph, or anything its fast branch does not take."""
    params = m._parameters
    w, b = params.get("weight"), params.get("bias")
    if not isinstance(w, Tensor) or (b is not None and not isinstance(b, Tensor)):
        return None
    if STATE.enabled and (w._rg or (b is not None and b._rg)):
        return None
    wd = w._data
    dt = wd.dtype
    if wd.ndim != 2 or x.ndim == 0 or x.shape[-1] != wd.shape[1] or x.dtype != dt:
        return None
    if b is None:
        return _gemm_rows(x, wd.T)
    bd = b._data
    if bd.shape != (wd.shape[0],) or bd.dtype != dt:
        return None
    # What ops.linalg.Linear.forward computes, step for step (a small 2-D input: _gemm_rows's first
    # case, inlined).
    if x.ndim == 2 and x.shape[0] * wd.shape[0] * dt.itemsize < SCRATCH_MIN_BYTES:
        out = x @ wd.T
    else:
        out = _gemm_rows(x, wd.T)
    out += bd
    return out


def _relu_inplace(a: np.ndarray) -> None:
    if a.nbytes < SCRATCH_MIN_BYTES:
        np.maximum(U._zeros_for(a), a, out=a, dtype=a.dtype)  # zeros first: -0. stays -0.
    else:
        unary_into(U._max0, a, a)  # in per-core chunks, as the normal path fills its output


# Activations applied to a float array the chain owns: the primitive their normal path runs.
_ACTIVATIONS: dict[type, Any] = {ReLU: U.Relu, Tanh: U.Tanh, Sigmoid: U.Sigmoid}


def _activation(m: Module, a: np.ndarray) -> np.ndarray:
    prim = _ACTIVATIONS[type(m)]
    if prim is U.Relu:
        _relu_inplace(a)  # max(a, 0) written over a Linear output nobody else holds
        return a
    return prim.forward(NO_CTX, a)


def _is_noop(m: Module) -> bool:
    """``Identity``, and ``Dropout`` in eval mode with a valid ``p``: the input as is."""
    t = type(m)
    return t is Identity or (t is Dropout and not m.training and 0.0 <= m.p <= 1.0)


def run(modules: Any, input: Tensor) -> Any:
    """``input`` through ``modules`` in turn, as ``Sequential.forward`` does (see the module
    docstring). Call only when :func:`applies` holds."""
    t: Any = input  # the current value as a Tensor (None while it lives only as an array)
    a: np.ndarray | None = None  # the current value as an array this chain made and owns
    for i, m in enumerate(modules):
        kind = type(m)
        if kind is Linear and _plain(m):
            out = _linear(m, t._data if a is None else a)
            if out is not None:
                a, t = out, None
                continue
        elif a is not None and _plain(m):
            if kind in _ACTIVATIONS and a.dtype.kind == "f":
                a = _activation(m, a)
                continue
            if _is_noop(m):
                continue
        if a is not None:
            t, a = _wrap(a), None
        t = m(t)
        if type(t) is not Tensor or (STATE.enabled and t._rg):
            # A graph is being recorded, or the value is no longer a plain Tensor: the rest of
            # the chain runs the normal way.
            for rest in list(modules)[i + 1 :]:
                t = rest(t)
            return t
    return _wrap(a) if a is not None else t
