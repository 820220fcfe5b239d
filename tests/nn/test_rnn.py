"""RNN, LSTM, GRU and their cells against PyTorch: weights copied from ember into torch, then
outputs, final states and the gradients of input, initial states and every weight compared."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from ember.ops import rnn as R
from tests.parity import assert_close, copy_weights

RTOL, ATOL = 1e-5, 2e-6
GRTOL, GATOL = 1e-4, 2e-5


def _pair(name: str, *args, **kwargs):
    e = getattr(ember.nn, name)(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(torch.nn, name)(*args, **kwargs)
    copy_weights(e, t)
    return e, t


def _leaf(arr: np.ndarray):
    return ember.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _as_tuple(h):
    return h if isinstance(h, tuple) else (h,)


def _backward_all(outputs_e, outputs_t, seed: int = 3) -> None:
    """Backpropagate the same random upstream gradient through every output of both."""
    g = np.random.default_rng(seed)
    roots_e, roots_t, gs_e, gs_t = [], [], [], []
    for oe, ot in zip(outputs_e, outputs_t):
        up = g.standard_normal(tuple(ot.shape)).astype(np.float32)
        roots_e.append(oe)
        roots_t.append(ot)
        gs_e.append(ember.tensor(up))
        gs_t.append(torch.tensor(up))
    ember.autograd.backward(roots_e, gs_e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.autograd.backward(roots_t, gs_t)


def _compare_param_grads(e, t) -> None:
    named_t = dict(t.named_parameters())
    names = [n for n, _ in e.named_parameters()]
    assert names == list(named_t), "parameter names/order differ from torch"
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, GRTOL, GATOL, what=f"grad of {n}")


# name, kwargs, unbatched, give states
CONFIGS = [
    ("RNN", {}, False, False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, False, True),
    ("RNN", {"bidirectional": True, "bias": False, "batch_first": True}, False, True),
    ("LSTM", {}, False, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}, False, True),
    ("LSTM", {"num_layers": 2, "proj_size": 3}, False, True),
    ("LSTM", {"proj_size": 2, "bidirectional": True, "bias": False}, False, False),
    ("LSTM", {"num_layers": 2}, True, True),
    ("GRU", {}, False, False),
    ("GRU", {"num_layers": 2, "bidirectional": True}, False, True),
    ("GRU", {"batch_first": True, "bias": False}, False, True),
    ("GRU", {"bidirectional": True}, True, True),
    ("RNN", {"num_layers": 2, "batch_first": True}, True, True),
]


@pytest.mark.parametrize("name,kwargs,unbatched,give_state", CONFIGS)
def test_recurrent_layer_matches_torch(name, kwargs, unbatched, give_state):
    batch_first = kwargs.get("batch_first", False)
    in_size, hidden, seq, batch = 5, 6, 4, 3
    e, t = _pair(name, in_size, hidden, **kwargs)
    rng = np.random.default_rng(0)
    if unbatched:
        shape = (seq, in_size)
    else:
        shape = (batch, seq, in_size) if batch_first else (seq, batch, in_size)
    ex, tx = _leaf(rng.standard_normal(shape).astype(np.float32))
    nd = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    h_size = kwargs.get("proj_size") or hidden
    state_batch = () if unbatched else (batch,)
    states_e = states_t = None
    leaves = []
    if give_state:
        h0 = rng.standard_normal((layers * nd, *state_batch, h_size)).astype(np.float32)
        eh, th = _leaf(h0)
        leaves.append((eh, th))
        states_e, states_t = eh, th
        if name == "LSTM":
            c0 = rng.standard_normal((layers * nd, *state_batch, hidden)).astype(np.float32)
            ec, tc = _leaf(c0)
            leaves.append((ec, tc))
            states_e, states_t = (eh, ec), (th, tc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported..."
        out_t, hn_t = t(tx, states_t)
    out_e, hn_e = e(ex, states_e)
    assert_close(out_e, out_t, RTOL, ATOL, what="output")
    hn_e, hn_t = _as_tuple(hn_e), _as_tuple(hn_t)
    assert_close(list(hn_e), list(hn_t), RTOL, ATOL, what="final state")
    _backward_all([out_e, *hn_e], [out_t, *hn_t])
    assert_close(ex.grad, tx.grad, GRTOL, GATOL, what="grad of input")
    for le, lt in leaves:
        assert_close(le.grad, lt.grad, GRTOL, GATOL, what="grad of initial state")
    _compare_param_grads(e, t)


def test_float64_layer_matches_torch():
    e = ember.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=ember.float64)
    t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    copy_weights(e, t)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    ex, tx = _leaf(x)
    out_e, (h_e, c_e) = e(ex)
    out_t, (h_t, c_t) = t(tx)
    assert_close([out_e, h_e, c_e], [out_t, h_t, c_t], 1e-12, 1e-12)
    _backward_all([out_e], [out_t])
    assert_close(ex.grad, tx.grad, 1e-10, 1e-12)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu", "bias": False}),
        ("LSTMCell", {}),
        ("LSTMCell", {"bias": False}),
        ("GRUCell", {}),
        ("GRUCell", {"bias": False}),
    ],
)
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("give_state", [False, True])
def test_cells_match_torch(name, kwargs, unbatched, give_state):
    e, t = _pair(name, 5, 4, **kwargs)
    rng = np.random.default_rng(2)
    lead = () if unbatched else (3,)
    ex, tx = _leaf(rng.standard_normal((*lead, 5)).astype(np.float32))
    leaves = []
    se = st = None
    if give_state:
        eh, th = _leaf(rng.standard_normal((*lead, 4)).astype(np.float32))
        leaves.append((eh, th))
        se, st = eh, th
        if name == "LSTMCell":
            ec, tc = _leaf(rng.standard_normal((*lead, 4)).astype(np.float32))
            leaves.append((ec, tc))
            se, st = (eh, ec), (th, tc)
    out_e, out_t = _as_tuple(e(ex, se)), _as_tuple(t(tx, st))
    assert_close(list(out_e), list(out_t), RTOL, ATOL)
    _backward_all(list(out_e), list(out_t))
    assert_close(ex.grad, tx.grad, GRTOL, GATOL, what="grad of input")
    for le, lt in leaves:
        assert_close(le.grad, lt.grad, GRTOL, GATOL, what="grad of state")
    _compare_param_grads(e, t)


def test_cell_unrolled_equals_layer():
    """An LSTMCell stepped by hand gives the single-layer LSTM's outputs."""
    lstm = ember.nn.LSTM(3, 4)
    cell = ember.nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = ember.randn(5, 2, 3)
    out, (h_n, c_n) = lstm(x)
    h = c = ember.zeros(2, 4)
    for step in range(5):
        h, c = cell(x[step], (h, c))
        assert_close(h, out[step], 1e-6, 1e-7)
    assert_close([h, c], [h_n[0], c_n[0]], 1e-6, 1e-7)


