"""Embedding against PyTorch: F.embedding / embedding_bag / one_hot and the Embedding and
EmbeddingBag layers — values, weight gradients (padding_idx row gets none, repeated indices
accumulate, scale_grad_by_freq), max_norm renormalising in place, from_pretrained, reprs and
errors; gradcheck of the embedding primitive."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from ember import nn as enn
from ember.autograd import gradcheck
from tests.parity import assert_close, check_op, copy_weights, rand_array

IDX = np.array([[1, 2, 0, 2], [4, 3, 2, 9]], np.int64)


def w(*shape, seed=0):
    return rand_array(shape, np.float32, seed)


def both(fn):
    return (lambda *a: fn(ember, EF, *a)), (lambda *a: fn(torch, TF, *a))


EMB_CASES = [
    ("plain", lambda L, F, wt: F.embedding(L.tensor(IDX), wt)),
    ("padding", lambda L, F, wt: F.embedding(L.tensor(IDX), wt, padding_idx=2)),
    ("padding_negative", lambda L, F, wt: F.embedding(L.tensor(IDX), wt, padding_idx=-1)),
    ("by_freq", lambda L, F, wt: F.embedding(L.tensor(IDX), wt, scale_grad_by_freq=True)),
    ("scalar_index", lambda L, F, wt: F.embedding(L.tensor(3), wt)),
    ("1d_int32", lambda L, F, wt: F.embedding(L.tensor(IDX[0]).int(), wt)),
    ("3d_index", lambda L, F, wt: F.embedding(L.tensor(IDX.reshape(2, 2, 2)), wt, padding_idx=0)),
]


@pytest.mark.parametrize("case", EMB_CASES, ids=[c[0] for c in EMB_CASES])
def test_embedding_functional(case):
    _, fn = case
    check_op(*both(fn), w(10, 3))


def test_padding_row_gets_no_gradient():
    weight = ember.tensor(w(5, 2), requires_grad=True)
    EF.embedding(ember.tensor([0, 0, 1, 4]), weight, padding_idx=0).sum().backward()
    g = weight.grad.numpy()
    np.testing.assert_array_equal(g[0], 0)
    np.testing.assert_array_equal(g[1], 1)
    np.testing.assert_array_equal(g[2], 0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_max_norm_renormalises_in_place(norm_type):
    we = ember.tensor(w(10, 3) * 3)
    wt = torch.tensor(w(10, 3) * 3)
    ye = EF.embedding(ember.tensor(IDX), we, max_norm=1.5, norm_type=norm_type)
    yt = TF.embedding(torch.tensor(IDX), wt, max_norm=1.5, norm_type=norm_type)
    assert_close(ye, yt)
    assert_close(we, wt)  # rows used are rescaled in the weight itself; others untouched
    used = np.unique(IDX)
    norms = np.linalg.norm(we.numpy()[used], ord=norm_type, axis=1)
    assert np.all(norms <= 1.5 + 1e-5)


def test_embedding_errors():
    weight = ember.randn(4, 3)
    for F, L in ((EF, ember), (TF, torch)):
        wt = weight if L is ember else torch.tensor(weight.numpy())
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(L.tensor([0, 5]), wt)
        with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
            F.embedding(L.tensor([0.0, 1.0]), wt)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            F.embedding(L.tensor([0, 1]), wt, padding_idx=4)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            F.embedding(L.tensor([0, 1]), wt, padding_idx=-5)


BAG_CASES = [
    ("sum_2d", lambda L, F, wt: F.embedding_bag(L.tensor(IDX), wt, mode="sum")),
    ("mean_2d_pad", lambda L, F, wt: F.embedding_bag(L.tensor(IDX), wt, padding_idx=2)),
    ("max_2d", lambda L, F, wt: F.embedding_bag(L.tensor(IDX), wt, mode="max")),
    (
        "mean_offsets_empty_bag",
        lambda L, F, wt: F.embedding_bag(
            L.tensor(IDX.reshape(-1)), wt, L.tensor([0, 3, 3, 5]), mode="mean"
        ),
    ),
    (
        "max_offsets_last",
        lambda L, F, wt: F.embedding_bag(
            L.tensor(IDX.reshape(-1)),
            wt,
            L.tensor([0, 2, 5, 8]),
            mode="max",
            include_last_offset=True,
        ),
    ),
    (
        "sum_per_sample_weights",
        lambda L, F, wt: F.embedding_bag(
            L.tensor(IDX), wt, mode="sum", per_sample_weights=L.tensor(w(2, 4, seed=3))
        ),
    ),
]


@pytest.mark.parametrize("case", BAG_CASES, ids=[c[0] for c in BAG_CASES])
def test_embedding_bag_functional(case):
    _, fn = case
    check_op(*both(fn), w(10, 3))


def test_one_hot():
    for args in [([0, 2, 1], 3), ([[1], [0]], -1), ([3, 0], 5)]:
        data, n = args
        assert_close(EF.one_hot(ember.tensor(data), n), TF.one_hot(torch.tensor(data), n))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        EF.one_hot(ember.tensor([0, 5]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative"):
        EF.one_hot(ember.tensor([0, -1]), 3)
    with pytest.raises(RuntimeError, match="only applicable to index tensor of type LongTensor"):
        EF.one_hot(ember.tensor([0.0, 1.0]), 3)


# ---- layers -------------------------------------------------------------------------------
def run_layer(e_mod, t_mod, *args):
    copy_weights(e_mod, t_mod)
    ye, yt = e_mod(*[ember.tensor(a) for a in args]), t_mod(*[torch.tensor(a) for a in args])
    assert_close(ye, yt)
    up = np.random.default_rng(2).standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(e_mod.weight.grad, t_mod.weight.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Embedding(10, 3),
        lambda nn: nn.Embedding(10, 3, padding_idx=0),
        lambda nn: nn.Embedding(10, 4, max_norm=1.0),
        lambda nn: nn.Embedding(10, 3, scale_grad_by_freq=True, padding_idx=-2),
    ],
)
def test_embedding_layer(make):
    e_mod, t_mod = make(enn), make(torch.nn)
    assert repr(e_mod) == repr(t_mod)
    run_layer(e_mod, t_mod, IDX)
    if e_mod.max_norm is not None:
        assert_close(e_mod.weight, t_mod.weight)


def test_embedding_layer_init_zeroes_padding_row():
    m = enn.Embedding(6, 4, padding_idx=3)
    np.testing.assert_array_equal(m.weight.detach().numpy()[3], 0)
    assert m.weight.requires_grad
    assert abs(float(m.weight.detach().numpy().std()) - 1.0) < 0.6  # N(0, 1) init


def test_from_pretrained_freeze():
    pre = ember.tensor(w(5, 2))
    m = enn.Embedding.from_pretrained(pre)
    assert not m.weight.requires_grad
    assert m.weight._data is pre._data
    assert repr(m) == "Embedding(5, 2)"
    out = m(ember.tensor([1, 4]))
    assert not out.requires_grad
    assert_close(out, pre[ember.tensor([1, 4])])
    m2 = enn.Embedding.from_pretrained(pre, freeze=False, padding_idx=1)
    assert m2.weight.requires_grad
    m2(ember.tensor([1, 2])).sum().backward()
    np.testing.assert_array_equal(m2.weight.grad.numpy()[1], 0)
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        enn.Embedding.from_pretrained(ember.randn(3))


def test_embedding_bag_layer():
    e_mod, t_mod = enn.EmbeddingBag(10, 3, mode="sum"), torch.nn.EmbeddingBag(10, 3, mode="sum")
    assert repr(e_mod) == repr(t_mod)
    run_layer(e_mod, t_mod, IDX.reshape(-1), np.array([0, 4, 6]))
    e2, t2 = (
        enn.EmbeddingBag(10, 3, mode="max", padding_idx=1),
        torch.nn.EmbeddingBag(10, 3, mode="max", padding_idx=1),
    )
    assert repr(e2) == repr(t2)
    run_layer(e2, t2, IDX)


def test_embedding_state_dict_roundtrip_with_torch():
    e = enn.Embedding(7, 3, padding_idx=0)
    t = torch.nn.Embedding(7, 3, padding_idx=0)
    copy_weights(e, t)
    assert_close(e.weight, t.weight)
    assert list(e.state_dict()) == ["weight"]


def test_gradcheck_embedding():
    weight = ember.tensor(rand_array((6, 3), np.float64), requires_grad=True)
    idx = ember.tensor([[0, 2, 2], [5, 1, 0]])
    # padding_idx and scale_grad_by_freq deliberately depart from the true derivative (they
    # are compared with torch above); the plain lookup must match finite differences.
    assert gradcheck(lambda wt: EF.embedding(idx, wt), [weight])
    assert gradcheck(lambda wt: EF.embedding_bag(idx, wt, mode="mean"), [weight])


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ["ember.nn.functional._embedding", "ember.nn.modules.sparse"]:
        res = doctest.testmod(
            importlib.import_module(name),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        )
        assert res.failed == 0, name
        assert res.attempted > 0, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("vocab,shape", [(7, (5, 13)), (30, (64, 11)), (1, (3,)), (97, (2, 3))])
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_gradient_sums_repeats_in_pytorch_order(vocab, shape, padding_idx, dtype):
    """Repeated ids (up to dozens of times) add their rows in occurrence order onto zeros:
    the same bits as PyTorch's CPU kernel, -0.0 rows giving +0.0; inf and NaN stay so."""
    rng = np.random.default_rng(vocab)
    ids = rng.integers(0, vocab, shape)
    weight = rand_array((vocab, 6), dtype, seed=1)
    up = rng.standard_normal((*shape, 6)).astype(dtype)
    up.reshape(-1, 6)[0] = -0.0
    up.reshape(-1, 6)[-1, :3] = (np.inf, np.nan, -np.inf)
    grads = []
    for lib, f in ((ember, EF), (torch, TF)):
        wt = lib.tensor(weight, requires_grad=True)
        f.embedding(lib.tensor(ids), wt, padding_idx=padding_idx).backward(lib.tensor(up))
        grads.append(wt.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    real = ~np.isnan(grads[1])
    np.testing.assert_array_equal(np.signbit(grads[0][real]), np.signbit(grads[1][real]))


def test_embedding_gradient_of_no_ids():
    wt = ember.tensor(w(4, 3), requires_grad=True)
    EF.embedding(ember.tensor(np.zeros((0, 2), np.int64)), wt).sum().backward()
    np.testing.assert_array_equal(wt.grad.numpy(), np.zeros((4, 3), np.float32))
