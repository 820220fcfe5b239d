"""``parameters_to_vector`` and ``vector_to_parameters``: a model's parameters as one flat
vector and back."""

from __future__ import annotations

from collections.abc import Iterable

from ..._tensor import Tensor, _wrap
from ...ops import join as J
from ...ops import shape as S

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable).

    >>> import ember
    >>> from ember import nn
    >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape
    ember.Size([8])
    """
    return J.cat([S.reshape(p, -1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Give each of ``parameters`` (in order) the next slice of ``vec``, reshaped to its
    shape, as its data (a view into ``vec``, as PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    flat = vec._data.reshape(-1)
    pointer = 0
    for param in parameters:
        n = param.numel()
        if pointer + n > flat.size:
            raise RuntimeError(
                f"vector_to_parameters: the vector has {flat.size} elements, fewer than the "
                f"parameters need (at least {pointer + n})"
            )
        param.data = _wrap(flat[pointer : pointer + n].reshape(param.shape))
        pointer += n
