"""``ember.amp.GradScaler``: PyTorch's loss scaling for mixed-precision training, step for step.

The scaler multiplies the loss by ``scale`` before ``backward``, divides the gradients by it
before the optimizer step (computing ``1/scale`` in float64, then float32, as PyTorch does),
skips the step when a gradient is inf/NaN, and grows or backs off the scale in ``update``.
``GradScaler("cuda")`` (the default device) warns and disables itself, as on PyTorch's CPU-only
build; a disabled scaler passes everything through (``scale(x)`` is ``x``, ``step`` is
``optimizer.step()``). ``GradScaler("cpu")`` is enabled, as in PyTorch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["GradScaler", "OptState"]


class OptState:
    """Where an optimizer is within an iteration."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict:
    return {"stage": OptState.READY, "found_inf": None}


class GradScaler:
    """Scales the loss and unscales the gradients (PyTorch's ``torch.amp.GradScaler``)."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            warnings.warn(
                "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                stacklevel=2,
            )
            self._enabled = False
        if not self._enabled:
            return
        if growth_factor <= 1.0:
            raise AssertionError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._scale: np.ndarray | None = None  # float32 scalar, made by the first scale()
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker: int | None = None
        self._per_optimizer_states: dict[int, dict] = {}

    # ---- the scale -------------------------------------------------------------------------
    def _check_started(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration."
            )

    def _state(self, optimizer: Any) -> dict:
        return self._per_optimizer_states.setdefault(id(optimizer), _fresh_state())

    def scale(self, outputs: Any) -> Any:
        """``outputs * scale`` (a tensor, or every tensor of a list/tuple/iterable)."""
        if not self._enabled:
            return outputs
        from .._tensor import Tensor, _wrap

        if self._scale is None:
            self._scale = np.array(self._init_scale, np.float32)
            self._growth_tracker = self._init_growth_tracker
        scale = _wrap(self._scale.copy())

        def apply(val: Any) -> Any:
            if isinstance(val, Tensor):
                return val * scale
            if isinstance(val, (list, tuple)):
                out = [apply(v) for v in val]
                return type(val)(out) if isinstance(val, tuple) else out
            if hasattr(val, "__iter__") and not isinstance(val, (str, bytes)):
                return map(apply, val)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per iteration) and note
        whether any is inf/NaN."""
        if not self._enabled:
            return
        self._check_started("unscale_")
        state = self._state(optimizer)
        if state["stage"] == OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] == OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = np.float32(1.0 / np.float64(self._scale))
        state["found_inf"] = self._unscale_grads(optimizer, inv_scale)
        state["stage"] = OptState.UNSCALED

    @staticmethod
    def _unscale_grads(optimizer: Any, inv_scale: np.float32) -> float:
        from .. import _dtype as D
        from ..autograd.grad_mode import no_grad

        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g.dtype is D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    if not np.isfinite(g._data).all():
                        found = True
                    g.mul_(float(inv_scale) if g.dtype is D.float64 else _f32(inv_scale))
        return 1.0 if found else 0.0

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless done already) and run ``optimizer.step`` unless a gradient was
        inf/NaN; returns what ``optimizer.step`` returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_started("step")
        state = self._state(optimizer)
        if state["stage"] == OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == OptState.READY:
            self.unscale_(optimizer)
        retval = None
        if not state["found_inf"]:
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale: Any = None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else back off after an
        inf/NaN, grow after ``growth_interval`` clean steps in a row."""
        if not self._enabled:
            return
        self._check_started("update")
        if new_scale is not None:
            self._set_scale(new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()]
            found = [f for f in found if f is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(sum(found) > 0)
        self._per_optimizer_states = {}

    def _set_scale(self, new_scale: Any) -> None:
        if isinstance(new_scale, float):
            self._scale = np.array(new_scale, np.float32)
            return
        reason = (
            "new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
            "torch.FloatTensor with requires_grad=False."
        )
        device = getattr(getattr(new_scale, "device", None), "type", None)
        if device != self._device or new_scale.numel() != 1 or new_scale.requires_grad:
            raise AssertionError(reason)
        self._scale = np.array(new_scale._data.reshape(()), np.float32)

    def _update_scale(self, found_inf: bool) -> None:
        if found_inf:
            self._scale = (self._scale * np.float32(self._backoff_factor)).astype(np.float32)
            self._growth_tracker = 0
            return
        tracker = self._growth_tracker + 1
        if tracker == self._growth_interval:
            grown = (self._scale * np.float32(self._growth_factor)).astype(np.float32)
            if np.isfinite(grown):  # a scale that would overflow stays where it is
                self._scale = grown
            tracker = 0
        self._growth_tracker = tracker

    # ---- accessors and state ---------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale (``init_scale`` before the first ``scale()``; 1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        """Whether this scaler scales (False for ``'cuda'`` or ``enabled=False``)."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """The scale, factors, interval and growth tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = np.array(state_dict["scale"], np.float32)
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if self._per_optimizer_states:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning "
                    "of an iteration, or at the end after scaler.update()."
                )
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state


def _f32(x: np.float32) -> Any:
    """A 0-dim float32 tensor (so a float32 gradient is multiplied in float32, as PyTorch)."""
    from .._tensor import _wrap

    return _wrap(np.array(x, np.float32))
