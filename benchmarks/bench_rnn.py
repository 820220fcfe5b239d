"""Recurrent and attention benchmarks: LSTM and GRU training passes and self-attention, ember vs
torch on the same weights (copied from ember) and data: forward, a sum loss, backward."""

from __future__ import annotations

import numpy as np

from .harness import Case


def _make(lib_name: str, build, x_shape: tuple, call):
    if lib_name == "ember":
        import ember as lib
    else:
        import torch as lib
    import ember

    ember.manual_seed(0)
    ref = build(ember.nn)
    model = build(lib.nn)
    model.load_state_dict({k: lib.tensor(np.array(v._data)) for k, v in ref.state_dict().items()})
    x = lib.tensor(np.random.default_rng(0).standard_normal(x_shape).astype(np.float32))
    x.requires_grad_(True)

    def step():
        model.zero_grad()
        out = call(model, x)
        out.sum().backward()
        return out

    return step


def _lstm(nn):
    return nn.LSTM(64, 128, num_layers=2, batch_first=True)


def _gru(nn):
    return nn.GRU(64, 128, bidirectional=True)


def _mha(nn):
    return nn.MultiheadAttention(128, 8, batch_first=True)


def _first(model, x):
    return model(x)[0]


def _self_attn(model, x):
    return model(x, x, x, need_weights=False)[0]


CASES = [
    Case(
        "rnn: LSTM(64,128,2 layers) b32 T50, fwd+bwd",
        lambda: _make("ember", _lstm, (32, 50, 64), _first),
        lambda: _make("torch", _lstm, (32, 50, 64), _first),
        rounds=10,
        target=1.3,
    ),
    Case(
        "rnn: GRU(64,128,bidirectional) T50 b32, fwd+bwd",
        lambda: _make("ember", _gru, (50, 32, 64), _first),
        lambda: _make("torch", _gru, (50, 32, 64), _first),
        rounds=10,
    ),
    Case(
        "attn: MHA(128, 8 heads) self-attn b16 L64, fwd+bwd",
        lambda: _make("ember", _mha, (16, 64, 128), _self_attn),
        lambda: _make("torch", _mha, (16, 64, 128), _self_attn),
        rounds=10,
        target=1.1,
    ),
]
