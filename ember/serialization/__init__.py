"""Checkpoints: PyTorch's ``.pth``/``.pt``/``.bin`` files both ways, safely, and safetensors.

``ember.save`` writes PyTorch's zip format exactly as ``torch.save`` lays it out, so real PyTorch
loads it with ``weights_only=True`` (and ``mmap=True``). ``ember.load`` reads PyTorch's zip and
legacy formats and safetensors with ember's own restricted unpickler: loading never executes code
from a file (unless the caller asks for ``weights_only=False``, which loads whole pickled objects
into ember's classes). See ``docs/serialization.md``.
"""

from ._api import load, save
from ._errors import UnsafeCheckpointError
from ._helpers import state_dict_diff, strip_prefix
from ._safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    get_unsafe_globals_in_checkpoint,
    safe_globals,
)
from .safetensors import load_safetensors, save_safetensors

__all__ = [
    "save",
    "load",
    "UnsafeCheckpointError",
    "save_safetensors",
    "load_safetensors",
    "strip_prefix",
    "state_dict_diff",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "safe_globals",
]
