"""Recurrent building blocks behind ``nn.RNN``/``nn.LSTM``/``nn.GRU`` and their cells.

PyTorch exposes no public ``F.*`` recurrent function (its modules call ``torch._VF``); these
private helpers play that role. Per layer and direction the input projection of all time steps
is one GEMM (``F.linear`` on ``(T * B, I)``), then one fused node (``ember.ops.rnn``) runs the
recurrence; an LSTM layer is one node with its projection inside (``LSTMInputLayer``: it
overlaps the projection and its gradients with the time loop).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..._tensor import Tensor
from ...ops import join as J
from ...ops import linalg as L
from ...ops import rnn as R
from ...ops import shape as S
from ._dropout import dropout as _dropout

__all__: list[str] = []

# (w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction; absent ones are None.
LayerWeights = tuple


def _project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    """``x @ w_ih.T + b_ih`` for every time step at once: ``(T, B, I) -> (T, B, G)``."""
    n, b = x.shape[0], x.shape[1]
    flat = S.reshape(x, (n * b, x.shape[2]))
    return S.reshape(L.linear(flat, w_ih, b_ih), (n, b, w_ih.shape[0]))


def run_layer(
    mode: str,
    x: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    weights: LayerWeights,
    reverse: bool = False,
) -> tuple:
    """One direction of one layer over time-major ``x`` ``(T, B, I)``.

    Returns ``(output, h_n)``, or ``(output, h_n, c_n)`` for ``mode == 'LSTM'``.
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if mode == "LSTM":  # the projection in the layer's node (its gradients beside the loop)
        b = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
        return R.LSTMInputLayer.apply(x, w_ih, b, h0, c0, w_hh, w_hr, reverse)
    if mode != "GRU" and b_ih is not None and b_hh is not None:
        # Both biases add to every pre-activation (GRU's b_hn does not: it sits inside the
        # reset product): adding their sum in the projection GEMM saves the layer a pass over
        # the (T, B, G) pre-activations, and each bias still gets the sum of the gate gradients.
        b_ih, b_hh = b_ih + b_hh, None
    gi = _project(x, w_ih, b_ih)
    if mode == "GRU":
        return R.GRULayer.apply(gi, h0, w_hh, b_hh, reverse)
    return R.RNNLayer.apply(gi, h0, w_hh, b_hh, mode == "RNN_RELU", reverse)


def rnn_forward(
    mode: str,
    x: Tensor,
    hx: Tensor,
    cx: Tensor | None,
    weights: Sequence[LayerWeights],
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
) -> tuple:
    """A stacked (optionally bidirectional) recurrent network over time-major ``x``.

    ``hx``/``cx`` are ``(num_layers * D, B, *)``; ``weights`` lists one entry per layer and
    direction, in PyTorch's order (``l0``, ``l0_reverse``, ``l1``...). Dropout is applied to the
    output of every layer but the last, only when ``training``.

    Returns ``(output (T, B, D * P), h_n, c_n)``; ``c_n`` is None unless ``mode == 'LSTM'``.
    """
    nd = 2 if bidirectional else 1
    lstm = mode == "LSTM"
    h_out, c_out = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(nd):
            k = layer * nd + d
            res = run_layer(mode, x, hx[k], cx[k] if lstm else None, weights[k], reverse=d == 1)
            outs.append(res[0])
            h_out.append(res[1])
            if lstm:
                c_out.append(res[2])
        x = outs[0] if nd == 1 else J.cat(outs, 2)
        if dropout > 0 and training and layer < num_layers - 1:
            x = _dropout(x, dropout, True)
    h_n = J.stack(h_out, 0)
    c_n = J.stack(c_out, 0) if lstm else None
    return x, h_n, c_n


def cell_forward(
    mode: str,
    x: Tensor,
    h: Tensor,
    c: Tensor | None,
    weights: LayerWeights,
) -> tuple:
    """One time step of a cell on batched ``x`` ``(B, I)``: returns ``(h', c')`` (``c'`` None
    unless LSTM)."""
    res = run_layer(mode, S.unsqueeze(x, 0), h, c, weights)
    return res[1], (res[2] if mode == "LSTM" else None)
