"""``torch.nn.modules.distance``'s layout: its classes, defined by family elsewhere."""

from .loss import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
