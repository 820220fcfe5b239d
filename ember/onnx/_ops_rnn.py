"""ONNX translations of ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (one ONNX node per layer).

ONNX orders the gates differently (LSTM: i, o, f, c against PyTorch's i, f, g, o; GRU: z, r, h
against r, z, n), so the weights are regrouped; PyTorch's GRU applies the reset gate after the
hidden product, which is ONNX's ``linear_before_reset=1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor
from ._graph import ExportError, Graph
from ._tracer import MODULES

_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _weights(m: Any, layer: int) -> tuple:
    """W, R, B of one layer, directions stacked, gates in ONNX order."""
    order, H = _ORDER[m.mode], m.hidden_size
    ws, rs, bs = [], [], []
    for sfx in ("", "_reverse")[: 2 if m.bidirectional else 1]:

        def gates(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a[i * H : (i + 1) * H] for i in order])

        w = getattr(m, f"weight_ih_l{layer}{sfx}").detach().numpy()
        r = getattr(m, f"weight_hh_l{layer}{sfx}").detach().numpy()
        ws.append(gates(w))
        rs.append(gates(r))
        if m.bias:
            bi = getattr(m, f"bias_ih_l{layer}{sfx}").detach().numpy()
            bh = getattr(m, f"bias_hh_l{layer}{sfx}").detach().numpy()
            bs.append(np.concatenate([gates(bi), gates(bh)]))
        else:
            bs.append(np.zeros(2 * len(order) * H, w.dtype))
    return np.stack(ws), np.stack(rs), np.stack(bs)


def _state_rows(g: Graph, state: Any, layer: int, nd: int) -> str:
    if state is None:
        return ""
    return g.node(
        "Slice", [g.name(state), g.ints([layer * nd]), g.ints([(layer + 1) * nd]), g.ints([0])]
    )


def _rnn(g: Graph, m: Any, out: Any, x: Tensor, hx: Any = None) -> list:
    if m.proj_size:
        raise ExportError("ember.onnx.export: LSTM with proj_size cannot be exported")
    if not isinstance(x, Tensor) or x.ndim != 3:
        raise ExportError(f"ember.onnx.export: {type(m).__name__} needs a batched 3-D input tensor")
    lstm = m.mode == "LSTM"
    h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
    nd, kind = 2 if m.bidirectional else 1, {"LSTM": "LSTM", "GRU": "GRU"}.get(m.mode, "RNN")
    attrs: dict = {
        "hidden_size": m.hidden_size,
        "direction": "bidirectional" if nd == 2 else "forward",
    }
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        attrs["activations"] = ["Relu" if m.mode == "RNN_RELU" else "Tanh"] * nd
    y = g.name(x)
    if m.batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    hs, cs = [], []
    for layer in range(m.num_layers):
        W, R, B = (g.const(a, f"{kind.lower()}_l{layer}") for a in _weights(m, layer))
        ins = [y, W, R, B, "", _state_rows(g, h0, layer, nd)]
        if lstm:
            ins.append(_state_rows(g, c0, layer, nd))
        outs = g.node(kind, ins, n_out=3 if lstm else 2, **attrs)
        # Y is (seq, directions, batch, hidden): back to (seq, batch, directions * hidden)
        y = g.node(
            "Reshape", [g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])]
        )
        hs.append(outs[1])
        if lstm:
            cs.append(outs[2])
    if m.batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    h = hs[0] if len(hs) == 1 else g.node("Concat", hs, axis=0)
    if not lstm:
        return [y, h]
    c = cs[0] if len(cs) == 1 else g.node("Concat", cs, axis=0)
    return [y, h, c]


for _c in (nn.RNN, nn.LSTM, nn.GRU):
    MODULES[_c] = _rnn
