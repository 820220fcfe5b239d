"""nn.functional: ``gumbel_softmax``, ``pdist`` and ``channel_shuffle``."""

from __future__ import annotations

import math

from ..._creation import zeros_like
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops import distance as DIST
from ...ops import indexing as IX
from ...ops import shape as S
from ...ops.softmax import softmax

__all__ = ["gumbel_softmax", "pdist", "channel_shuffle"]


def _gumbel_noise(logits: Tensor) -> Tensor:
    """``-log(E)`` with ``E ~ Exponential(1)``: standard Gumbel noise of ``logits``' shape."""
    with no_grad():
        return -(logits.new_empty(tuple(logits.shape)).exponential_().log())


def _gumbel_from_noise(logits: Tensor, gumbels: Tensor, tau: float, hard: bool, dim: int) -> Tensor:
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    # Straight-through: the forward value is one-hot, the gradient is the soft sample's.
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = IX.scatter(zeros_like(logits), dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution over ``dim``: ``softmax((logits +
    g) / tau)`` with Gumbel noise ``g``. With ``hard=True`` the result is one-hot but its
    gradient is the soft sample's (straight-through). ``eps`` is unused, as in PyTorch.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> y = F.gumbel_softmax(ember.randn(2, 5), tau=0.5, hard=True)
    >>> y.sum(1).tolist()
    [1.0, 1.0]
    """
    return _gumbel_from_noise(logits, _gumbel_noise(logits), tau, hard, dim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distance between every pair of rows of ``input`` ``(N, M)``: a vector of
    ``N * (N - 1) / 2`` values, pairs ``(0, 1), (0, 2), ..., (N - 2, N - 1)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.pdist(ember.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    tensor([ 5., 10.,  5.])
    """
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    return DIST.Pdist.apply(input, float(p) if not math.isinf(p) else math.inf)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels (dim 1) into ``groups`` groups and interleave them: channel
    ``g * (C // groups) + k`` moves to ``k * groups + g``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.channel_shuffle(ember.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
    [0.0, 2.0, 1.0, 3.0]
    """
    if input.dim() <= 2:
        raise RuntimeError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"{list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    n, rest = input.shape[0], tuple(input.shape[2:])
    x = S.reshape(input, (n, groups, c // groups, *rest))
    return S.reshape(S.transpose(x, 1, 2), (n, c, *rest))
