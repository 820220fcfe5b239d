"""Adafactor: Adam-like steps with a factored (row x column) second moment for matrices."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from .optimizer import Optimizer, _next_step, _step_tensor, lerp_

__all__ = ["Adafactor"]


def _check_args(lr: Any, beta2_decay: float, eps: tuple, d: float, weight_decay: float) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    checks = [
        (0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}"),
        (0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
        (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
        (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
        (1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}"),
        (0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _rms(a: np.ndarray) -> float:
    return float(np.linalg.norm(a.ravel())) / math.sqrt(a.size)


class Adafactor(Optimizer):
    r"""Adafactor, as ``torch.optim.Adafactor`` (PyTorch's variant: ``lr`` caps the relative
    step size and scales weight decay; ``eps[0]`` is added inside the denominator).

    At step :math:`t`, with :math:`\hat\beta_2 = 1 - t^{\text{beta2\_decay}}`::

        rho = min(lr, 1 / sqrt(t));  alpha = max(eps2, RMS(theta)) * rho
        theta = theta * (1 - lr * weight_decay)
        matrices (dim > 1): R, C = running means of g^2 over the last / second-last dim;
                            V = R @ C / max(mean(R), eps1)
        vectors: V = running mean of g^2
        U = g / sqrt(max(V, eps1^2));  theta = theta - alpha * U / max(1, RMS(U) / d)

    Args:
        params: parameters or parameter groups to optimize.
        lr: the maximum relative step size and the weight decay's scale (default 1e-2).
        beta2_decay: the decay rate of beta2 (default -0.8).
        eps: (epsilon1, epsilon2); epsilon1 None means the dtype's machine epsilon.
        d: the clipping threshold of the update's RMS (default 1.0).
        weight_decay: decoupled weight decay (default 0.0).
        maximize: maximize the objective instead of minimizing it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.ones(2, 2))
    >>> opt = ember.optim.Adafactor([w])
    >>> w.grad = ember.ones(2, 2)
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([[0.9900, 0.9900],
            [0.9900, 0.9900]], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        _check_args(lr, beta2_decay, eps, d, weight_decay)
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        if p._data.dtype.kind == "c":
            raise RuntimeError("Adafactor does not support complex parameters")
        state["step"] = _step_tensor()
        shape = p._data.shape
        if len(shape) > 1:
            state["row_var"] = _wrap(np.zeros(shape[:-1] + (1,), dtype=p._data.dtype))
            state["col_var"] = _wrap(np.zeros(shape[:-2] + (1, shape[-1]), dtype=p._data.dtype))
        else:
            state["variance"] = _wrap(np.zeros_like(p._data))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        step = _next_step(state)
        if group["maximize"]:
            g = np.negative(g)
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / step**0.5)
        alpha = max(eps2, _rms(p)) * rho
        if group["weight_decay"] != 0:
            p *= 1 - lr * group["weight_decay"]
        g2 = np.square(g)
        if g.ndim > 1:
            row_var = state["row_var"]._data
            col_var = state["col_var"]._data
            lerp_(row_var, g2.mean(axis=-1, keepdims=True), one_minus_beta2)
            lerp_(col_var, g2.mean(axis=-2, keepdims=True), one_minus_beta2)
            var = row_var @ col_var
            var /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]._data
            lerp_(variance, g2, one_minus_beta2)
            var = variance.copy()
        np.maximum(var, eps1 * eps1, out=var)
        update = 1 / np.sqrt(var)
        update *= g
        denom = max(1.0, _rms(update) / group["d"])
        p += update * np.asarray(-alpha / denom, dtype=p.dtype)
