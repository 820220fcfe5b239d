"""``ember.cpu.amp``: PyTorch's deprecated CPU spellings of ``autocast`` and ``GradScaler``."""

from __future__ import annotations

import warnings
from typing import Any

from ..amp import autocast_mode as _autocast_mode
from ..amp import grad_scaler as _grad_scaler

__all__ = ["autocast", "GradScaler"]


class autocast(_autocast_mode.autocast):  # noqa: N801 - PyTorch's name
    """PyTorch's deprecated ``torch.cpu.amp.autocast``: warns, then works as ``autocast('cpu')``."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True):
        warnings.warn(
            "`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
            "`torch.amp.autocast('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        from .. import _dtype as D

        super().__init__("cpu", dtype=dtype or D.bfloat16, enabled=enabled)


class GradScaler(_grad_scaler.GradScaler):
    """PyTorch's deprecated ``torch.cpu.amp.GradScaler``: warns, then is ``GradScaler('cpu')``."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
            "`torch.amp.GradScaler('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
