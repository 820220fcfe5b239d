"""``ember.amp``: automatic mixed precision (``autocast``, ``GradScaler``) with PyTorch's API.

See ``autocast_mode.py`` for what autocast does on ember (records its state; ops keep their
precision) and ``grad_scaler.py`` for the scaler (PyTorch's algorithm, step for step).
"""

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]
