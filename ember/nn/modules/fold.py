"""``torch.nn.modules.fold``'s layout: its classes, defined by family elsewhere."""

from .conv import Fold, Unfold

__all__ = ["Fold", "Unfold"]
