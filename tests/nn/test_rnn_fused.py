"""The fused recurrent layers at sizes where every code path of their per-step loops runs many
times (ember.ops.rnn): LSTM/RNN with the recurrent bias added in the projection GEMM, LSTM
backward on cache-resident rows, projections and both directions — outputs, final states and
every gradient against PyTorch, and second derivatives through nn.LSTM."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember._runtime import blas_control
from ember.ops import _rnn_grads
from tests.nn.test_rnn import _backward_all, _compare_param_grads, _leaf, _pair
from tests.parity import assert_close

CONFIGS = [
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"num_layers": 2, "proj_size": 7, "batch_first": True}),
    ("LSTM", {"bias": False}),
    ("RNN", {"num_layers": 2, "bidirectional": True}),
    ("RNN", {"nonlinearity": "relu"}),
    ("GRU", {"num_layers": 2}),
]


@pytest.fixture
def chunks(monkeypatch):
    """Every backward computes its weight gradients chunk by chunk beside the loop, and an
    LSTM's forward its input projection (two threads, no size threshold); yields the step
    ranges computed (to check that it happened)."""
    monkeypatch.setattr(_rnn_grads, "MIN_WORK", 0)
    ranges: list = []
    plain = _rnn_grads.StepGrads._partial

    def spy(self, a, b):
        ranges.append((a, b))
        return plain(self, a, b)

    monkeypatch.setattr(_rnn_grads.StepGrads, "_partial", spy)
    fill = _rnn_grads.StepInputs._fill

    def spy_fill(self, a, b, whole=False):
        ranges.append(("inputs", a, b))
        return fill(self, a, b, whole)

    monkeypatch.setattr(_rnn_grads.StepInputs, "_fill", spy_fill)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        yield ranges
    finally:
        ember.set_num_threads(before)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=str)
def test_fused_layers_at_size_match_torch(name, kwargs):
    _run_and_compare(name, kwargs, 8)


OVERLAPPED = [
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"num_layers": 2, "proj_size": 7, "batch_first": True}),
    ("GRU", {"bidirectional": True}),
    ("RNN", {"bidirectional": True}),
    ("RNN", {"nonlinearity": "relu", "bias": False}),
]


@pytest.mark.parametrize("name,kwargs", OVERLAPPED, ids=str)
def test_work_overlapped_with_the_loop_matches_torch(name, kwargs, chunks):
    # 13 steps: chunks of 4 steps, the last one shorter and left to the end of the loop.
    _run_and_compare(name, kwargs, 8, seq=13)
    if blas_control() is not None:  # (without it the sums stay whole-sequence GEMMs)
        grads = [r for r in chunks if r[0] != "inputs"]
        assert len(grads) >= 3 and all(b - a <= 4 for a, b in grads)
        if name == "LSTM":  # (its input projection too, ahead of the forward loop)
            inputs = [r for r in chunks if r[0] == "inputs"]
            assert len(inputs) >= 3 and all(b - a <= 4 for _, a, b in inputs)


def _run_and_compare(name: str, kwargs: dict, batch: int, seq: int = 12) -> None:
    """Outputs, final states and every gradient of one configuration against torch."""
    in_size, hidden = 10, 32
    e, t = _pair(name, in_size, hidden, **kwargs)
    rng = np.random.default_rng(1)
    shape = (batch, seq, in_size) if kwargs.get("batch_first") else (seq, batch, in_size)
    ex, tx = _leaf(rng.standard_normal(shape).astype(np.float32))
    nd = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    h_size = kwargs.get("proj_size") or hidden
    eh, th = _leaf(rng.standard_normal((layers * nd, batch, h_size)).astype(np.float32))
    leaves = [(eh, th)]
    se, st = eh, th
    if name == "LSTM":
        ec, tc = _leaf(rng.standard_normal((layers * nd, batch, hidden)).astype(np.float32))
        leaves.append((ec, tc))
        se, st = (eh, ec), (th, tc)
    out_e, hn_e = e(ex, se)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported..."
        out_t, hn_t = t(tx, st)
    hn_e = hn_e if isinstance(hn_e, tuple) else (hn_e,)
    hn_t = hn_t if isinstance(hn_t, tuple) else (hn_t,)
    assert_close(out_e, out_t, 1e-5, 1e-5, what="output")
    assert_close(list(hn_e), list(hn_t), 1e-5, 1e-5, what="final states")
    _backward_all([out_e, *hn_e], [out_t, *hn_t])
    assert_close(ex.grad, tx.grad, 1e-4, 1e-4, what="grad of input")
    for le, lt in leaves:
        assert_close(le.grad, lt.grad, 1e-4, 1e-4, what="grad of initial state")
    _compare_param_grads(e, t)


@pytest.mark.parametrize("kwargs", [{}, {"bidirectional": True, "proj_size": 3}], ids=str)
def test_lstm_second_derivative_matches_torch(kwargs):
    # create_graph through nn.LSTM (biases folded into the projection): the gradient of a
    # gradient norm w.r.t. the input and every weight.
    e, t = _pair("LSTM", 3, 5, num_layers=2, **kwargs)
    e, t = e.double(), t.double()
    arr = np.random.default_rng(2).standard_normal((4, 2, 3))

    def run(lib, m):
        x = lib.tensor(arr, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's projection warning, as above
            out = m(x)[0]
        (gx,) = lib.autograd.grad((out * out).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        return x.grad, [p.grad for p in m.parameters()]

    (xe, pe), (xt, pt) = run(ember, e), run(torch, t)
    assert_close(xe, xt, 1e-8, 1e-10, what="input")
    for i, (a, b) in enumerate(zip(pe, pt)):
        assert_close(a, b, 1e-8, 1e-10, what=f"parameter {i}")
