"""``nn.utils.rnn``: padding and packing variable-length sequences, as PyTorch's.

A :class:`PackedSequence` stores the time steps of a batch of sequences sorted by decreasing
length, step after step: ``data`` holds the ``batch_sizes[0]`` first steps, then the
``batch_sizes[1]`` second steps, and so on. Packing and unpacking are row gathers
(``index_select``), so gradients flow back to the padded input and to the packed data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import _creation as C
from ..._tensor import Tensor, _wrap
from ...ops import indexing as IX
from ...ops import join as J
from ...ops import shape as S

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A packed batch of variable-length sequences (see the module docstring).

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`, not directly.
    ``sorted_indices[i]`` is the batch position of the ``i``-th longest sequence;
    ``unsorted_indices`` is its inverse (both None when the batch was already sorted).

    >>> import ember
    >>> from ember.nn.utils.rnn import pack_sequence
    >>> p = pack_sequence([ember.tensor([1, 2, 3]), ember.tensor([4, 5])])
    >>> p.data, p.batch_sizes
    (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
    """

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # PyTorch's legacy form PackedSequence((data, batch_sizes)).
            data, batch_sizes = data[0], data[1]
        if not isinstance(batch_sizes, Tensor) or batch_sizes.dim() != 1:
            raise TypeError("PackedSequence: batch_sizes should be a 1D int64 tensor")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the index tensors stay as they are. Returns ``self`` when ``data``
        is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Already on the CPU: returns ``self``."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """As ``Tensor.cuda``: ember runs on the CPU only."""
        return self.to(self.data.cuda(*args, **kwargs))

    def pin_memory(self) -> PackedSequence:
        """Nothing to pin on the CPU: returns ``self``."""
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=_dt("float64"))

    def float(self) -> PackedSequence:
        return self.to(dtype=_dt("float32"))

    def half(self) -> PackedSequence:
        return self.to(dtype=_dt("float16"))

    def long(self) -> PackedSequence:
        return self.to(dtype=_dt("int64"))

    def int(self) -> PackedSequence:
        return self.to(dtype=_dt("int32"))

    def short(self) -> PackedSequence:
        return self.to(dtype=_dt("int16"))

    def char(self) -> PackedSequence:
        return self.to(dtype=_dt("int8"))

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dt("uint8"))

    @property
    def is_cuda(self) -> bool:
        """Always False (ember runs on the CPU)."""
        return False

    def is_pinned(self) -> bool:
        """Always False."""
        return False


def _dt(name: str) -> Any:
    from ... import _dtype

    return getattr(_dtype, name)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation given as an index tensor (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation._data)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=p.dtype)
    return _wrap(inv)


def _lengths_array(lengths: Any) -> np.ndarray:
    if isinstance(lengths, Tensor):
        arr = np.asarray(lengths._data)
    else:
        arr = np.asarray(list(lengths))
    if arr.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D tensor but got {arr.ndim}D")
    return arr.astype(np.int64)


def _pack_index(lens: np.ndarray, steps: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``lens``: ``batch_sizes`` and, per packed row, its row in ``(T * B)``."""
    batch_sizes = (lens[None, :] > np.arange(int(lens[0]))[:, None]).sum(1)
    rows = [t * batch + np.arange(n) for t, n in enumerate(batch_sizes)]
    return batch_sizes.astype(np.int64), np.concatenate(rows)


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | list[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences with
    the given ``lengths``.

    With ``enforce_sorted=True`` the lengths must be in decreasing order; otherwise the batch is
    sorted here and the permutation kept in ``sorted_indices``.
    """
    lens = _lengths_array(lengths)
    if batch_first:
        input = S.transpose(input, 0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if lens.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={batch})"
        )
    if (lens <= 0).any():
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    sorted_indices = None
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX exportability."
            )
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _wrap(order.astype(np.int64))
        lens = lens[order]
        input = IX.index_select(input, 1, sorted_indices)
    if lens[0] > steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length ({int(lens[0])}) is larger than the padded "
            f"sequence length ({steps})"
        )
    batch_sizes, rows = _pack_index(lens, steps, batch)
    flat = S.reshape(input, (steps * batch, *input.shape[2:]))
    data = IX.index_select(flat, 0, _wrap(rows))
    return PackedSequence(data, _wrap(batch_sizes), sorted_indices, None)


def _sorted_lengths(batch_sizes: np.ndarray) -> np.ndarray:
    """The sorted lengths a ``batch_sizes`` vector describes."""
    return (batch_sizes[None, :] > np.arange(int(batch_sizes[0]))[:, None]).sum(1)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: returns ``(padded, lengths)`` in the original batch
    order; ``padded`` has ``total_length`` steps when given (at least the longest length)."""
    data = sequence.data
    bs = np.asarray(sequence.batch_sizes._data).astype(np.int64)
    lens = _sorted_lengths(bs)
    batch, max_len = int(bs[0]), int(bs.size)
    steps = max_len
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}"
            )
        steps = int(total_length)
    _, rows = _pack_index(lens, steps, batch)
    # Every padded position reads the packed row that fills it, or one extra padding row.
    source = np.full(steps * batch, data.shape[0], dtype=np.int64)
    source[rows] = np.arange(rows.size)
    pad_row = C.full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    table = J.cat([data, pad_row], 0)
    padded = S.reshape(IX.index_select(table, 0, _wrap(source)), (steps, batch, *data.shape[1:]))
    out_lens = lens
    if sequence.unsorted_indices is not None:
        padded = IX.index_select(padded, 1, sequence.unsorted_indices)
        out_lens = lens[np.asarray(sequence.unsorted_indices._data)]
    if batch_first:
        padded = S.transpose(padded, 0, 1)
    return padded, _wrap(np.ascontiguousarray(out_lens, dtype=np.int64))


def pad_sequence(
    sequences: Tensor | list[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack tensors of shapes ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with
    ``batch_first``), padding with ``padding_value`` on the ``padding_side`` (``'right'`` or
    ``'left'``)."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if isinstance(sequences, Tensor):
        sequences = list(J.unbind(sequences, 0))
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        gap = longest - s.shape[0]
        if gap:
            pad = C.full((gap, *s.shape[1:]), padding_value, dtype=s.dtype)
            s = J.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return J.stack(rows, 0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False
) -> list[Tensor]:
    """Split a padded batch back into a list of its sequences (``lengths`` gives each length)."""
    if not batch_first:
        padded_sequences = S.transpose(padded_sequences, 0, 1)
    return [padded_sequences[i, : int(n)] for i, n in enumerate(_lengths_array(lengths))]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors of shapes ``(L_i, *)`` (decreasing ``L_i`` unless
    ``enforce_sorted=False``)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of tensors a :class:`PackedSequence` holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