# ---- parameters, init, repr -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("RNN", {"num_layers": 2, "bidirectional": True}),
        ("LSTM", {"num_layers": 3, "proj_size": 2, "bias": False}),
        ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 3}),
        ("GRU", {"num_layers": 2, "bidirectional": True}),
        ("RNNCell", {}),
        ("LSTMCell", {"bias": False}),
        ("GRUCell", {}),
    ],
)
def test_state_dict_keys_shapes_and_repr_match_torch(name, kwargs):
    e = getattr(ember.nn, name)(7, 5, **kwargs)
    t = getattr(torch.nn, name)(7, 5, **kwargs)
    se, st = e.state_dict(), t.state_dict()
    assert list(se) == list(st)
    for k in st:
        assert tuple(se[k].shape) == tuple(st[k].shape), k
    assert repr(e) == repr(t)
    bound = 1 / np.sqrt(5)
    for k, v in se.items():
        a = v.detach().numpy()
        assert np.all(np.abs(a) <= bound), k
        assert a.std() > bound / 4, f"{k} is not filled"


def test_reprs_of_options():
    kw = dict(num_layers=2, batch_first=True, dropout=0.5, bidirectional=True, proj_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(ember.nn.LSTM(10, 20, **kw)) == repr(torch.nn.LSTM(10, 20, **kw))
    assert repr(ember.nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)) == (
        "LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)"
    )
    assert repr(ember.nn.RNN(3, 4, 1, "relu", False)) == repr(torch.nn.RNN(3, 4, 1, "relu", False))
    assert repr(ember.nn.RNNCell(3, 4, False, "relu")) == repr(
        torch.nn.RNNCell(3, 4, False, "relu")
    )


def test_all_weights_and_flatten_parameters():
    e = ember.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    t = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    assert [[tuple(w.shape) for w in ws] for ws in e.all_weights] == [
        [tuple(w.shape) for w in ws] for ws in t.all_weights
    ]
    assert e._flat_weights_names == t._flat_weights_names
    assert e.flatten_parameters() is None
    # A replaced parameter is the one used by the next forward.
    x = ember.randn(2, 1, 3)
    e.weight_hh_l0 = ember.nn.Parameter(ember.zeros(12, 4))
    e.weight_ih_l0 = ember.nn.Parameter(ember.zeros(12, 3))
    copy_weights(e, t)
    out_e, _ = e(x)
    out_t, _ = t(torch.tensor(x.numpy()))
    assert_close(out_e, out_t, RTOL, ATOL)


