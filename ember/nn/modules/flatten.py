"""``torch.nn.modules.flatten``'s layout: its classes, defined by family elsewhere."""

from .linear import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
