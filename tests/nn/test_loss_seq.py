"""CTC and the multi-class margin losses against PyTorch: values and gradients for every
reduction and target layout, zero_infinity and blank, gradcheck of the CTC primitive (behind a
log-softmax, the form its gradient is defined for), and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import ctc as CTC
from tests.nn._lib import same_error
from tests.parity import assert_close

RNG = np.random.default_rng(0)


def _logits(shape, dtype=np.float64):
    a = RNG.standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _ctc_case(layout: str):
    """Targets with repeats, an empty target and an impossible one (too long for its input)."""
    tgt_lens = [3, 0, 2, 4]
    in_lens = [6, 4, 5, 3]
    rows = [[1, 1, 2], [], [3, 3], [1, 2, 1, 2]]
    if layout == "padded":
        targets = np.zeros((4, 5), np.int64)
        for b, r in enumerate(rows):
            targets[b, : len(r)] = r
    else:
        targets = np.array([v for r in rows for v in r], np.int64)
    return targets, in_lens, tgt_lens


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_values_and_grads(layout, reduction, zero_infinity):
    targets, in_lens, tgt_lens = _ctc_case(layout)
    xe, xt = _logits((6, 4, 5))
    kw = {"reduction": reduction, "zero_infinity": zero_infinity}
    le = F.ctc_loss(F.log_softmax(xe, 2), ember.tensor(targets), in_lens, tgt_lens, **kw)
    lt = torch.nn.functional.ctc_loss(
        xt.log_softmax(2), torch.tensor(targets), in_lens, tgt_lens, **kw
    )
    assert_close(le, lt, 1e-10, 1e-10)
    # The per-sample losses include an infinite one (sample 3) unless zero_infinity: weight it
    # by zero so the backward of the others can be compared, and compare NaN layout too.
    up = np.array([1.0, -0.5, 2.0, 0.0]) if reduction == "none" else np.array(1.0)
    le.backward(ember.tensor(up))
    lt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 1e-9, 1e-10)  # NaN positions must match too


def test_ctc_grad_wrt_log_probs_matches_torch_convention():
    targets, in_lens, tgt_lens = _ctc_case("padded")
    base = np.log(RNG.dirichlet(np.ones(5), size=(6, 4)))
    le_in = ember.tensor(base, requires_grad=True)
    lt_in = torch.tensor(base, requires_grad=True)
    kw = {"reduction": "sum", "zero_infinity": True, "blank": 2}
    F.ctc_loss(le_in, ember.tensor(targets), in_lens, tgt_lens, **kw).backward()
    torch.nn.functional.ctc_loss(lt_in, torch.tensor(targets), in_lens, tgt_lens, **kw).backward()
    assert_close(le_in.grad, lt_in.grad, 1e-9, 1e-10)


def test_ctc_float32_unbatched_and_module():
    xe, xt = _logits((7, 4), np.float32)
    le = ember.nn.CTCLoss(blank=3)(F.log_softmax(xe, 1), ember.tensor([1, 2]), 7, 2)
    lt = torch.nn.CTCLoss(blank=3)(
        xt.log_softmax(1), torch.tensor([1, 2]), torch.tensor(7), torch.tensor(2)
    )
    assert le.dtype == ember.float32
    assert_close(le, lt, 1e-5, 1e-6)
    le.backward()
    lt.backward()
    assert_close(xe.grad, xt.grad, 1e-4, 1e-6)


def test_ctc_gradcheck():
    targets = [np.array([1, 1, 2]), np.array([2])]
    in_lens = np.array([5, 3])

    def fn(x):
        lp = F.log_softmax(x, 2)
        return CTC.CTCLossNLL.apply(lp, targets, in_lens, 0, False)

    x = ember.tensor(RNG.standard_normal((5, 2, 3)), requires_grad=True)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize(
    "args",
    [
        ([[1, 2], [1, 1]], [4, 5], [2, 2], {}),
        ([[1, 2], [1, 1]], [4, 4], [2, 3], {}),
        ([[1, 2], [1, 1]], [4, 4], [2, 2], {"blank": 5}),
        ([1, 2, 1], [4, 4], [2, 2], {}),
        ([[1, 2], [1, 1]], [4, 4], [2], {}),
        ([[1, 2], [1, 1]], [4, 4], [2, 2], {"reduction": "bad"}),
    ],
)
def test_ctc_errors_as_torch(args):
    tgt, il, tl, kw = args

    def call(lib):
        lp = lib.zeros(4, 2, 5)
        return lib.nn.functional.ctc_loss(lp, lib.tensor(tgt), il, tl, **kw)

    same_error(call)


# ---- multi-class margins ------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 0.5, True)])
def test_multi_margin(p, margin, weighted, reduction):
    xe, xt = _logits((5, 4))
    tgt = np.array([0, 3, 1, 1, 2])
    w = np.array([0.5, 1.0, 2.0, 1.5])
    we = ember.tensor(w) if weighted else None
    wt = torch.tensor(w) if weighted else None
    me = ember.nn.MultiMarginLoss(p, margin, we, reduction=reduction)
    mt = torch.nn.MultiMarginLoss(p, margin, wt, reduction=reduction)
    assert list(me.state_dict()) == list(mt.state_dict())
    le, lt = me(xe, ember.tensor(tgt)), mt(xt, torch.tensor(tgt))
    assert_close(le, lt, 1e-10, 1e-12)
    le.sum().backward()
    lt.sum().backward()
    assert_close(xe.grad, xt.grad, 1e-10, 1e-12)


def test_multi_margin_unbatched():
    xe, xt = _logits((4,))
    le = F.multi_margin_loss(xe, ember.tensor(2))
    lt = torch.nn.functional.multi_margin_loss(xt, torch.tensor(2))
    assert_close(le, lt, 1e-10, 1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_multilabel_margin(reduction):
    xe, xt = _logits((3, 5))
    tgt = np.array([[3, 0, -1, 1, 2], [4, 4, 1, -1, 0], [0, 1, 2, 3, 4]])
    le = ember.nn.MultiLabelMarginLoss(reduction=reduction)(xe, ember.tensor(tgt))
    lt = torch.nn.MultiLabelMarginLoss(reduction=reduction)(xt, torch.tensor(tgt))
    assert_close(le, lt, 1e-10, 1e-12)
    le.sum().backward()
    lt.sum().backward()
    assert_close(xe.grad, xt.grad, 1e-10, 1e-12)
    xe1, xt1 = _logits((4,))
    assert_close(
        F.multilabel_margin_loss(xe1, ember.tensor([2, -1, 0, 0])),
        torch.nn.functional.multilabel_margin_loss(xt1, torch.tensor([2, -1, 0, 0])),
        1e-10,
        1e-12,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.MultiMarginLoss(p=3),
        lambda lib: lib.nn.functional.multi_margin_loss(lib.zeros(2, 3), lib.tensor([0]), p=3),
        lambda lib: lib.nn.functional.multilabel_margin_loss(
            lib.zeros(2, 3), lib.tensor([[0, 1], [0, 1]])
        ),
    ],
)
def test_margin_errors_as_torch(call):
    same_error(call, exact=False)
