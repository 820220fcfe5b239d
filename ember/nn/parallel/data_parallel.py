"""``DataParallel`` on one device: the module runs as is (ember has one device, the CPU)."""

from __future__ import annotations

from typing import Any

from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """``torch.nn.DataParallel`` with one CPU device: ``forward`` calls ``module``; the
    wrapper only adds ``.module`` and the ``module.`` prefix to ``state_dict`` keys."""

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
