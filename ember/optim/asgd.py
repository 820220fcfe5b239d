"""ASGD: averaged stochastic gradient descent (Polyak-Ruppert averaging of the iterates)."""

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
    _scalar_dtype,
    _step_tensor,
    add_scaled_,
    preprocess_grad,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD, as ``torch.optim.ASGD``.

    At step :math:`t` (``eta`` starts at ``lr``, ``mu`` at 1)::

        g = g + weight_decay * theta                (if weight_decay != 0)
        theta = theta * (1 - lambd * eta) - eta * g
        ax = ax + mu * (theta - ax)                 (the running average, in state['ax'])
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    The averaged parameters are ``optimizer.state[p]['ax']``; averaging starts after ``t0`` steps.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.tensor([1.0]))
    >>> opt = ember.optim.ASGD([w], lr=0.1, t0=0)
    >>> w.grad = ember.tensor([1.0])
    >>> opt.step()
    >>> round(opt.state[w]["ax"].item(), 5)
    0.89999
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _refuse_differentiable(differentiable)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["eta"] = _wrap(np.array(float(group["lr"]), dtype=_scalar_dtype()))
        state["mu"] = _wrap(np.ones((), dtype=_scalar_dtype()))
        state["ax"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        g = preprocess_grad(p, g, group)
        lr, lambd = float(group["lr"]), group["lambd"]
        eta = state["eta"]._data
        mu = state["mu"]._data
        ax = state["ax"]._data
        eta_value = float(eta)
        p *= 1 - lambd * eta_value
        add_scaled_(p, g, -eta_value)
        if float(mu) != 1:
            d = np.subtract(p, ax)
            d *= mu.astype(p.dtype)
            ax += d
        else:
            ax[...] = p
        eta[...] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        mu[...] = 1 / max(1, step - group["t0"])
