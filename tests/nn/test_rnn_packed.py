"""``nn.utils.rnn`` and RNN/LSTM/GRU over packed sequences, against PyTorch: packed data, batch
sizes, index tensors, padded results, every gradient, and the recurrent layers' outputs, final
states and weight gradients with weights copied from ember into torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as TR

import ember
from ember.nn.utils import rnn as ER
from tests.nn._lib import same_error
from tests.parity import assert_close, copy_weights

RNG = np.random.default_rng(0)


def _seqs(lengths, feat=3):
    arrs = [RNG.standard_normal((n, feat)).astype(np.float32) for n in lengths]
    e = [ember.tensor(a, requires_grad=True) for a in arrs]
    t = [torch.tensor(a, requires_grad=True) for a in arrs]
    return e, t


def _same_packed(pe, pt) -> None:
    assert_close(pe.data, pt.data, 0, 0, what="data")
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    for name in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(pe, name), getattr(pt, name)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()
            assert a.dtype == ember.int64


def _upstream(shape, seed=1):
    up = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)
    return ember.tensor(up), torch.tensor(up)


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_roundtrip_values_and_grads(enforce_sorted, batch_first):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    se, st = _seqs(lengths)
    pad_e = ER.pad_sequence(se, batch_first=batch_first)
    pad_t = TR.pad_sequence(st, batch_first=batch_first)
    assert_close(pad_e, pad_t, 0, 0)
    pe = ER.pack_padded_sequence(pad_e, lengths, batch_first, enforce_sorted)
    pt = TR.pack_padded_sequence(pad_t, lengths, batch_first, enforce_sorted)
    _same_packed(pe, pt)
    oe, le = ER.pad_packed_sequence(pe, batch_first, padding_value=-2.0, total_length=7)
    ot, lt = TR.pad_packed_sequence(pt, batch_first, padding_value=-2.0, total_length=7)
    assert_close(oe, ot, 0, 0)
    assert le.tolist() == lt.tolist() and le.dtype == ember.int64
    ue, ut = _upstream(ot.shape)
    (oe * ue).sum().backward()
    (ot * ut).sum().backward()
    for a, b in zip(se, st):
        assert_close(a.grad, b.grad, 0, 0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_pad_sequence_padding_side(side):
    se, st = _seqs([2, 4, 1])
    e = ER.pad_sequence(se, True, 9.0, padding_side=side)
    t = TR.pad_sequence(st, True, 9.0, padding_side=side)
    assert_close(e, t, 0, 0)
    ue, ut = _upstream(t.shape)
    (e * ue).sum().backward()
    (t * ut).sum().backward()
    for a, b in zip(se, st):
        assert_close(a.grad, b.grad, 0, 0)


def test_pack_sequence_unpack_unpad():
    se, st = _seqs([2, 4, 1])
    pe = ER.pack_sequence(se, enforce_sorted=False)
    pt = TR.pack_sequence(st, enforce_sorted=False)
    _same_packed(pe, pt)
    for a, b in zip(ER.unpack_sequence(pe), TR.unpack_sequence(pt)):
        assert_close(a, b, 0, 0)
    padded_e, padded_t = ER.pad_sequence(se), TR.pad_sequence(st)
    lens = [2, 4, 1]
    got = ER.unpad_sequence(padded_e, ember.tensor(lens))
    want = TR.unpad_sequence(padded_t, torch.tensor(lens))
    for a, b in zip(got, want):
        assert_close(a, b, 0, 0)


def test_packed_sequence_methods():
    se, _ = _seqs([3, 2])
    p = ER.pack_sequence(se)
    assert isinstance(p, tuple) and p._fields == (
        "data",
        "batch_sizes",
        "sorted_indices",
        "unsorted_indices",
    )
    d = p.to(ember.float64)
    assert d.data.dtype == ember.float64 and d.batch_sizes is p.batch_sizes
    assert p.to(ember.float32) is p
    assert p.double().data.dtype == ember.float64
    assert not p.is_cuda and not p.is_pinned()
    sorted_idx = ember.tensor([1, 0])
    q = ER.PackedSequence(p.data, p.batch_sizes, sorted_idx)
    assert q.unsorted_indices.tolist() == [1, 0]


@pytest.mark.parametrize(
    "call",
    [
        lambda R, lib: R.pad_sequence([lib.ones(3, 2), lib.ones(1, 2)], padding_side="mid"),
        lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2, 1), [1, 3]),
        lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2, 1), [3, 0]),
        lambda R, lib: R.pack_padded_sequence(lib.ones(3, 2, 1), [3, 2, 1]),
        lambda R, lib: R.pad_packed_sequence(
            R.pack_sequence([lib.ones(3), lib.ones(1)]), total_length=2
        ),
        lambda R, lib: R.pad_sequence([]),
    ],
)
def test_errors_as_torch(call):
    same_error(lambda lib: call(ER if lib is ember else TR, lib))


def _pair(name, *args, **kwargs):
    e = getattr(ember.nn, name)(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(torch.nn, name)(*args, **kwargs)
    copy_weights(e, t)
    return e, t


CONFIGS = [
    ("RNN", {"num_layers": 2}),
    ("GRU", {"bidirectional": True}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2}),
    ("RNN", {"nonlinearity": "relu", "batch_first": True}),
]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_rnn_on_packed_input(name, kw, enforce_sorted, with_state):
    lengths = [6, 4, 4, 2, 1] if enforce_sorted else [4, 1, 6, 2, 4]
    e, t = _pair(name, 3, 4, **kw)
    bf = kw.get("batch_first", False)
    se, st = _seqs(lengths)
    pe = ER.pack_padded_sequence(ER.pad_sequence(se, bf), lengths, bf, enforce_sorted)
    pt = TR.pack_padded_sequence(TR.pad_sequence(st, bf), lengths, bf, enforce_sorted)
    nd = 2 if kw.get("bidirectional") else 1
    states_e, states_t = [], []
    args_e, args_t = (pe,), (pt,)
    if with_state:
        real = kw.get("proj_size") or 4
        sizes = [real, 4] if name == "LSTM" else [real]
        for s in sizes:
            a = RNG.standard_normal((kw.get("num_layers", 1) * nd, 5, s)).astype(np.float32)
            states_e.append(ember.tensor(a, requires_grad=True))
            states_t.append(torch.tensor(a, requires_grad=True))
        hx_e = tuple(states_e) if name == "LSTM" else states_e[0]
        hx_t = tuple(states_t) if name == "LSTM" else states_t[0]
        args_e, args_t = (pe, hx_e), (pt, hx_t)
    oe, he = e(*args_e)
    ot, ht = t(*args_t)
    assert isinstance(oe, ER.PackedSequence)
    _same_packed_close(oe, ot)
    he = he if isinstance(he, tuple) else (he,)
    ht = ht if isinstance(ht, tuple) else (ht,)
    for a, b in zip(he, ht):
        assert_close(a, b, 1e-5, 2e-6, what="final state")
    roots_e, roots_t = [oe.data, *he], [ot.data, *ht]
    loss_e = sum((r * _upstream(r.shape, k)[0]).sum() for k, r in enumerate(roots_e))
    loss_t = sum((r * _upstream(r.shape, k)[1]).sum() for k, r in enumerate(roots_t))
    loss_e.backward()
    loss_t.backward()
    for a, b in zip(se + states_e, st + states_t):
        assert_close(a.grad, b.grad, 1e-4, 2e-5, what="input/state grad")
    named_t = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-4, 2e-5, what=f"grad of {n}")


def _same_packed_close(pe, pt) -> None:
    assert_close(pe.data, pt.data, 1e-5, 2e-6, what="packed output")
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    if pt.sorted_indices is not None:
        assert pe.sorted_indices.tolist() == pt.sorted_indices.tolist()
        assert pe.unsorted_indices.tolist() == pt.unsorted_indices.tolist()


def test_packed_hidden_size_error_as_torch():
    def call(lib):
        R = ER if lib is ember else TR
        lstm = lib.nn.GRU(3, 4)
        p = R.pack_sequence([lib.ones(3, 3), lib.ones(2, 3)])
        return lstm(p, lib.zeros(1, 3, 4))

    same_error(call)


def test_training_trajectory_on_packed_batches_matches_torch():
    """Embedding -> packed bidirectional GRU -> Linear, trained 20 SGD steps on batches of
    variable-length sequences: the losses follow torch's step by step."""

    def build(lib):
        nn = lib.nn

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(12, 5, padding_idx=0)
                self.rnn = nn.GRU(5, 6, batch_first=True, bidirectional=True)
                self.out = nn.Linear(12, 3)

            def forward(self, tokens, lengths):
                R = ER if lib is ember else TR
                packed = R.pack_padded_sequence(
                    self.emb(tokens), lengths, batch_first=True, enforce_sorted=False
                )
                _, h = self.rnn(packed)
                return self.out(lib.cat([h[0], h[1]], 1))

        return Classifier()

    e, t = build(ember), build(torch)
    copy_weights(e, t)
    opt_e = ember.optim.SGD(e.parameters(), lr=0.5)
    opt_t = torch.optim.SGD(t.parameters(), lr=0.5)
    rng = np.random.default_rng(5)
    for _ in range(20):
        lengths = rng.integers(1, 8, size=6)
        tokens = np.zeros((6, 7), np.int64)
        for b, n in enumerate(lengths):
            tokens[b, :n] = rng.integers(1, 12, size=n)
        labels = rng.integers(0, 3, size=6)
        losses = []
        for lib, model, opt in ((ember, e, opt_e), (torch, t, opt_t)):
            opt.zero_grad()
            logits = model(lib.tensor(tokens), lengths.tolist())
            loss = lib.nn.functional.cross_entropy(logits, lib.tensor(labels))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-4, losses
