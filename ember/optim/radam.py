"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .adam import _adam_grad, _check_adam_args, _update_moments
from .optimizer import (
    Optimizer,
    _check_lr,
    _next_step,
    _refuse_differentiable,
    _step_tensor,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, as ``torch.optim.RAdam``.

    At step :math:`t`, for each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``)::

        theta = theta * (1 - lr * weight_decay)     (decoupled_weight_decay)
        g = g + weight_decay * theta                (otherwise, if weight_decay != 0)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta = theta - lr * m_hat * sqrt(1 - beta2 ** t) / (sqrt(v) + eps) * r
        else:
            theta = theta - lr * m_hat

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: decay weights directly, as AdamW (RAdamW).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> opt = ember.optim.RAdam([w], lr=0.01)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _refuse_differentiable(differentiable)
        betas = _check_adam_args(eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _wrap(np.zeros_like(p._data))
        state["exp_avg_sq"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        g = _adam_grad(p, g, group, lr)
        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        _update_moments(m, v, g, beta1, beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        update = np.divide(m, bias_correction1)
        update *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            # PyTorch evaluates `scalar / tensor` as `tensor.reciprocal() * scalar`.
            adaptive = np.sqrt(v)
            adaptive += group["eps"]
            np.reciprocal(adaptive, out=adaptive)
            adaptive *= bias_correction2**0.5
            update *= adaptive
            update *= rect
        p -= update
