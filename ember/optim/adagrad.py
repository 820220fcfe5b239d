"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

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
    preprocess_grad,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    At step :math:`t`, for each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``)::

        g = g + weight_decay * theta                (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                               (s starts at initial_accumulator_value)
        theta = theta - clr * g / (sqrt(s) + eps)

    Unlike the other optimizers the state is created for every parameter at construction, as in
    PyTorch.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: denominator term (default 1e-10).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> sorted(ember.optim.Adagrad([w]).state_dict()["state"][0])
    ['step', 'sum']
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        _refuse_differentiable(differentiable)
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(
            0.0 <= initial_accumulator_value,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
        )
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._fill(p, self.state[p], initial_accumulator_value)

    @staticmethod
    def _fill(p: Tensor, state: dict, value: float) -> None:
        state["step"] = _step_tensor()
        state["sum"] = _wrap(np.full_like(p._data, value))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        # Groups added later are filled lazily from the constructor's default, as PyTorch does.
        self._fill(p, state, self.defaults["initial_accumulator_value"])

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        g = preprocess_grad(p, g, group)
        clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]._data
        addcmul_(s, g, g, 1)
        std = np.sqrt(s)
        std += group["eps"]
        addcdiv_(p, g, std, -clr)
