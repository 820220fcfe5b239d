"""``nn.AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2016), PyTorch's
layout (``head`` Linear, ``tail`` ModuleList of two-Linear Sequentials), so state dicts move
across unchanged."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._creation import zeros
from ..._tensor import Tensor, _wrap
from ...ops import indexing as IX
from ...ops import join as J
from ...ops import shape as S
from ...ops.reduction import argmax
from ...ops.softmax import log_softmax
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _check_cutoffs(cutoffs: list, n_classes: int) -> None:
    if len(cutoffs) == 0:
        raise ValueError("cutoffs should be a sequence of length larger than 0")
    if (
        cutoffs != sorted(cutoffs)
        or min(cutoffs) <= 0
        or max(cutoffs) > n_classes - 1
        or len(set(cutoffs)) != len(cutoffs)
        or any(int(c) != c for c in cutoffs)
    ):
        raise ValueError(
            "cutoffs should be a sequence of unique, positive integers sorted in an increasing "
            "order, where each value is between 1 and n_classes-1"
        )


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: frequent classes (below ``cutoffs[0]``) in the ``head``, the rest in
    clusters whose tails project to ``in_features // div_value**(i + 1)`` features first.

    ``forward(input, target)`` returns the named tuple ``(output, loss)``: each sample's target
    log-probability and the mean negative log-likelihood. ``log_prob(input)`` gives every
    class's log-probability, ``predict(input)`` the most likely class.

    >>> import ember
    >>> asm = ember.nn.AdaptiveLogSoftmaxWithLoss(16, 10, cutoffs=[4, 7])
    >>> out = asm(ember.randn(3, 16), ember.tensor([0, 5, 9]))
    >>> out.output.shape, out.loss.shape, asm.log_prob(ember.randn(3, 16)).shape
    (ember.Size([3]), ember.Size([]), ember.Size([3, 10]))
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        _check_cutoffs(cutoffs, n_classes)
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hsz, bias=False, dtype=dtype),
                    Linear(hsz, osz, bias=False, dtype=dtype),
                )
            )

    def reset_parameters(self) -> None:
        """Re-draw the head's and every tail projection's weights."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def _check(self, input: Tensor, target: Tensor) -> None:
        if target.dim() == 1:
            if input.size(0) != target.size(0):
                raise RuntimeError(
                    "Input and target should have the same size in the batch dimension."
                )
            if input.dim() != 2:
                raise RuntimeError(
                    "1D target tensor expects 2D input tensors, but found inputs with size",
                    input.size(),
                )
        elif target.dim() == 0:
            if input.dim() != 1:
                raise RuntimeError(
                    "0D target tensor expects 1D input tensors, but found inputs with size",
                    input.size(),
                )
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")

    def forward(self, input: Tensor, target: Tensor) -> _ASMoutput:
        """``(output, loss)``: target log-probabilities ``(N,)`` and their negated mean."""
        self._check(input, target)
        is_batched = target.dim() > 0
        x = input if is_batched else S.unsqueeze(input, 0)
        tgt = np.asarray(target._data).reshape(-1).astype(np.int64)
        if tgt.size and (tgt.min() < 0 or tgt.max() >= self.n_classes):
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{tgt.min()}, {tgt.max()}] were found. "
            )
        head_index = tgt.copy()
        rows_seen, pieces = [], []
        bounds = [0, *self.cutoffs]
        for i in range(1, len(bounds) - 1):
            rows = np.flatnonzero((tgt >= bounds[i]) & (tgt < bounds[i + 1]))
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i - 1
            sub = IX.index_select(x, 0, _wrap(rows))
            cluster_lp = log_softmax(self.tail[i - 1](sub), 1)
            local = _wrap((tgt[rows] - bounds[i]).reshape(-1, 1))
            pieces.append(S.reshape(IX.gather(cluster_lp, 1, local), (-1,)))
            rows_seen.append(rows)
        head_lp = log_softmax(self.head(x), 1)
        output = S.reshape(IX.gather(head_lp, 1, _wrap(head_index.reshape(-1, 1))), (-1,))
        if pieces:
            output = output + _scatter_rows(pieces, rows_seen, tgt.size, x)
        loss = (-output).mean()
        if not is_batched:
            output = S.squeeze(output, 0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        head_lp = log_softmax(head_output, 1)
        cols = [head_lp[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_lp = log_softmax(self.tail[i](input), 1)
            cols.append(
                cluster_lp + head_lp[:, self.shortlist_size + i : self.shortlist_size + i + 1]
            )
        return J.cat(cols, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """The log-probability of every class: ``(N, n_classes)`` for a batch ``(N, in_features)``
        (batched input only, as PyTorch)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each sample of a batch (the head decides unless a cluster
        wins; equal to ``log_prob(input).argmax(1)``)."""
        head_output = self.head(input)
        output = np.array(argmax(head_output, 1)._data)
        outside = output >= self.shortlist_size
        if outside.any():
            rows = _wrap(np.flatnonzero(outside))
            lp = self._get_full_log_prob(
                IX.index_select(input, 0, rows), IX.index_select(head_output, 0, rows)
            )
            output[outside] = np.asarray(argmax(lp, 1)._data)
        return _wrap(output)


def _scatter_rows(pieces: list[Tensor], rows: list[np.ndarray], n: int, like: Tensor) -> Tensor:
    """A length-``n`` vector holding ``pieces[k]`` at ``rows[k]`` and 0 elsewhere
    (differentiable: one concatenation and one gather)."""
    values = J.cat([*pieces, zeros(1, dtype=like.dtype)], 0)
    source = np.full(n, values.shape[0] - 1, dtype=np.int64)
    source[np.concatenate(rows)] = np.arange(values.shape[0] - 1)
    return IX.index_select(values, 0, _wrap(source))
