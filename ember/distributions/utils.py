"""Helpers shared by the distributions, as ``torch.distributions.utils``."""

from __future__ import annotations

import numbers
from functools import update_wrapper
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]


def broadcast_all(*values: Any) -> tuple:
    """Broadcast numbers and tensors to one shape; numbers become tensors of the tensors' dtype
    (the default dtype when there are none)."""
    import ember

    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, ember.Tensor or objects "
            "implementing __torch_function__."
        )
    if not all(isinstance(v, Tensor) for v in values):
        dtype = D.get_default_dtype()
        for v in values:
            if isinstance(v, Tensor):
                dtype = v.dtype
                break
        values = tuple(v if isinstance(v, Tensor) else ember.tensor(v, dtype=dtype) for v in values)
    return broadcast_tensors(*values)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """``torch.broadcast_tensors`` with PyTorch's ``RuntimeError`` for incompatible shapes
    (ember's core raises NumPy's ``ValueError`` there)."""
    import ember

    shape: tuple = ()
    for t in tensors:
        a, b = shape, tuple(t.shape)
        n = max(len(a), len(b))
        a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
        for dim, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(
                    f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                    f"non-singleton dimension {dim}"
                )
        shape = tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))
    return tuple(ember.broadcast_tensors(*tensors))


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into ``[eps, 1 - eps]`` (the dtype's machine epsilon)."""
    eps = float(np.finfo(probs._data.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Sigmoid (binary) or softmax over the last dimension."""
    import ember.nn.functional as F

    if is_binary:
        return logits.sigmoid()
    return F.softmax(logits, dim=-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """``log p - log(1 - p)`` (binary) or ``log p``, from clamped probabilities."""
    ps = clamp_probs(probs)
    if is_binary:
        return ps.log() - (-ps).log1p()
    return ps.log()


class lazy_property:  # noqa: N801
    """A property computed once, on first access, then stored on the instance (under no_grad
    only when accessed from the class itself, as in PyTorch)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        from ..autograd.grad_mode import enable_grad

        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):  # noqa: N801
    def __init__(self, wrapped: Any) -> None:
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions as a vector (row by row)."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, k=diag)
    return mat[..., _wrap(rows), _wrap(cols)]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of ``tril_matrix_to_vec``."""
    import ember

    m = vec.shape[-1]
    n = int(
        round(
            (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5)
            / 2
        )
    )
    rows, cols = np.tril_indices(n, k=diag)
    out = ember.zeros(vec.shape[:-1] + (n, n), dtype=vec.dtype)
    out[..., _wrap(rows), _wrap(cols)] = vec
    return out
