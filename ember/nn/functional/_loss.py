"""nn.functional, loss family: regression losses, cross-entropy, NLL, binary cross-entropy, KL.

Each function checks its arguments the way PyTorch does (same exception types, messages naming
the shapes), then calls one fused primitive from ``ember.ops.loss``. The margin, embedding and
distance losses live in ``_loss_margin.py`` and are re-exported here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..._dtype import promote_types
from ..._dtype_names import type_name
from ...ops.elementwise import cast
from ...ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    CrossEntropyProb,
    KLDiv,
    NLLLoss,
    PointwiseLoss,
)
from ...ops.shape import broadcast_to
from ._loss_margin import *  # noqa: F403
from ._loss_margin import __all__ as _margin_all
from ._loss_margin import _float_pair, _no_grad_arg
from ._reduction import (
    check_broadcast,
    check_weight_dtype,
    legacy_reduction,
    reduction_of,
    size_str,
    warn_target_size,
)

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    *_margin_all,
]


# ---- regression losses ------------------------------------------------------------------------
def _pointwise(
    kind: str, input: Any, target: Any, param: float, reduction: str, weight: Any, mean_by: str
) -> Any:
    if target._data.shape != input._data.shape:
        warn_target_size(input, target, stacklevel=4)
        check_broadcast(input._data.shape, target._data.shape)
    input, target = _float_pair(input, target)
    if weight is None:
        return PointwiseLoss.apply(input, target, kind, param, reduction)
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = PointwiseLoss.apply(input, target, kind, param, "none") * weight
    if reduction == "none":
        return loss
    if reduction == "sum" or mean_by == "count":
        return loss.sum() if reduction == "sum" else loss.mean()
    return loss.sum() / weight.sum()


def mse_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """Mean squared error ``(input - target)^2``, reduced by ``reduction``.

    A target whose shape differs from the input's is broadcast with a UserWarning, as PyTorch;
    both input and target get gradients. ``weight`` (input's shape) weights each element and the
    mean then divides by ``weight.sum()``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    return _pointwise("mse", input, target, 0.0, reduction, weight, "weight")


def l1_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Any:
    """Mean absolute error ``|input - target|``, reduced by ``reduction``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.l1_loss(ember.tensor([1.0, -3.0]), ember.tensor([0.0, 0.0]))
    tensor(2.)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    return _pointwise("l1", input, target, 0.0, reduction, weight, "weight")


def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Any:
    """Smooth L1: ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.smooth_l1_loss(ember.tensor([0.5, 3.0]), ember.tensor([0.0, 0.0]))
    tensor(1.3125)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _pointwise("smooth_l1", input, target, float(beta), reduction, None, "count")


def huber_loss(
    input: Any,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
) -> Any:
    """Huber loss: ``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.huber_loss(ember.tensor([0.5, 3.0]), ember.tensor([0.0, 0.0]), delta=2.0)
    tensor(2.0625)
    """
    reduction = reduction_of(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise("huber", input, target, float(delta), reduction, weight, "count")


# ---- cross-entropy and NLL --------------------------------------------------------------------
def _check_class_target(input: Any, target: Any, weight: Any, fn: str) -> int:
    """PyTorch's checks for class-index targets; returns the number of classes."""
    x, t = input._data, target._data
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {type_name(t.dtype)}"
        )
    nd = x.ndim
    if nd == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if nd == 1:
        if t.ndim != 0:
            if t.ndim == 1 and t.shape[0] == 1:
                pass
            else:
                raise ValueError(
                    "For 1D input, 1D target must have size 1, but got target size: "
                    f"{t.shape[0] if t.ndim == 1 else list(t.shape)}"
                )
        c = x.shape[0]
    else:
        tb = t.shape[0] if t.ndim else 0
        if x.shape[0] != tb:
            raise ValueError(
                f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({tb})."
            )
        if nd == 2 and t.ndim != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd > 2 and t.shape[1:] != x.shape[2:]:
            want = [x.shape[0], *x.shape[2:]]
            raise RuntimeError(f"Expected target size {want}, got {list(t.shape)}")
        c = x.shape[1]
    if weight is not None:
        w = weight._data
        if w.ndim != 1 or w.shape[0] != c:
            raise RuntimeError(
                f"{fn}weight tensor should be defined either for all {c} classes or no classes "
                f"but got weight tensor of shape: {list(w.shape)}"
            )
    return c


def _weight_array(weight: Any, input: Any) -> Any:
    check_weight_dtype(weight, input)
    return None if weight is None else weight._data


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """Cross-entropy between logits ``input`` (N, C, d1, ...) and class indices or probabilities.

    One fused, numerically stable node (log-sum-exp of the logits). With class indices the
    target is (N, d1, ...) of int64; ``ignore_index`` entries count for nothing; the 'mean' is
    weighted by ``weight[target]``. A target with the input's shape holds class probabilities.
    ``label_smoothing`` mixes the target with the uniform distribution.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.cross_entropy(ember.tensor([[2.0, 0.0, 0.0]]), ember.tensor([0]))
    tensor(0.2395)
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction != "mean":
        reduction = reduction_of(reduction)
    x, t = input._data, target._data
    if x.shape == t.shape and x.ndim:
        if t.dtype.kind != "f":
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{type_name(t.dtype)}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        c = x.shape[1] if x.ndim > 1 else x.shape[0]
        if weight is not None and (weight._data.ndim != 1 or weight._data.shape[0] != c):
            raise RuntimeError(
                f"cross_entropy: weight tensor should be defined either for all {c} classes or "
                f"no classes but got weight tensor of shape: {list(weight._data.shape)}"
            )
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
            )
        input, target = _float_pair(input, target)
        if weight is not None:  # the loss has the dtype of input * target * weight, as torch's
            dtype = promote_types(input.dtype, weight.dtype)
            input, target, weight = (cast(t, dtype) for t in (input, target, weight))
        return CrossEntropyProb.apply(input, target, weight, float(label_smoothing), reduction)
    if x.dtype.kind not in "fV":  # V: bfloat16 (ml_dtypes)
        raise NotImplementedError(
            f"\"log_softmax_lastdim_kernel_impl\" not implemented for '{type_name(x.dtype)}'"
        )
    _check_class_target(input, target, weight, "")
    _no_grad_arg(weight, "nll_loss_forward", "weight")
    if label_smoothing and not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return CrossEntropy.apply(
        input,
        t,
        _weight_array(weight, input),
        int(ignore_index),
        float(label_smoothing),
        reduction,
    )


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1, ...) at class indices.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.nll_loss(ember.tensor([[-0.5, -1.0], [-2.0, -0.1]]), ember.tensor([0, 1]))
    tensor(0.3000)
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction != "mean":
        reduction = reduction_of(reduction)
    if input.dtype.kind != "f":
        raise NotImplementedError(
            f"\"nll_loss_out_frame\" not implemented for '{type_name(input._data.dtype)}'"
        )
    _check_class_target(input, target, weight, "")
    _no_grad_arg(weight, "nll_loss_forward", "weight")
    return NLLLoss.apply(
        input, target._data, _weight_array(weight, input), int(ignore_index), reduction
    )


# ---- binary cross-entropy ---------------------------------------------------------------------
def _expand_weight(weight: Any, shape: tuple) -> Any:
    if weight._data.shape == shape:
        return weight
    check_broadcast(shape, weight._data.shape)
    return broadcast_to(weight, shape)


def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy between probabilities ``input`` (in [0, 1]) and ``target``.

    The logs are clamped at -100 as in PyTorch, so a probability of exactly 0 or 1 gives a
    finite loss. ``weight`` broadcasts to the input's shape.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.binary_cross_entropy(ember.tensor([0.8, 0.2]), ember.tensor([1.0, 0.0]))
    tensor(0.2231)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({size_str(target._data.shape)}) that is different to the input "
            f"size ({size_str(input._data.shape)}) is deprecated. Please ensure they have the "
            "same size."
        )
    _no_grad_arg(weight, "binary_cross_entropy", "weight")
    input, target = _float_pair(input, target)
    w = None
    if weight is not None:
        w = _expand_weight(weight, input._data.shape)._data.astype(input._data.dtype, copy=False)
    return BinaryCrossEntropy.apply(input, target, w, reduction)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
    """Sigmoid + binary cross-entropy in one numerically stable node.

    ``pos_weight`` (broadcast over the last dimension, one value per class) weights the
    positive term; ``weight`` broadcasts to the input's shape.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(ember.tensor([2.0, -1.0]), ember.tensor([1.0, 0.0]))
    tensor(0.2201)
    """
    reduction = reduction_of(reduction, size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Target size ({size_str(target._data.shape)}) must be the same as input size "
            f"({size_str(input._data.shape)})"
        )
    _no_grad_arg(weight, "binary_cross_entropy_with_logits", "weight")
    _no_grad_arg(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    input, target = _float_pair(input, target)
    w = None
    if weight is not None:
        w = _expand_weight(weight, input._data.shape)._data.astype(input._data.dtype, copy=False)
    if pos_weight is not None:
        check_broadcast(input._data.shape, pos_weight._data.shape)
        pos_weight = pos_weight._data.astype(input._data.dtype, copy=False)
    return BinaryCrossEntropyWithLogits.apply(input, target, w, pos_weight, reduction)


# ---- KL divergence ----------------------------------------------------------------------------
def kl_div(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Any:
    """KL divergence ``target * (log(target) - input)`` with ``input`` in log-space.

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically correct
    KL); 'mean' divides by the number of elements and warns, as PyTorch. With ``log_target``
    the target is given in log-space too.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> p = ember.tensor([[0.5, 0.5]])
    >>> F.kl_div(p.log(), p, reduction="batchmean")
    tensor(0.)
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support "
                "size.'batchmean' divides only by the batch size, and aligns with the KL div "
                "math definition.'mean' will be changed to behave the same as 'batchmean' in the "
                "next major release.",
                UserWarning,
                stacklevel=2,
            )
        if reduction != "batchmean":
            reduction = reduction_of(reduction)
    if target._data.shape != input._data.shape:
        check_broadcast(input._data.shape, target._data.shape)
    input, target = _float_pair(input, target)
    batch = input._data.shape[0] if input._data.ndim else 1
    return KLDiv.apply(input, target, bool(log_target), reduction, batch)
