"""Adam (and AMSGrad), with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .optimizer import (
    Optimizer,
    _check,
    _check_lr,
    _next_step,
    _refuse_differentiable,
    _step_tensor,
    addcdiv_,
    addcmul_,
    lerp_,
    preprocess_grad,
)

__all__ = ["Adam"]


def _check_betas(betas: tuple) -> tuple:
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    return tuple(float(b) if isinstance(b, Tensor) else b for b in betas)


def _check_adam_args(eps: float, betas: tuple, weight_decay: float) -> tuple:
    """The Adam family's shared checks of ``eps``, ``betas`` and ``weight_decay``; the betas."""
    _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
    betas = _check_betas(betas)
    _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
    return betas


def _adam_grad(p: np.ndarray, g: np.ndarray, group: dict, lr: float) -> np.ndarray:
    """The gradient after ``maximize`` and weight decay: decoupled (shrinks ``p`` in place,
    as AdamW) when ``group["decoupled_weight_decay"]``, else coupled L2 (``g + wd p``)."""
    decoupled = group["decoupled_weight_decay"]
    wd = group["weight_decay"]
    if decoupled and wd != 0:
        p *= 1 - lr * wd
    return preprocess_grad(p, g, group, coupled_decay=not decoupled)


def _update_moments(
    m: np.ndarray, v: np.ndarray, g: np.ndarray, beta1: float, beta2: float
) -> None:
    """Adam's moments in place: ``m.lerp_(g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``."""
    lerp_(m, g, 1 - beta1)
    v *= beta2
    addcmul_(v, g, g, 1 - beta2)


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam``.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``), at
    step :math:`t`::

        theta = theta * (1 - lr * weight_decay)     (decoupled_weight_decay)
        g = g + weight_decay * theta                (otherwise, if weight_decay != 0)
        m = m + (1 - beta1) * (g - m)               (first moment, a lerp)
        v = beta2 * v + (1 - beta2) * g * g         (second moment)
        v_max = max(v_max, v)                       (amsgrad; v_max replaces v below)
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        theta = theta - lr / (1 - beta1 ** t) * m / denom

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square.
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (L2 penalty unless ``decoupled_weight_decay``).
        amsgrad: use the AMSGrad variant (running maximum of the second moment).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly, as AdamW.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> w.grad = ember.tensor([5.0])
    >>> opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_lr(lr)
        betas = _check_adam_args(eps, betas, weight_decay)
        _refuse_differentiable(differentiable)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _wrap(np.zeros_like(p._data))
        state["exp_avg_sq"] = _wrap(np.zeros_like(p._data))
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        g = _adam_grad(p, g, group, lr)
        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        _update_moments(m, v, g, beta1, beta2)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]._data
            np.maximum(vmax, v, out=vmax)
            denom = np.sqrt(vmax)
        else:
            denom = np.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += group["eps"]
        addcdiv_(p, m, denom, -step_size)
