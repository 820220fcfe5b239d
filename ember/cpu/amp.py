"""``ember.cpu.amp``: PyTorch's deprecated CPU spellings of ``autocast`` and ``GradScaler``
(they warn, then work as ``autocast('cpu')`` / ``GradScaler('cpu')``)."""

from __future__ import annotations

from ..amp._deprecated import deprecated_autocast, deprecated_grad_scaler

__all__ = ["autocast", "GradScaler"]

autocast = deprecated_autocast("cpu", "bfloat16")
GradScaler = deprecated_grad_scaler("cpu")
