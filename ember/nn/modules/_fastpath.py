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
from ...ops._parallel import MIN_GEMM, unary_into
from ...ops.linalg import _BLAS_THREADS_FROM, _gemm_rows
from . import _hooks as H
from .activation import ReLU, Sigmoid, Tanh
from .dropout import Dropout
from .linear import Identity, Linear

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


def _plain(d: dict) -> bool:
    """No hooks of its own and the class's own ``forward`` (not one set on the instance), from
    the module's instance dict (Module defines ``__getattr__``, which makes CPython's attribute
    reads on modules ~3x slower than dict lookups). A dict without the hook entries (a module
    whose ``Module.__init__`` never ran) is not plain: the normal call reports it."""
    try:
        return not (
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d["_backward_hooks"]
            or d["_backward_pre_hooks"]
            or "forward" in d
        )
    except KeyError:
        return False


def _linear(params: dict, x: np.ndarray, one: bool) -> tuple | None:
    """``Linear``'s fused forward on ``x`` with the layer's ``params``: ``(out, one)``, ``out`` a
    new array; or None when the normal path must run (a weight or bias that would record a
    graph, or anything its fast branch does not take). ``one``: ``x`` is the row of a one-row
    input, 1-D (see :func:`run`); so is ``out`` while the returned ``one`` is True."""
    w, b = params.get("weight"), params.get("bias")
    if not isinstance(w, Tensor) or (b is not None and not isinstance(b, Tensor)):
        return None
    if STATE.enabled and (w._rg or (b is not None and b._rg)):
        return None
    wd = w._data
    dt, ws, xs = wd.dtype, wd.shape, x.shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1] or x.dtype != dt:
        return None
    bd = None
    if b is not None:
        bd = b._data
        if bd.shape != ws[:1] or bd.dtype != dt:
            return None
    # What ops.linalg.Linear.forward computes, step for step: _gemm_rows, whose plain `x @ w`
    # for a small 2-D input (below the sizes where _gemm splits the product or sets BLAS threads)
    # is inlined; a row's product is the same BLAS call whether the row is 1-D or (1, k).
    rows = 1 if one else xs[0] if len(xs) == 2 else -1
    if rows < 0 or rows * ws[0] * ws[1] >= _INLINE_MACS:
        out = _gemm_rows(x.reshape(1, -1) if one else x, wd.T)
        one = False
    else:
        out = x @ wd.T
    if bd is not None:
        out += bd
    return out, one


def _relu_inplace(a: np.ndarray) -> None:
    if a.nbytes >= SCRATCH_MIN_BYTES:
        unary_into(U._max0, a, a)  # in per-core chunks, as the normal path fills its output
        return
    # max(zeros, a) as the normal path's kernel (zeros first: -0. stays -0.); a row against a
    # slice of the shared zeros (no _zeros_for reshape).
    z = _ZEROS.get(a.dtype)
    if a.ndim == 1 and z is not None and z.size >= a.size:
        np.maximum(z[: a.size], a, out=a)
    else:
        np.maximum(U._zeros_for(a), a, out=a)


_ZEROS = U._zeros  # the shared read-only zeros of ops.unary, by dtype
# Multiply-adds below which _gemm_rows is one plain matmul (no scratch output: 2**18 * 4 bytes
# is SCRATCH_MIN_BYTES of float32 at one column; no split, no BLAS thread policy).
_INLINE_MACS = min(_BLAS_THREADS_FROM, MIN_GEMM)


# Activations applied to a float array the chain owns: the primitive their normal path runs.
_ACTIVATIONS: dict[type, Any] = {Tanh: U.Tanh, Sigmoid: U.Sigmoid}
# The layers run here (when plain): everything else is called normally.
_KNOWN = frozenset((Linear, ReLU, Tanh, Sigmoid, Identity, Dropout))


def _is_noop(kind: type, d: dict) -> bool:
    """``Identity``, and ``Dropout`` in eval mode with a valid ``p``: the input as is."""
    if kind is Identity:
        return True
    p = d.get("p")
    return (
        kind is Dropout
        and d.get("training") is False
        and isinstance(p, (int, float))
        and 0.0 <= p <= 1.0
    )


def run(modules: Any, input: Tensor) -> Any:
    """``input`` through ``modules`` in turn, as ``Sequential.forward`` does (see the module
    docstring). Call only when :func:`applies` holds."""
    t: Any = input  # the current value as a Tensor (None while it lives only as an array)
    a: np.ndarray | None = None  # the current value as an array this chain made and owns
    one = False  # a is 1-D, the row of a (1, n) value
    for i, m in enumerate(modules):
        kind = type(m)
        if kind in _KNOWN:
            d = m.__dict__
            if _plain(d):
                if kind is Linear:
                    x = t._data if a is None else a
                    # A (1, k) value runs as its row: ufuncs take NumPy's trivial loop on
                    # operands of one shape, where a (1, n) array with an (n,) bias or zeros
                    # sets up a broadcasting iterator (bias += on 256 floats: ~1 against ~2.5 us).
                    row = one or (x.ndim == 2 and x.shape[0] == 1)
                    res = _linear(d["_parameters"], x if one or not row else x[0], row)
                    if res is not None:
                        (a, one), t = res, None
                        continue
                elif a is not None:
                    if kind is ReLU:
                        if a.dtype.kind == "f":
                            _relu_inplace(a)  # over a Linear output nobody else holds
                            continue
                    elif kind in _ACTIVATIONS:
                        if a.dtype.kind == "f":
                            a = _ACTIVATIONS[kind].forward(NO_CTX, a)
                            continue
                    elif _is_noop(kind, d):
                        continue
        if a is not None:
            t, a = _wrap(a.reshape(1, -1) if one else a), None
            one = False
        t = m(t)
        if type(t) is not Tensor or (STATE.enabled and t._rg):
            # A graph is being recorded, or the value is no longer a plain Tensor: the rest of
            # the chain runs the normal way.
            for rest in list(modules)[i + 1 :]:
                t = rest(t)
            return t
    if a is None:
        return t
    return _wrap(a.reshape(1, -1) if one else a)
