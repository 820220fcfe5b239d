"""nn.utils.prune against PyTorch: masks, parameter/buffer names, forward values and the
gradient of ``weight_orig`` for magnitude, structured, custom, chained and global pruning;
the random methods' counts and structure; remove, is_pruned and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as TP

import ember
from ember.nn.utils import prune as EP
from tests.nn._lib import same_error
from tests.parity import assert_close

RNG = np.random.default_rng(0)


def _pair(make):
    e, t = make(ember), make(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


def _same_state(e, t, x_shape):
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    for n, b in e.named_buffers():
        assert_close(b, dict(t.named_buffers())[n], 0, 0, what=n)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert_close(ye, yt, 1e-5, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    named_t = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-5, 1e-6, what=n)


@pytest.mark.parametrize("amount", [0.3, 5, 0])
def test_l1_unstructured(amount):
    e, t = _pair(lambda lib: lib.nn.Linear(6, 4))
    EP.l1_unstructured(e, "weight", amount)
    TP.l1_unstructured(t, "weight", amount)
    assert EP.is_pruned(e)
    _same_state(e, t, (3, 6))


def test_ln_structured_fro_on_a_matrix():
    e, t = _pair(lambda lib: lib.nn.Linear(5, 4))
    EP.ln_structured(e, "weight", 0.5, "fro", 0)
    TP.ln_structured(t, "weight", 0.5, "fro", 0)
    _same_state(e, t, (2, 5))


@pytest.mark.parametrize("n,dim", [(1, 0), (2, 1), (math.inf, -1), (3, 0)])
def test_ln_structured(n, dim):
    e, t = _pair(lambda lib: lib.nn.Conv2d(3, 5, 2))
    EP.ln_structured(e, "weight", 0.4, n, dim)
    TP.ln_structured(t, "weight", 0.4, n, dim)
    _same_state(e, t, (2, 3, 4, 4))


def test_chained_container_custom_and_remove():
    e, t = _pair(lambda lib: lib.nn.Linear(5, 6))
    mask = (RNG.random((6, 5)) > 0.3).astype(np.float32)
    for P, lib in ((EP, ember), (TP, torch)):
        m = e if lib is ember else t
        P.custom_from_mask(m, "weight", lib.tensor(mask))
        P.ln_structured(m, "weight", amount=2, n=2, dim=0)
        P.l1_unstructured(m, "weight", amount=0.25)
        P.identity(m, "bias")
    assert isinstance(e._forward_pre_hooks[next(iter(e._forward_pre_hooks))], EP.PruningContainer)
    _same_state(e, t, (2, 5))
    EP.remove(e, "weight")
    TP.remove(t, "weight")
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight, 0, 0)


def test_global_unstructured():
    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Linear(3, 2))

    e, t = _pair(make)
    EP.global_unstructured(
        [(e[0], "weight"), (e[1], "weight")], pruning_method=EP.L1Unstructured, amount=0.4
    )
    TP.global_unstructured(
        [(t[0], "weight"), (t[1], "weight")], pruning_method=TP.L1Unstructured, amount=0.4
    )
    _same_state(e, t, (2, 4))


def test_importance_scores():
    e, t = _pair(lambda lib: lib.nn.Linear(4, 3))
    scores = RNG.random((3, 4)).astype(np.float32)
    EP.l1_unstructured(e, "weight", 0.5, importance_scores=ember.tensor(scores))
    TP.l1_unstructured(t, "weight", 0.5, importance_scores=torch.tensor(scores))
    _same_state(e, t, (2, 4))


def test_random_methods_counts_and_structure():
    m = EP.random_unstructured(ember.nn.Linear(10, 10), "weight", amount=0.3)
    assert int((m.weight_mask == 0).sum()) == 30
    c = EP.random_structured(ember.nn.Conv2d(2, 8, 3), "weight", amount=3, dim=0)
    per_channel = c.weight_mask.sum(dim=(1, 2, 3))
    assert sorted(per_channel.tolist()) == [0.0] * 3 + [18.0] * 5


@pytest.mark.parametrize(
    "call",
    [
        lambda P, lib: P.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=1.5),
        lambda P, lib: P.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=-1),
        lambda P, lib: P.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount="a"),
        lambda P, lib: P.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=5),
        lambda P, lib: P.ln_structured(lib.nn.Linear(2, 2), "bias", amount=1, n=2, dim=0),
        lambda P, lib: P.ln_structured(lib.nn.Linear(2, 2), "weight", amount=1, n=2, dim=3),
        lambda P, lib: P.remove(lib.nn.Linear(2, 2), "weight"),
        lambda P, lib: P.ln_structured(lib.nn.Conv2d(2, 2, 2), "weight", 1, n="fro", dim=0),
        lambda P, lib: P.global_unstructured(
            [(lib.nn.Linear(2, 2), "weight")], P.RandomStructured, amount=1
        ),
    ],
)
def test_errors_as_torch(call):
    same_error(lambda lib: call(EP if lib is ember else TP, lib))
