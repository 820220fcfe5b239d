"""``RNN``/``LSTM``/``GRU`` over a :class:`~ember.nn.utils.rnn.PackedSequence`.

The fused recurrent nodes (``ember.ops.rnn``) run every sequence of a batch for the same number
of steps. A packed batch is sorted by decreasing length, so its sequences fall into runs of equal
length: each run goes through the whole stack on its own (its first ``length`` steps, no padding
ever enters a recurrence), and the results are joined and packed again. Each sequence's final
state is therefore the state after its last real step, as in PyTorch, and gradients flow through
ordinary differentiable ops. The cost is one pass of the stack per distinct length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._creation import zeros
from ..._tensor import Tensor, _wrap
from ...ops import indexing as IX
from ...ops import join as J
from ...ops import shape as S
from ..functional import _rnn as FR
from ..utils.rnn import PackedSequence, _pack_index, _sorted_lengths, pad_packed_sequence

__all__: list[str] = []


def _runs(lens: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, end, length)`` of every run of equal lengths in the sorted ``lens``."""
    cuts = [0, *(np.flatnonzero(np.diff(lens)) + 1).tolist(), lens.size]
    return [(a, b, int(lens[a])) for a, b in zip(cuts[:-1], cuts[1:])]


def _sorted_state(module: Any, hx: Tensor | None, packed: PackedSequence, size: int) -> Tensor:
    """The initial state in the packed (sorted) batch order: zeros by default."""
    nd = 2 if module.bidirectional else 1
    batch = int(packed.batch_sizes[0])
    if hx is None:
        return zeros(module.num_layers * nd, batch, size, dtype=packed.data.dtype)
    if packed.sorted_indices is not None:
        return IX.index_select(hx, 1, packed.sorted_indices)
    return hx


def run_packed(module: Any, packed: PackedSequence, hx: Any) -> tuple:
    """Forward of ``module`` (an ``RNNBase``) on ``packed``; returns what the module returns."""
    lstm = module.mode == "LSTM"
    data, batch_sizes = packed.data, packed.batch_sizes
    real = module.proj_size if module.proj_size > 0 else module.hidden_size
    if lstm:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
        h0 = _sorted_state(module, None if hx is None else hx[0], packed, real)
        c0 = _sorted_state(module, None if hx is None else hx[1], packed, module.hidden_size)
        module.check_forward_args(data, (h0, c0), batch_sizes)
    else:
        h0 = _sorted_state(module, hx, packed, module.hidden_size)
        c0 = None
        module.check_forward_args(data, h0, batch_sizes)
    padded, _ = pad_packed_sequence(PackedSequence(data, batch_sizes))
    bs = np.asarray(batch_sizes._data).astype(np.int64)
    lens = _sorted_lengths(bs)
    steps, batch = padded.shape[0], padded.shape[1]
    outs, hs, cs = [], [], []
    for start, end, length in _runs(lens):
        out, h_n, c_n = FR.rnn_forward(
            module.mode,
            padded[:length, start:end],
            h0[:, start:end],
            c0[:, start:end] if lstm else None,
            module._layer_weights(),
            module.num_layers,
            module.dropout,
            module.training,
            module.bidirectional,
        )
        if length < steps:
            out = J.cat([out, zeros(steps - length, *out.shape[1:], dtype=out.dtype)], 0)
        outs.append(out)
        hs.append(h_n)
        cs.append(c_n)
    out = J.cat(outs, 1)
    _, rows = _pack_index(lens, steps, batch)
    flat = S.reshape(out, (steps * batch, out.shape[2]))
    out_packed = PackedSequence(
        IX.index_select(flat, 0, _wrap(rows)),
        batch_sizes,
        packed.sorted_indices,
        packed.unsorted_indices,
    )
    h_n = _unsort(J.cat(hs, 1), packed)
    if lstm:
        return out_packed, (h_n, _unsort(J.cat(cs, 1), packed))
    return out_packed, h_n


def _unsort(state: Tensor, packed: PackedSequence) -> Tensor:
    if packed.unsorted_indices is None:
        return state
    return IX.index_select(state, 1, packed.unsorted_indices)
