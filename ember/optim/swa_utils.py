"""Stochastic weight averaging and exponential moving averages, as ``torch.optim.swa_utils``:
``AveragedModel``, ``SWALR``, ``update_bn`` and the averaging functions."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from ._lr_base import LRScheduler, _format_param
from .optimizer import Optimizer, lerp_

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _touch(t: Tensor) -> None:
    t._vc[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An in-place exponential moving average over lists of tensors, for ``multi_avg_fn``:
    ``ema = decay * ema + (1 - decay) * current`` (a lerp for floating tensors)."""
    _check_decay(decay)

    def ema_update(ema_param_list: list, current_param_list: list, _: Any) -> None:
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            if p_ema.dtype.kind in "fc":
                lerp_(p_ema._data, p_model._data, 1 - decay)
                _touch(p_ema)
            else:
                _assign(p_ema, p_ema._data * decay + p_model._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An in-place equal-weight running average over lists of tensors, for ``multi_avg_fn``.

    Integer tensors are refused with a RuntimeError, as PyTorch's ``_foreach`` kernels do."""

    def swa_update(averaged_param_list: list, current_param_list: list, num_averaged) -> None:
        if averaged_param_list[0].dtype.kind not in "fc":
            raise RuntimeError(
                "get_swa_multi_avg_fn: integer tensors cannot be averaged in place (PyTorch's "
                "addcdiv refuses integer division); average floating tensors only"
            )
        n = float(num_averaged)
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            lerp_(p_avg._data, p_model._data, 1 / (n + 1))
            _touch(p_avg)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """``avg_fn(ema, current, n) -> decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """``avg_fn(avg, current, n) -> avg + (current - avg) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers with ``use_buffers=True``) hold a
    running average of ``model``'s, as ``torch.optim.swa_utils.AveragedModel``.

    ``update_parameters(model)`` copies ``model``'s values on its first call and averages them
    in afterwards: equally weighted (SWA) by default, or by ``avg_fn(avg, current, n)`` /
    ``multi_avg_fn(avg_list, current_list, n)``. ``n_averaged`` is a buffer (in the state_dict).

    >>> import ember
    >>> from ember.optim.swa_utils import AveragedModel
    >>> net = ember.nn.Linear(1, 1, bias=False)
    >>> swa = AveragedModel(net)
    >>> for v in (1.0, 2.0, 6.0):
    ...     with ember.no_grad():
    ...         _ = net.weight.fill_(v)
    ...     swa.update_parameters(net)
    >>> swa.module.weight.item(), swa.n_averaged.item()
    (3.0, 3)
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _wrap(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _pairs(self, model: Module) -> tuple[list, list]:
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        pairs = list(zip(mine, theirs))
        return [a.detach() for a, _ in pairs], [b.detach() for _, b in pairs]

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters into this model's."""
        averaged, current = self._pairs(model)
        if int(self.n_averaged.item()) == 0:
            for a, c in zip(averaged, current):
                _assign(a, c._data)
        elif self.multi_avg_fn is not None:
            # PyTorch hands multi_avg_fn one list per dtype (and device).
            for avg_list, cur_list in _by_dtype(averaged, current):
                self.multi_avg_fn(avg_list, cur_list, self.n_averaged)
        else:
            avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
            for a, c in zip(averaged, current):
                _assign(a, avg_fn(a, c, self.n_averaged)._data)
        if not self.use_buffers:
            # The buffers (batch-norm statistics) are copied, not averaged: see update_bn.
            for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                _assign(b_swa, b_model._data)
        self.n_averaged._data += 1
        _touch(self.n_averaged)


def _assign(t: Tensor, value: np.ndarray) -> None:
    """``t.copy_(value)``: cast to ``t``'s dtype (a float average truncates into an integer
    buffer, as in PyTorch)."""
    t._data[...] = value
    _touch(t)


def _by_dtype(averaged: list, current: list) -> list[tuple[list, list]]:
    groups: dict = {}
    for a, c in zip(averaged, current):
        pair = groups.setdefault(a._data.dtype, ([], []))
        pair[0].append(a)
        pair[1].append(c)
    return list(groups.values())


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch-norm layer of ``model`` by one pass over
    ``loader`` (each batch a tensor, or a list/tuple whose first item is the input), as
    ``torch.optim.swa_utils.update_bn``: statistics are reset and averaged over the batches
    (momentum None); the model's training mode is restored afterwards."""
    from ..nn.modules.normalization import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for bn_module, momentum in momenta.items():
        bn_module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps ("cos" or
    "linear"), then hold it there, as ``torch.optim.swa_utils.SWALR``.

    >>> import ember
    >>> w = ember.zeros(1, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=1.0)
    >>> sched = ember.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=2, anneal_strategy="linear")
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.55, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list:
        """The next learning rate of each group: the lr recovered for the previous step,
        moved toward ``swa_lr`` by the annealing function."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer and the annealing function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by ``state_dict()``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
