"""nn.functional, embedding family: embedding, embedding_bag and one_hot."""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ...ops.embedding import Embedding, embedding_renorm_

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(input: Tensor, fn: str) -> np.ndarray:
    idx = input._data
    if idx.dtype != np.int64 and idx.dtype != np.int32:
        name = {"float32": "Float", "float64": "Double", "bool": "Bool"}.get(
            idx.dtype.name, idx.dtype.name
        )
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got torch.{name}Tensor instead (while checking arguments "
            f"for {fn})"
        )
    return idx


def _check_range(idx: np.ndarray, n: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")


def _padding_row(padding_idx: int | None, n: int) -> int:
    if padding_idx is None:
        return -1
    if padding_idx > 0:
        if padding_idx >= n:
            raise AssertionError("Padding_idx must be within num_embeddings")
    elif padding_idx < 0:
        if padding_idx < -n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = n + padding_idx
    return int(padding_idx)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` (V, D) at integer ``input`` (any shape) -> (*, D).

    The ``padding_idx`` row gets no gradient. With ``max_norm`` the looked-up rows whose
    ``norm_type``-norm exceeds it are rescaled *in place* in ``weight`` first.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.embedding(ember.tensor([1, 0]), ember.tensor([[0.0, 1.0], [2.0, 3.0]]))
    tensor([[2., 3.],
            [0., 1.]])
    """
    idx = _check_indices(input, "embedding")
    w = weight._data
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    pad = _padding_row(padding_idx, w.shape[0])
    _check_range(idx, w.shape[0])
    if sparse:
        raise NotImplementedError("ember has no sparse gradients: use sparse=False")
    if max_norm is not None:
        embedding_renorm_(w, idx, float(max_norm), float(norm_type))
        weight._vc[0] += 1
    return Embedding.apply(weight, idx, pad, bool(scale_grad_by_freq))


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without materialising per-index rows twice.

    ``input`` is 2-D (B, L) — one bag per row — or 1-D with ``offsets`` giving where each bag
    starts. ``padding_idx`` entries are left out of their bag (an empty bag gives zeros).
    """
    from ...ops.join import stack
    from ...ops.reduction import amax

    idx = _check_indices(input, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    w = weight._data
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences. However, found offsets "
                f"of type {type(offsets)}"
            )
        b, length = idx.shape
        starts = np.arange(0, b * length, length)
        flat = idx.reshape(-1)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = offsets._data.astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        flat = idx
        psw = per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    pad = _padding_row(padding_idx, w.shape[0])
    rows = embedding(_wrap(flat), weight, None, max_norm, norm_type, scale_grad_by_freq)
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    ends = np.append(starts[1:], flat.shape[0])
    keep = flat != pad if pad >= 0 else np.ones(flat.shape[0], bool)
    if mode != "max":
        # Bag membership as a (bags, indices) matrix: one matrix product sums (or averages)
        # every bag at once, and its backward spreads the gradient back to the rows.
        pos = np.arange(flat.shape[0])
        member = (pos[None, :] >= starts[:, None]) & (pos[None, :] < ends[:, None]) & keep
        m = member.astype(w.dtype)
        if mode == "mean":
            counts = m.sum(axis=1, keepdims=True)
            m /= np.maximum(counts, 1)
        return _wrap(m) @ rows
    bags = []
    # max over ragged bags: one reduction per bag (a loop over bags, not over elements).
    for s, e in zip(starts.tolist(), ends.tolist()):
        sel = np.arange(s, e)[keep[s:e]]
        if sel.size == 0:
            bags.append(_wrap(np.zeros(w.shape[1], w.dtype)))
        else:
            bags.append(amax(rows[_wrap(sel)], 0))
    if not bags:
        return _wrap(np.zeros((0, w.shape[1]), w.dtype))
    return stack(bags, 0)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot int64 encoding of class indices: shape ``(*, num_classes)``.

    ``num_classes=-1`` uses ``max(tensor) + 1``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.one_hot(ember.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    t = tensor._data
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size:
        if t.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if t.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(t.shape + (num_classes,), np.int64)
    np.put_along_axis(out, t[..., None], 1, axis=-1)
    return _wrap(out)