def test_to_double_then_forward():
    e = ember.nn.LSTM(3, 4).double()
    out, (h, c) = e(ember.randn(2, 1, 3, dtype=ember.float64))
    assert out.dtype == ember.float64 and h.dtype == ember.float64


# ---- dropout between layers ---------------------------------------------------------------
def test_dropout_between_layers_only_in_training():
    e = ember.nn.LSTM(4, 50, num_layers=2, dropout=0.5)
    x = ember.randn(3, 2, 4)
    e.eval()
    a, _ = e(x)
    b, _ = e(x)
    assert_close(a, b, 0, 0)
    # Eval mode equals torch with the same weights (no dropout at all).
    t = torch.nn.LSTM(4, 50, num_layers=2, dropout=0.5).eval()
    copy_weights(e, t)
    assert_close(a, t(torch.tensor(x.numpy()))[0], RTOL, ATOL)
    e.train()
    c, _ = e(x)
    d, _ = e(x)
    assert not np.allclose(c.detach().numpy(), d.detach().numpy())


def test_dropout_statistics_between_layers():
    """The first layer's output reaching layer 2 is zeroed with probability p and scaled by
    1/(1-p): layer 2 sees exactly that masked input (checked through the weight_ih gradient)."""
    ember.manual_seed(5)
    p = 0.3
    e = ember.nn.RNN(2, 400, num_layers=2, dropout=p)
    x = ember.randn(1, 1, 2)
    out, h = e(x)
    h1 = h[0]  # layer-1 output at the only step (batch 1)
    out.sum().backward()
    # d(sum out)/d(W_ih_l1) = delta^T @ dropped(h1); columns where h1 was dropped are zero.
    g = e.weight_ih_l1.grad.numpy()
    dropped = np.all(g == 0, axis=0)
    frac = dropped.mean()
    assert abs(frac - p) < 0.07, frac
    kept = ~dropped
    delta = (1 - out.detach().numpy()[0, 0] ** 2)[:, None]
    expected = delta * (h1.detach().numpy()[0] / (1 - p))[None, :]
    np.testing.assert_allclose(g[:, kept], expected[:, kept], rtol=1e-4, atol=1e-6)


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ember.nn.GRU(3, 4, dropout=0.2)


# ---- gradcheck of the fused primitives ----------------------------------------------------
def _t64(rng, *shape):
    return ember.tensor(rng.standard_normal(shape) * 0.5, requires_grad=True)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_gradcheck_rnn_layer(reverse, relu):
    rng = np.random.default_rng(0)
    args = (_t64(rng, 3, 2, 4), _t64(rng, 2, 4), _t64(rng, 4, 4), _t64(rng, 4))
    assert gradcheck(lambda a, b, c, d: R.RNNLayer.apply(a, b, c, d, relu, reverse), args)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_lstm_layer(reverse):
    rng = np.random.default_rng(1)
    args = (_t64(rng, 3, 2, 12), _t64(rng, 2, 3), _t64(rng, 2, 3), _t64(rng, 12, 3), _t64(rng, 12))
    assert gradcheck(lambda *a: R.LSTMLayer.apply(*a, None, reverse), args)
    proj = (_t64(rng, 3, 2, 12), _t64(rng, 2, 2), _t64(rng, 2, 3), _t64(rng, 12, 2), None)
    proj = proj[:4] + (_t64(rng, 2, 3),)
    assert gradcheck(lambda a, b, c, d, w: R.LSTMLayer.apply(a, b, c, d, None, w, reverse), proj)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_gru_layer(reverse):
    rng = np.random.default_rng(2)
    args = (_t64(rng, 3, 2, 9), _t64(rng, 2, 3), _t64(rng, 9, 3), _t64(rng, 9))
    assert gradcheck(lambda *a: R.GRULayer.apply(*a, reverse), args)
    assert gradcheck(lambda a, b, c: R.GRULayer.apply(a, b, c, None, reverse), args[:3])


def test_no_graph_without_grad():
    e = ember.nn.GRU(3, 4)
    with ember.no_grad():
        out, h = e(ember.randn(2, 1, 3))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


# ---- errors -------------------------------------------------------------------------------
def _both_raise(fn_e, fn_t, exc, match):
    with pytest.raises(exc, match=match):
        fn_e()
    with pytest.raises(exc, match=match):
        fn_t()


def test_wrong_input_feature_size():
    e, t = _pair("LSTM", 10, 20)
    _both_raise(
        lambda: e(ember.randn(5, 3, 7)),
        lambda: t(torch.randn(5, 3, 7)),
        RuntimeError,
        "input.size\\(-1\\) must be equal to input_size. Expected 10, got 7",
    )


