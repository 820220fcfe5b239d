"""nn.functional, distance and margin losses: cosine_similarity, pairwise_distance and the losses
built on them (cosine embedding, margin ranking, hinge embedding, triplet), soft margin, Poisson
and Gaussian NLL.

These are composites of differentiable ops, written as PyTorch defines them; only the cosine
similarity and the log-sigmoid are fused (for their numerics: clamped norms, no overflow).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ... import _dtype as D
from ..._creation import zeros_like
from ...autograd.grad_mode import STATE, no_grad
from ...ops.elementwise import cast, minimum, where
from ...ops.loss import CosineSimilarity, LogSigmoid
from ...ops.reduction import norm
from ._reduction import reduction_of

__all__ = [
    "cosine_similarity",
    "pairwise_distance",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float_pair(x1: Any, x2: Any) -> tuple:
    """Cast both to their common floating dtype (PyTorch's type promotion; the default float
    dtype when neither is floating)."""
    if x1._data.dtype == x2._data.dtype and x1._data.dtype.kind == "f":
        return x1, x2
    dt = D.promote_types(x1.dtype, x2.dtype)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return cast(x1, dt), cast(x2, dt)


def _no_grad_arg(t: Any, fn: str, arg: str) -> None:
    """PyTorch's error for a tensor argument that must not require grad (weights, targets)."""
    if t is not None and t._rg and STATE.enabled:
        raise RuntimeError(
            f"The function '{fn}' is not differentiable with respect to argument '{arg}'. "
            "This input cannot have requires_grad True."
        )


def _logsigmoid(x: Any) -> Any:
    return LogSigmoid.apply(x)


# ---- distances ----------------------------------------------------------------------------------
def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """Cosine similarity of ``x1`` and ``x2`` along ``dim`` (they broadcast together).

    Each vector is divided by ``max(norm, eps)`` before the dot product, as in PyTorch, so the
    result stays within [-1, 1].

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    x1, x2 = _float_pair(x1, x2)
    nd = max(x1._data.ndim, x2._data.ndim)
    if not -nd <= dim < max(nd, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})"
        )
    axis = dim % nd if nd else 0
    return CosineSimilarity.apply(x1, x2, axis, float(eps))


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Any:
    """The p-norm of ``x1 - x2 + eps`` over the last dimension.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.pairwise_distance(ember.tensor([[3.0, 4.0]]), ember.tensor([[0.0, 0.0]]), eps=0.0)
    tensor([5.])
    """
    x1, x2 = _float_pair(x1, x2)
    nd = max(x1._data.ndim, x2._data.ndim)
    return norm(x1 - x2 + eps, p, max(nd - 1, 0), keepdim)


# ---- embedding and ranking losses ---------------------------------------------------------------
def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where -1.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> a = ember.tensor([[1.0, 0.0]])
    >>> F.cosine_embedding_loss(a, a, ember.tensor([1]))
    tensor(0.)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    td = target._data.ndim
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if td == 1 else 1
    if input1._data.ndim != want:
        raise RuntimeError(
            f"{td}D target tensor expects {want}D input tensors, but found inputs with sizes "
            f"{list(input1._data.shape)} and {list(input2._data.shape)}."
        )
    input1, input2 = _float_pair(input1, input2)
    prod = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + 1e-12
    mag2 = (input2 * input2).sum(td) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    zeros = cos * 0.0
    pos = where(target == 1, 1.0 - cos, zeros)
    neg = where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``max(0, -target * (input1 - input2) + margin)``; all three must have the same shape.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    s1, s2, st = input1._data.shape, input2._data.shape, target._data.shape
    if len(s1) != len(s2) or len(s1) != len(st):
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {list(s1)}, input2: {list(s2)}, target: {list(st)} "
        )
    if s1 != s2 or s1 != st:
        raise RuntimeError(
            "margin_ranking_loss: all input tensors should have same size but got sizes: "
            f"input1: {list(s1)}, input2: {list(s2)}, target: {list(st)}"
        )
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.hinge_embedding_loss(ember.tensor([0.3, 0.2]), ember.tensor([1.0, -1.0]))
    tensor(0.5500)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    zeros = zeros_like(input)  # not input * 0: no NaN from an inf input or gradient, as torch
    clamp = (margin - input).clamp_min(0)
    loss = where(target != 1, clamp, zeros) + where(target != -1, input, zeros)
    return _reduce(loss, reduction)


def _check_triplet_dims(a: Any, p: Any, n: Any) -> None:
    da, dp, dn = a._data.ndim, p._data.ndim, n._data.ndim
    if not da == dp == dn:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {da}D, positive {dp}D, and negative {dn}D inputs"
        )


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the pairwise p-distance.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> a = ember.tensor([[0.0, 0.0]])
    >>> F.triplet_margin_loss(a, a, ember.tensor([[3.0, 4.0]]), eps=0.0)
    tensor(0.)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Any:
    """The triplet loss with any distance function (``pairwise_distance`` by default)."""
    if margin <= 0:
        raise ValueError(
            "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
            f"{margin} instead"
        )
    reduction = reduction_of(reduction)
    _check_triplet_dims(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


# ---- soft margin, Poisson and Gaussian NLL ------------------------------------------------------
def soft_margin_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Two-class logistic loss ``log(1 + exp(-target * input))``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.soft_margin_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(0.6931)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    _no_grad_arg(target, "soft_margin_loss", "target")
    input, target = _float_pair(input, target)
    return _reduce(-_logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Multi-label one-versus-all logistic loss, averaged over the classes (last dim).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.multilabel_soft_margin_loss(ember.tensor([[0.0, 0.0]]), ember.tensor([[1.0, 0.0]]))
    tensor(0.6931)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    input, target = _float_pair(input, target)
    loss = -(target * _logsigmoid(input) + (1 - target) * _logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input._data.ndim - 1
    loss = loss.sum(class_dim) / input._data.shape[class_dim]
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` (``log_input``), else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where target > 1.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.poisson_nll_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    input, target = _float_pair(input, target)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = where(target > 1, target, target * 0.0 + 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(target > 1, stirling, stirling * 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Any:
    """Gaussian negative log-likelihood ``0.5 (log(var) + (input - target)^2 / var)``.

    ``var`` has the input's shape, or one dimension fewer / one size-1 dimension
    (homoscedastic); it is clamped at ``eps`` for stability without affecting its gradient.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.gaussian_nll_loss(ember.tensor([1.0]), ember.tensor([1.0]), ember.tensor([1.0]))
    tensor(0.)
    """
    from ..._creation import ones_like

    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = ones_like(input) * float(var)
    elif (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    si, sv = input._data.shape, var._data.shape
    if sv != si:
        if si[:-1] == sv:
            var = var.unsqueeze(-1)
        elif len(si) == len(sv) and sum(y for x, y in zip(si, sv) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_min_(eps)  # in place under no_grad: the clamp does not change the gradient
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
