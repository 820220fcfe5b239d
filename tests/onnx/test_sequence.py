"""Recurrent layers, attention and transformer encoders through onnxruntime."""

from __future__ import annotations

import pytest

import ember
from ember import nn

from ._lib import assert_same


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("batch_first,bidirectional,layers", [(False, False, 1), (True, True, 2)])
def test_rnn_family(cls, batch_first: bool, bidirectional: bool, layers: int) -> None:
    m = cls(3, 5, layers, batch_first=batch_first, bidirectional=bidirectional)
    outs = ["y", "h"] + (["c"] if cls is nn.LSTM else [])
    dyn = {"x": {0: "a", 1: "b"}}
    assert_same(
        m,
        (ember.randn(4, 6, 3),),
        [ember.randn(3, 7, 3)],
        input_names=["x"],
        output_names=outs,
        dynamic_axes=dyn,
    )


def test_rnn_relu_and_initial_state() -> None:
    m = nn.RNN(3, 4, 2, nonlinearity="relu")
    assert_same(m, (ember.randn(5, 2, 3), ember.randn(2, 2, 4)))


def test_lstm_initial_states() -> None:
    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 4, 2, bidirectional=True)

        def forward(self, x, h, c):
            out, (hn, cn) = self.lstm(x, (h, c))
            return out, hn, cn

    args = (ember.randn(5, 2, 3), ember.randn(4, 2, 4), ember.randn(4, 2, 4))
    assert_same(Wrap(), args)


def test_lstm_with_proj_size_refused() -> None:
    with pytest.raises(ember.onnx.ExportError, match="proj_size"):
        assert_same(nn.LSTM(3, 4, proj_size=2), (ember.randn(5, 2, 3),))


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(batch_first: bool) -> None:
    m = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    q = ember.randn(4, 5, 8)
    kv = ember.randn(4, 6, 8) if batch_first else ember.randn(6, 5, 8)
    assert_same(m, (q, kv, kv))


def test_multihead_attention_kdim_and_masks() -> None:
    m = nn.MultiheadAttention(8, 2, kdim=5, vdim=3)

    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = m

        def forward(self, q, k, v, pad):
            return self.m(q, k, v, key_padding_mask=pad, average_attn_weights=False)

    pad = ember.tensor([[False, False, True], [False, False, False]])
    assert_same(Wrap(), (ember.randn(4, 2, 8), ember.randn(3, 2, 5), ember.randn(3, 2, 3), pad))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder(norm_first: bool, activation: str) -> None:
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, batch_first=True, norm_first=norm_first, activation=activation
    )
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x = ember.randn(3, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)

    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = enc

        def forward(self, x, mask):
            return self.enc(x, mask=mask)

    assert_same(Wrap(), (x, mask), atol=1e-5)
    dyn = {"x": {0: "batch"}, "o": {0: "batch"}}
    assert_same(
        Wrap(),
        (x, mask),
        [ember.randn(7, 5, 8), mask],
        input_names=["x", "mask"],
        output_names=["o"],
        dynamic_axes=dyn,
    )
