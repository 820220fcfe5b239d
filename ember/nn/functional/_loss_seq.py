"""nn.functional: the CTC loss and the multi-class margin losses (``multi_margin_loss``,
``multilabel_margin_loss``).

``ctc_loss`` runs one primitive (``ember.ops.ctc``) for the per-sample likelihoods; the margin
losses are composites of differentiable ops, written as PyTorch defines them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._tensor import Tensor, _wrap
from ...ops import ctc as CTC
from ...ops import indexing as IX
from ...ops import shape as S
from ...ops.unary import clamp_min
from ._reduction import check_weight_dtype, reduction_of

__all__ = ["ctc_loss", "multi_margin_loss", "multilabel_margin_loss"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---- CTC --------------------------------------------------------------------------------------
def _int_vector(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x._data if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "iu" and arr.size:
        raise RuntimeError(f"ctc_loss: {name} must hold integers, got {arr.dtype}")
    return arr.astype(np.int64).reshape(-1)


def _split_targets(targets: np.ndarray, target_lengths: np.ndarray, batch: int) -> list[np.ndarray]:
    """Each sample's labels, from the padded ``(N, S)`` or the concatenated 1-D form."""
    if targets.ndim == 2:
        longest = int(target_lengths.max()) if target_lengths.size else 0
        if targets.shape[1] < longest:
            raise RuntimeError(
                f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                f"{targets.shape[1]} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        return [targets[b, : target_lengths[b]] for b in range(batch)]
    total = int(target_lengths.sum())
    if targets.shape[0] != total:
        raise RuntimeError(
            f"Expected tensor to have size {total} at dimension 0, but got size "
            f"{targets.shape[0]} for argument #2 'targets' (while checking arguments for "
            "ctc_loss_allocate_outputs)"
        )
    cuts = np.cumsum(target_lengths)[:-1]
    return list(np.split(targets, cuts))


def _check_ctc(log_probs: Tensor, in_lens: np.ndarray, tgt_lens: np.ndarray, blank: int) -> None:
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if in_lens.size != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tgt_lens.size != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    if in_lens.size and in_lens.max() > steps:
        raise RuntimeError(
            f"Expected input_lengths to have value at most {steps}, but got value "
            f"{int(in_lens.max())} (while checking arguments for ctc_loss_allocate_outputs)"
        )
    if (in_lens < 0).any() or (tgt_lens < 0).any():
        raise RuntimeError("ctc_loss: input_lengths and target_lengths must be non-negative")


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist Temporal Classification loss.

    ``log_probs`` ``(T, N, C)`` (or unbatched ``(T, C)``) are log-probabilities over the classes
    (``log_softmax`` output); ``targets`` are padded ``(N, S)`` or concatenated
    ``(sum(target_lengths),)`` class indices; ``input_lengths``/``target_lengths`` give each
    sample's lengths. ``'mean'`` divides each loss by its target length, then averages;
    ``zero_infinity`` turns impossible alignments (infinite loss) into 0 with a zero gradient.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> lp = ember.full((3, 1, 2), 0.5).log()
    >>> F.ctc_loss(lp, ember.tensor([[1]]), [3], [1], reduction='sum')
    tensor(0.2877)
    """
    reduction = reduction_of(reduction, None, None)
    if not log_probs.dtype.is_floating_point:
        raise RuntimeError(f"ctc_loss: log_probs must be floating point, got {log_probs.dtype}")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = S.unsqueeze(log_probs, 1)
        targets = S.unsqueeze(targets, 0) if targets.dim() == 1 else targets
    if log_probs.dim() != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of 2 or 3 dims, got {log_probs.dim()}")
    in_lens = _int_vector(input_lengths, "input_lengths")
    tgt_lens = _int_vector(target_lengths, "target_lengths")
    _check_ctc(log_probs, in_lens, tgt_lens, blank)
    tgt = np.asarray(targets._data).astype(np.int64)
    pieces = _split_targets(tgt, tgt_lens, log_probs.shape[1])
    classes = log_probs.shape[2]
    for p in pieces:
        if p.size and (p.min() < 0 or p.max() >= classes):
            raise RuntimeError(f"ctc_loss: target index out of range [0, {classes})")
    nll = CTC.CTCLossNLL.apply(log_probs, pieces, in_lens, int(blank), bool(zero_infinity))
    if unbatched:
        nll = S.squeeze(nll, 0)
    if reduction == "mean":
        denom = np.maximum(tgt_lens, 1).astype(log_probs._data.dtype)
        denom = _wrap(denom[0] if unbatched else denom)
        return (nll / denom).mean()
    return _reduce(nll, reduction)


# ---- multi-class margins ------------------------------------------------------------------------
def _margin_input(input: Tensor, target: Tensor, name: str) -> tuple[Tensor, np.ndarray, bool]:
    """Promote the unbatched form to a batch of one; check the target's shape."""
    if input.dim() > 2:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )
    unbatched = input.dim() <= 1
    x = S.reshape(input, (1, -1)) if unbatched else input
    return x, np.asarray(target._data).astype(np.int64), unbatched


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: per sample ``sum_{j != y} w[y] * max(0, margin - x[y] + x[j])^p
    / C`` (``p`` is 1 or 2).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, tgt, unbatched = _margin_input(input, target, "multi_margin_loss")
    check_weight_dtype(weight, x)
    n, c = x.shape
    tgt = tgt.reshape(-1)
    if tgt.size != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got {list(target.shape)}")
    if tgt.size and (tgt.min() < 0 or tgt.max() >= c):
        raise IndexError(f"target out of range: targets must lie in [0, {c})")
    rows = _wrap(tgt.reshape(n, 1))
    xy = IX.gather(x, 1, rows)
    z = clamp_min(x - xy + float(margin), 0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * S.reshape(IX.index_select(weight, 0, _wrap(tgt)), (n, 1))
    not_target = np.ones((n, c), dtype=x._data.dtype)
    not_target[np.arange(n), tgt] = 0
    loss = (z * _wrap(not_target)).sum(1) / c
    if unbatched:
        loss = S.reshape(loss, ())
    return _reduce(loss, reduction)


def _label_counts(tgt: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: how many times each class is listed before the first -1, and whether it is."""
    counts = np.zeros(tgt.shape, dtype=np.int64)
    for row, labels in enumerate(tgt):
        for lab in labels:
            if lab < 0:
                break
            if lab >= c:
                raise RuntimeError(f"multilabel_margin_loss: target {int(lab)} out of range")
            counts[row, lab] += 1
    return counts, counts > 0


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: ``target`` lists each sample's classes, ended by ``-1``; per
    sample ``sum_{j listed, k not} max(0, 1 - (x[j] - x[k])) / C``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> F.multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    x, tgt, unbatched = _margin_input(input, target, "multilabel_margin_loss")
    n, c = x.shape
    tgt = tgt.reshape(n, -1) if tgt.ndim <= 1 else tgt
    if tgt.shape != (n, c):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    counts, listed = _label_counts(tgt, c)
    pairs = counts[:, :, None] * (~listed)[:, None, :]
    diff = 1.0 - S.unsqueeze(x, 2) + S.unsqueeze(x, 1)
    hinge = clamp_min(diff, 0.0) * _wrap(pairs.astype(x._data.dtype))
    loss = hinge.sum((1, 2)) / c
    if unbatched:
        loss = S.reshape(loss, ())
    return _reduce(loss, reduction)
