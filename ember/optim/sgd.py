"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import _wrap
from .optimizer import (
    Optimizer,
    _check,
    _check_lr,
    _refuse_differentiable,
    add_scaled_,
    added,
    preprocess_grad,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``)::

        g = g + weight_decay * theta                      (if weight_decay != 0)
        b = g                                             (first step)
        b = momentum * b + (1 - dampening) * g            (later steps; if momentum != 0)
        g = g + momentum * b  if nesterov  else  g = b    (if momentum != 0)
        theta = theta - lr * g

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.tensor([1.0, -2.0]))
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = ember.tensor([1.0, 1.0])
    >>> opt.step()
    >>> w.detach()
    tensor([ 0.9000, -2.1000])
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        _refuse_differentiable(differentiable)
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _uses_state(self, group: dict) -> bool:
        return group["momentum"] != 0

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        g = preprocess_grad(p, g, group)
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                b = np.copy(g)
                state["momentum_buffer"] = _wrap(b)
            else:
                b = buf._data
                b *= momentum
                add_scaled_(b, g, 1 - group["dampening"])
            g = added(g, b, momentum) if group["nesterov"] else b
        add_scaled_(p, g, -float(group["lr"]))
