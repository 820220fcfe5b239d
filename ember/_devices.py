"""``ember.get_device_module``: the module that describes a device type."""

from __future__ import annotations

import importlib
from typing import Any


def get_device_module(device: Any = None) -> Any:
    """``ember.cpu`` for ``'cpu'`` (and by default), ``ember.cuda``/``mps``/``xpu`` for theirs."""
    if device is None:
        name = "cpu"
    else:
        name = device if isinstance(device, str) else getattr(device, "type", None)
        if not isinstance(name, str):
            raise RuntimeError(
                f"Invalid value of device '{device}', expect torch.device, str, or None"
            )
        name = name.split(":")[0]
    if name not in ("cpu", "cuda", "mps", "xpu"):
        raise RuntimeError(
            f"Device '{name}' does not have a corresponding module registered as 'torch.{name}'."
        )
    return importlib.import_module(f"ember.{name}")
