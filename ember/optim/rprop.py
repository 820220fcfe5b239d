"""Rprop: resilient backpropagation, a per-element step size driven by the gradient's sign."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .optimizer import Optimizer, _check_lr, _next_step, _refuse_differentiable, _step_tensor

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop, as ``torch.optim.Rprop``.

    Each element keeps its own step size :math:`\eta` (starting at ``lr``) and the previous
    gradient. When the gradient keeps its sign, :math:`\eta` grows by ``etas[1]``; when it flips,
    :math:`\eta` shrinks by ``etas[0]`` and that element does not move this step (its gradient
    counts as 0, also for the next comparison). Step sizes stay within ``step_sizes``::

        eta = clamp(eta * factor, step_sizes[0], step_sizes[1])
        theta = theta - eta * sign(g)

    Args:
        params: parameters or parameter groups to optimize.
        lr: the initial step size (default 1e-2).
        etas: (etaminus, etaplus), the shrink and growth factors; ``0 < etaminus < 1 < etaplus``.
        step_sizes: (minimum, maximum) step size.
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.tensor([1.0, -1.0]))
    >>> opt = ember.optim.Rprop([w], lr=0.1)
    >>> w.grad = ember.tensor([2.0, -3.0])
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _refuse_differentiable(differentiable)
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = _step_tensor()
        state["prev"] = _wrap(np.zeros_like(p._data))
        state["step_size"] = _wrap(np.full_like(p._data, float(group["lr"])))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        _next_step(state)
        if group["maximize"]:
            g = np.negative(g)
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        prev = state["prev"]._data
        step_size = state["step_size"]._data
        sign = np.sign(g * prev)
        flipped = sign < 0
        factor = np.where(sign > 0, etaplus, np.where(flipped, etaminus, 1.0)).astype(p.dtype)
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        # Where the sign flipped the element stays put, and that zero becomes the new "previous".
        g = np.where(flipped, 0, g).astype(p.dtype, copy=False)
        p -= np.sign(g) * step_size
        prev[...] = g
