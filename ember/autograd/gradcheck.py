"""Finite-difference gradient checks in float64, as ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when an analytical gradient disagrees with finite differences."""


def _tensors_in(inputs: Any) -> list:
    from .function import Tensor as _Tensor

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
    from .function import Tensor as _Tensor
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
                f"Input #{inputs.index(t)} requires gradient and is not a double precision "
                "floating point. gradcheck should be run on double precision inputs.",
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


def gradgradcheck(*args: Any, **kwargs: Any) -> bool:
    raise NotImplementedError("gradgradcheck needs create_graph=True, which ember lacks yet")