@pytest.mark.parametrize(
    "name,state,match",
    [
        (
            "RNN",
            lambda lib: lib.zeros(1, 2, 20),
            r"Expected hidden size \(1, 3, 20\), got \[1, 2, 20\]",
        ),
        (
            "GRU",
            lambda lib: lib.zeros(2, 3, 20),
            r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]",
        ),
        (
            "LSTM",
            lambda lib: (lib.zeros(2, 3, 20), lib.zeros(1, 3, 20)),
            r"Expected hidden\[0\] size \(1, 3, 20\), got \[2, 3, 20\]",
        ),
        (
            "LSTM",
            lambda lib: (lib.zeros(1, 3, 20), lib.zeros(1, 3, 21)),
            r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 21\]",
        ),
        ("RNN", lambda lib: lib.zeros(3, 20), "For batched 3-D input, hx should also be 3-D"),
        (
            "LSTM",
            lambda lib: (lib.zeros(3, 20), lib.zeros(1, 3, 20)),
            "For batched 3-D input, hx and cx should also be 3-D",
        ),
    ],
)
def test_wrong_hidden_state(name, state, match):
    e, t = _pair(name, 10, 20)
    _both_raise(
        lambda: e(ember.randn(5, 3, 10), state(ember)),
        lambda: t(torch.randn(5, 3, 10), state(torch)),
        RuntimeError,
        match,
    )


def test_wrong_rank_and_dtype():
    e, t = _pair("GRU", 4, 5)
    _both_raise(
        lambda: e(ember.randn(2, 3, 4, 4)),
        lambda: t(torch.randn(2, 3, 4, 4)),
        ValueError,
        "GRU: Expected input to be 2D or 3D, got 4D",
    )
    _both_raise(
        lambda: e(ember.randn(2, 3, 4, dtype=ember.float64)),
        lambda: t(torch.randn(2, 3, 4, dtype=torch.float64)),
        ValueError,
        "RNN input dtype .*float64.* does not match weight dtype .*float32",
    )


@pytest.mark.parametrize(
    "name,inp,state,match",
    [
        ("LSTMCell", (3, 7), None, "input has inconsistent input_size: got 7 expected 10"),
        ("GRUCell", (3, 10), (4, 20), "Input batch size 3 doesn't match hidden0 batch size 4"),
        ("RNNCell", (3, 10), (3, 21), "hidden0 has inconsistent hidden_size: got 21, expected 20"),
    ],
)
def test_cell_errors(name, inp, state, match):
    e, t = _pair(name, 10, 20)

    def call(lib, m):
        x = lib.zeros(*inp)
        if state is None:
            return m(x)
        h = lib.zeros(*state)
        return m(x, (h, h) if name == "LSTMCell" else h)

    _both_raise(lambda: call(ember, e), lambda: call(torch, t), RuntimeError, match)
    _both_raise(
        lambda: e(ember.zeros(1, 2, 10)),
        lambda: t(torch.zeros(1, 2, 10)),
        ValueError,
        f"{name}: Expected input to be 1D or 2D, got 3D instead",
    )


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"dropout": 1.5}, ValueError, "dropout should be a number in range"),
        ({"num_layers": 0}, ValueError, "num_layers must be greater than zero"),
        ({"proj_size": 20}, ValueError, "proj_size has to be smaller than hidden_size"),
        ({"proj_size": -1}, ValueError, "proj_size should be a positive integer"),
        ({"bias": 1}, TypeError, "bias should be of type bool, got: int"),
    ],
)
def test_constructor_errors(kwargs, exc, match):
    _both_raise(
        lambda: ember.nn.LSTM(10, 20, **kwargs),
        lambda: torch.nn.LSTM(10, 20, **kwargs),
        exc,
        match,
    )


def test_constructor_errors_rnn_gru():
    _both_raise(
        lambda: ember.nn.GRU(3, 4, proj_size=2),
        lambda: torch.nn.GRU(3, 4, proj_size=2),
        ValueError,
        "proj_size argument is only supported for LSTM",
    )
    _both_raise(
        lambda: ember.nn.RNN(3, 4, nonlinearity="gelu"),
        lambda: torch.nn.RNN(3, 4, nonlinearity="gelu"),
        ValueError,
        "Unknown nonlinearity 'gelu'",
    )
    _both_raise(
        lambda: ember.nn.RNN(3, 0),
        lambda: torch.nn.RNN(3, 0),
        ValueError,
        "hidden_size must be greater than zero",
    )


def test_docstring_examples_run():
    """The ``>>>`` examples of the recurrent and attention families are executed."""
    import doctest
    import importlib

    attempted = 0
    for name in (
        "ember.nn.modules.rnn",
        "ember.nn.modules.attention",
        "ember.nn.functional._attention",
    ):
        res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, name
        attempted += res.attempted
    assert attempted >= 25
