"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .adam import _check_adam_args
from .optimizer import (
    Optimizer,
    _check_lr,
    _next_step,
    _refuse_differentiable,
    _step_tensor,
    addcdiv_,
    lerp_,
    preprocess_grad,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, as ``torch.optim.Adamax``.

    At step :math:`t`, for each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``)::

        g = g + weight_decay * theta                (if weight_decay != 0)
        m = m + (1 - beta1) * (g - m)
        u = max(beta2 * u, |g| + eps)
        theta = theta - lr / (1 - beta1 ** t) * m / u

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and of the infinity norm.
        eps: added to |g| (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> opt = ember.optim.Adamax([w])
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _refuse_differentiable(differentiable)
        betas = _check_adam_args(eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _wrap(np.zeros_like(p._data))
        state["exp_inf"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        g = preprocess_grad(p, g, group)
        beta1, beta2 = group["betas"]
        m = state["exp_avg"]._data
        u = state["exp_inf"]._data
        lerp_(m, g, 1 - beta1)
        u *= beta2
        a = np.abs(g)
        a += group["eps"]
        np.maximum(u, a, out=u)
        clr = float(group["lr"]) / (1 - beta1**step)
        addcdiv_(p, m, u, -clr)
