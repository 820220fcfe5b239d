"""PyTorch's deprecated per-device spellings ``torch.<device>.amp.autocast`` and
``torch.<device>.amp.GradScaler``: each warns (FutureWarning, PyTorch's text), then is the
device-generic class for that device. ``ember.cpu.amp`` and ``ember.cuda.amp`` are made here."""

from __future__ import annotations

import warnings
from typing import Any

from . import autocast_mode as _autocast_mode
from . import grad_scaler as _grad_scaler


def _warn(device: str, what: str) -> None:
    warnings.warn(
        f"`torch.{device}.amp.{what}(args...)` is deprecated. Please use "
        f"`torch.amp.{what}('{device}', args...)` instead.",
        FutureWarning,
        stacklevel=3,  # the caller of __init__
    )


def deprecated_autocast(device: str, default_dtype: str) -> type:
    """``torch.<device>.amp.autocast`` (default dtype: ``ember.<default_dtype>``)."""

    class autocast(_autocast_mode.autocast):  # noqa: N801 - PyTorch's name
        def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True):
            _warn(device, "autocast")
            from .. import _dtype as D

            super().__init__(device, dtype=dtype or getattr(D, default_dtype), enabled=enabled)

    autocast.__doc__ = f"PyTorch's deprecated ``torch.{device}.amp.autocast``."
    autocast.__module__ = f"ember.{device}.amp"
    return autocast


def deprecated_grad_scaler(device: str) -> type:
    """``torch.<device>.amp.GradScaler``."""

    class GradScaler(_grad_scaler.GradScaler):
        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            _warn(device, "GradScaler")
            super().__init__(
                device, init_scale, growth_factor, backoff_factor, growth_interval, enabled
            )

    GradScaler.__doc__ = f"PyTorch's deprecated ``torch.{device}.amp.GradScaler``."
    GradScaler.__module__ = f"ember.{device}.amp"
    return GradScaler
