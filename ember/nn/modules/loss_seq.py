"""Loss layers for sequences and multi-class margins: ``CTCLoss``, ``MultiMarginLoss``,
``MultiLabelMarginLoss`` (each calls the matching ``nn.functional`` loss)."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from .. import functional as F
from .loss import _Loss, _WeightedLoss

__all__ = ["CTCLoss", "MultiMarginLoss", "MultiLabelMarginLoss"]


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss (see ``F.ctc_loss``).

    ``CTCLoss(blank=0, reduction='mean', zero_infinity=False)``;
    ``forward(log_probs, targets, input_lengths, target_lengths)``.

    >>> import ember
    >>> lp = ember.randn(50, 4, 20).log_softmax(2)
    >>> targets = ember.randint(1, 20, (4, 10))
    >>> ember.nn.CTCLoss()(lp, targets, [50] * 4, [10] * 4).shape
    ember.Size([])
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(
        self, log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any
    ) -> Tensor:
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (see ``F.multi_margin_loss``); ``weight`` is a buffer.

    >>> import ember
    >>> ember.nn.MultiMarginLoss()(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(
                f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.dim()}D "
                "instead"
            )
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss (see ``F.multilabel_margin_loss``).

    >>> import ember
    >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> ember.nn.MultiLabelMarginLoss()(x, ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)
