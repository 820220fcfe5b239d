"""``ember.cuda.amp``: PyTorch's deprecated CUDA spellings of ``autocast`` and ``GradScaler``.

Both warn (FutureWarning, as PyTorch) and, with no CUDA, disable themselves.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..amp import autocast_mode as _autocast_mode
from ..amp import grad_scaler as _grad_scaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]


class autocast(_autocast_mode.autocast):  # noqa: N801 - PyTorch's name
    """PyTorch's deprecated ``torch.cuda.amp.autocast``: warns, then disables itself (no CUDA)."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True):
        warnings.warn(
            "`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
            "`torch.amp.autocast('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        from .. import _dtype as D

        super().__init__("cuda", dtype=dtype or D.float16, enabled=enabled)


class GradScaler(_grad_scaler.GradScaler):
    """PyTorch's deprecated ``torch.cuda.amp.GradScaler``: warns, then disables itself."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`torch.amp.GradScaler('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    """``ember.amp.custom_fwd`` for ``device_type='cuda'``."""
    return _autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    """``ember.amp.custom_bwd`` for ``device_type='cuda'``."""
    return _autocast_mode.custom_bwd(bwd, device_type="cuda")
