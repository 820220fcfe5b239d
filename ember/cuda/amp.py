"""``ember.cuda.amp``: PyTorch's deprecated CUDA spellings of ``autocast`` and ``GradScaler``.

Both warn (FutureWarning, as PyTorch) and, with no CUDA, disable themselves.
"""

from __future__ import annotations

from typing import Any

from ..amp import autocast_mode as _autocast_mode
from ..amp._deprecated import deprecated_autocast, deprecated_grad_scaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]

autocast = deprecated_autocast("cuda", "float16")
GradScaler = deprecated_grad_scaler("cuda")


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    """``ember.amp.custom_fwd`` for ``device_type='cuda'``."""
    return _autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    """``ember.amp.custom_bwd`` for ``device_type='cuda'``."""
    return _autocast_mode.custom_bwd(bwd, device_type="cuda")
