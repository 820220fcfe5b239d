"""RMSprop, plain or centered, with optional momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .optimizer import (
    Optimizer,
    _check,
    _check_lr,
    _refuse_differentiable,
    _step_tensor,
    add_scaled_,
    addcdiv_,
    addcmul_,
    lerp_,
    preprocess_grad,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``)::

        g = g + weight_decay * theta                    (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v) + eps
        avg = sqrt(v - g_avg * g_avg) + eps,            (centered, with g_avg = lerp(g_avg, g,
                                                         1 - alpha))
        b = momentum * b + g / avg; theta = theta - lr * b    (momentum > 0)
        theta = theta - lr * g / avg                           (otherwise)

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: denominator term (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance.
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> opt = ember.optim.RMSprop([w], lr=0.01, momentum=0.9, centered=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _refuse_differentiable(differentiable)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["square_avg"] = _wrap(np.zeros_like(p._data))
        if group["momentum"] > 0:
            state["momentum_buffer"] = _wrap(np.zeros_like(p._data))
        if group["centered"]:
            state["grad_avg"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        state["step"]._data += 1
        g = preprocess_grad(p, g, group)
        alpha = group["alpha"]
        lr = float(group["lr"])
        v = state["square_avg"]._data
        v *= alpha
        addcmul_(v, g, g, 1 - alpha)
        if group["centered"]:
            g_avg = state["grad_avg"]._data
            lerp_(g_avg, g, 1 - alpha)
            avg = np.copy(v)
            addcmul_(avg, g_avg, g_avg, -1)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(v)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._data
            buf *= group["momentum"]
            addcdiv_(buf, g, avg, 1)
            add_scaled_(p, buf, -lr)
        else:
            addcdiv_(p, g, avg, -lr)
