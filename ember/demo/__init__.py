"""``python -m ember demo``: ember's main job end to end (data, network, training, checkpoint)."""

from .idx import IDXError, load_mnist, read_idx
from .train import build_model, main, run

__all__ = ["IDXError", "build_model", "load_mnist", "main", "read_idx", "run"]
