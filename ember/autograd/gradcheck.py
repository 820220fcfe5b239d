"""Finite-difference gradient checks in float64, as ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor as _Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when an analytical gradient disagrees with finite differences."""


def _tensors_in(inputs: Any) -> list:
    return [t for t in inputs if isinstance(t, _Tensor)]


def gradcheck(
    func: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    fast_mode: bool = False,
    **_: Any,
) -> bool:
    """Compare ``func``'s backward with central differences for every input requiring grad.

    Every output's every element is differentiated (one backward per output element), and every
    input element perturbed by ``eps``. Inputs should be float64.
    """
    from .. import _tensor
    from .grad_mode import no_grad

    if isinstance(inputs, _Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [t for t in _tensors_in(inputs) if t._rg]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for t in diff:
        if t._data.dtype != np.float64:
            import warnings

            warnings.warn(
                f"Input #{[id(a) for a in inputs].index(id(t))} requires gradient and is not a "
                "double precision floating point. gradcheck should be run on double precision "
                "inputs.",
                UserWarning,
                stacklevel=2,
            )

    def outputs_of() -> list:
        out = func(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o for o in outs if isinstance(o, _Tensor)]

    with no_grad():
        base = [o._data.copy() for o in outputs_of()]
    # numerical Jacobians: J[o][i] has shape (out.size, inp.size)
    numerical = [[np.zeros((b.size, t._data.size)) for t in diff] for b in base]
    for i, t in enumerate(diff):
        flat = t._data.reshape(-1) if t._data.flags.c_contiguous else None
        if flat is None:
            raise ValueError("gradcheck needs contiguous inputs")
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            with no_grad():
                plus = [o._data.astype(np.float64) for o in outputs_of()]
            flat[k] = orig - eps
            with no_grad():
                minus = [o._data.astype(np.float64) for o in outputs_of()]
            flat[k] = orig
            for o in range(len(base)):
                numerical[o][i][:, k] = ((plus[o] - minus[o]) / (2 * eps)).reshape(-1)
    analytical = [[np.zeros((b.size, t._data.size)) for t in diff] for b in base]
    outs = outputs_of()
    for o, out in enumerate(outs):
        if not out._rg:
            continue
        for k in range(out._data.size):
            g = np.zeros(out._data.shape, out._data.dtype)
            g.reshape(-1)[k] = 1
            from . import grad as _grad

            gs = _grad(out, diff, _tensor._wrap(g), retain_graph=True, allow_unused=True)
            for i, gi in enumerate(gs):
                if gi is not None:
                    analytical[o][i][k, :] = gi._data.reshape(-1)
    for o in range(len(base)):
        for i in range(len(diff)):
            a, n = analytical[o][i], numerical[o][i]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {o} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the function that maps the inputs and the
    output gradients to ``autograd.grad(func(inputs), inputs, grad_outputs, create_graph=True)``.

    Without ``grad_outputs``, random ones (fixed seed, requiring grad) are used, as PyTorch does.
    """
    from .. import _tensor
    from . import grad as _grad
    from .grad_mode import enable_grad

    if isinstance(inputs, _Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    if grad_outputs is None:
        outs = func(*inputs)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            _tensor._wrap(rng.uniform(-1, 1, o.shape).astype(o._data.dtype)).requires_grad_()
            for o in outs
            if isinstance(o, _Tensor) and o._rg
        )
    elif isinstance(grad_outputs, _Tensor):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    n = len(inputs)

    def first_derivatives(*args: Any) -> tuple:
        with enable_grad():  # gradcheck evaluates under no_grad; these need a graph
            outs = func(*args[:n])
            outs = outs if isinstance(outs, (tuple, list)) else (outs,)
            outs = [o for o in outs if isinstance(o, _Tensor) and o._rg]
            ins = [a for a in args[:n] if isinstance(a, _Tensor) and a._rg]
            gs = _grad(outs, ins, args[n:], create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(
        first_derivatives,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
    )
