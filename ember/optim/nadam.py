"""NAdam: Adam with Nesterov momentum (and its momentum-decay schedule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .adam import _adam_grad, _check_adam_args, _update_moments
from .optimizer import (
    Optimizer,
    _check,
    _check_lr,
    _next_step,
    _refuse_differentiable,
    _scalar_dtype,
    _step_tensor,
    addcdiv_,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, as ``torch.optim.NAdam``.

    At step :math:`t`, for each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``)::

        theta = theta * (1 - lr * weight_decay)     (decoupled_weight_decay)
        g = g + weight_decay * theta                (otherwise, if weight_decay != 0)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_{t+1} = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        P_t = P_{t-1} * mu_t                        (mu_product, kept in float32 as PyTorch)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2 ** t)) + eps
        theta = theta - lr (1 - mu_t) / (1 - P_t) * g / denom
                      - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / denom

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: momentum decay psi (default 4e-3).
        decoupled_weight_decay: decay weights directly, as AdamW (NAdamW).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> opt = ember.optim.NAdam([w], decoupled_weight_decay=True, weight_decay=0.01)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
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
        _check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["mu_product"] = _wrap(np.array(1.0, dtype=_scalar_dtype()))
        state["exp_avg"] = _wrap(np.zeros_like(p._data))
        state["exp_avg_sq"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        psi = group["momentum_decay"]
        g = _adam_grad(p, g, group, lr)
        bias_correction2 = 1 - beta2**step
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        mu_arr = state["mu_product"]._data
        mu_arr *= mu
        mu_product = float(mu_arr)
        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        _update_moments(m, v, g, beta1, beta2)
        denom = np.divide(v, bias_correction2)
        np.sqrt(denom, out=denom)
        denom += group["eps"]
        mu_product_next = mu_product * mu_next
        addcdiv_(p, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
        addcdiv_(p, m, denom, (-lr * mu_next) / (1.0 - mu_product_next))
