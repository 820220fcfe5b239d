"""``torch.nn.modules.pixelshuffle``'s layout: its classes, defined by family elsewhere."""

from .upsampling import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
