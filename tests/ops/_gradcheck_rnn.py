"""Gradcheck rows of the fused recurrent layers (``ember.ops.rnn``): T=3, batch 2, hidden 3,
forward and reverse direction, with and without biases (and the LSTM projection); the LSTM
with its input projection in the node (input size 2) too."""

from __future__ import annotations

from ember.ops import rnn as R
from tests.ops._cases import d

T, B, H, P, I = 3, 2, 3, 2, 2


def add_rnn_rows(gc) -> None:
    """Register the recurrent-layer rows with ``gc(prim, fn, *specs, name=...)``."""
    for rev in (False, True):
        tag = "Reverse" if rev else ""
        for relu in (False, True):
            gc(
                R.RNNLayer,
                lambda gi, h0, w, b, relu=relu, rev=rev: R.RNNLayer.apply(gi, h0, w, b, relu, rev),
                d(T, B, H, low=-1, high=1),
                d(B, H, low=-1, high=1),
                d(H, H, low=-1, high=1),
                d(H, low=-1, high=1),
                name=f"RNNLayer{'Relu' if relu else 'Tanh'}{tag}",
            )
        gc(
            R.LSTMLayer,
            lambda gi, h0, c0, w, b, rev=rev: R.LSTMLayer.apply(gi, h0, c0, w, b, None, rev),
            d(T, B, 4 * H),
            d(B, H),
            d(B, H),
            d(4 * H, H),
            d(4 * H),
            name=f"LSTMLayer{tag}",
        )
        gc(
            R.LSTMLayer,
            lambda gi, h0, c0, w, wr, rev=rev: R.LSTMLayer.apply(gi, h0, c0, w, None, wr, rev),
            d(T, B, 4 * H),
            d(B, P),
            d(B, H),
            d(4 * H, P),
            d(P, H),
            name=f"LSTMLayerProj{tag}",
        )
        gc(
            R.LSTMInputLayer,
            lambda x, wi, b, h0, c0, w, rev=rev: R.LSTMInputLayer.apply(
                x, wi, b, h0, c0, w, None, rev
            ),
            d(T, B, I),
            d(4 * H, I),
            d(4 * H),
            d(B, H),
            d(B, H),
            d(4 * H, H),
            name=f"LSTMInputLayer{tag}",
        )
        gc(
            R.LSTMInputLayer,
            lambda x, wi, h0, c0, w, wr, rev=rev: R.LSTMInputLayer.apply(
                x, wi, None, h0, c0, w, wr, rev
            ),
            d(T, B, I),
            d(4 * H, I),
            d(B, P),
            d(B, H),
            d(4 * H, P),
            d(P, H),
            name=f"LSTMInputLayerProj{tag}",
        )
        gc(
            R.GRULayer,
            lambda gi, h0, w, b, rev=rev: R.GRULayer.apply(gi, h0, w, b, rev),
            d(T, B, 3 * H),
            d(B, H),
            d(3 * H, H),
            d(3 * H),
            name=f"GRULayer{tag}",
        )
        gc(
            R.GRULayer,
            lambda gi, h0, w, rev=rev: R.GRULayer.apply(gi, h0, w, None, rev),
            d(T, B, 3 * H),
            d(B, H),
            d(3 * H, H),
            name=f"GRULayerNoBias{tag}",
        )
