"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``,
``clip_grads_with_norm_``.

The gradients are changed in place, outside autograd, exactly as PyTorch does: the scale
``max_norm / (total_norm + 1e-6)``, clamped to at most 1, is computed and applied in the
gradients' dtype (so clipped gradients match PyTorch's to float rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._tensor import Tensor, _wrap

__all__ = [
    "clip_grad_norm_",
    "clip_grad_norm",
    "clip_grad_value_",
    "get_total_norm",
    "clip_grads_with_norm_",
]


def _as_list(tensors: Any) -> list:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _vector_norm(a: np.ndarray, p: float) -> float:
    """The ``p``-norm of all elements of ``a`` (computed in float64)."""
    x = np.abs(a.astype(np.float64, copy=False)).ravel()
    if x.size == 0:
        return 0.0 if p != -math.inf else math.inf
    if p == math.inf:
        return float(x.max())
    if p == -math.inf:
        return float(x.min())
    if p == 0:
        return float(np.count_nonzero(x))
    if p == 1:
        return float(x.sum())
    if p == 2:
        return float(np.sqrt(np.dot(x, x)))
    return float((x**p).sum() ** (1.0 / p))


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (as if they were concatenated), as a
    0-d tensor; ``tensor(0.)`` for no tensors. ``foreach`` is accepted for compatibility."""
    ts = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not ts:
        return _wrap(np.array(0.0, np.float32))
    dtype = np.result_type(*[t._data.dtype for t in ts])
    # One norm per tensor, rounded to its dtype as PyTorch's per-tensor norms are, then the norm
    # of those.
    norms = np.array([_vector_norm(t._data, norm_type) for t in ts], dtype=dtype)
    total = np.array(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return _wrap(total)


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale every ``.grad`` in place by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    tn = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    dt = tn.dtype if tn.dtype.kind == "f" else np.dtype(np.float32)
    denom = tn.astype(dt) + np.asarray(1e-6, dt)
    coef = np.minimum(np.asarray(max_norm, dt) / denom, np.asarray(1.0, dt))
    for g in grads:
        d = g._data
        np.multiply(d, coef.astype(d.dtype), out=d)
        g._vc[0] += 1


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so that their joint norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d tensor).

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed norm.
        norm_type: the p of the p-norm (``'inf'`` / ``float('inf')`` for the max norm).
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf.
        foreach: accepted for compatibility (ember always uses one vectorised path).

    >>> import ember
    >>> w = ember.ones(4, requires_grad=True)
    >>> (w * 3).sum().backward()
    >>> ember.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(6.)
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_`."""
    import warnings

    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every ``.grad`` of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is None:
            continue
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1
