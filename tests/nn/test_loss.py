"""Losses against PyTorch: every F.* loss and every loss module, forward values and the gradients
of input (and target where PyTorch differentiates it), several configurations each; gradcheck of
every fused loss primitive; PyTorch's errors and warnings for bad targets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from ember import nn as enn
from ember.autograd import gradcheck
from tests.parity import assert_close, check_op, copy_weights, rand_array

LIBS = {"ember": (ember, EF), "torch": (torch, TF)}


def f(*shape, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, np.float32, seed, low, high)


def prob(*shape, seed=0):
    """A float32 array of rows summing to 1 along axis 1 (axis 0 for 1-D)."""
    x = rand_array(shape, np.float64, seed, 0.1, 1.0)
    ax = 1 if len(shape) > 1 else 0
    return (x / x.sum(axis=ax, keepdims=True)).astype(np.float32)


def idx(*shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


def both(fn):
    """Run ``fn(lib, F, *inputs)`` as an ember function and a torch function."""
    return (lambda *a: fn(ember, EF, *a)), (lambda *a: fn(torch, TF, *a))


def T(lib, arr):
    return lib.tensor(arr)


# ---- regression losses ----------------------------------------------------------------------
REGRESSION = []
for _red in ("mean", "sum", "none"):
    REGRESSION += [
        ("mse", lambda L, F, x, y, r=_red: F.mse_loss(x, y, reduction=r), f(4, 5), f(4, 5, seed=1)),
        ("l1", lambda L, F, x, y, r=_red: F.l1_loss(x, y, reduction=r), f(3, 4), f(3, 4, seed=1)),
        (
            "smooth_l1_b0.5",
            lambda L, F, x, y, r=_red: F.smooth_l1_loss(x, y, reduction=r, beta=0.5),
            f(6, 3),
            f(6, 3, seed=1),
        ),
        (
            "smooth_l1_b0",
            lambda L, F, x, y, r=_red: F.smooth_l1_loss(x, y, reduction=r, beta=0.0),
            f(5),
            f(5, seed=1),
        ),
        (
            "huber_d0.7",
            lambda L, F, x, y, r=_red: F.huber_loss(x, y, reduction=r, delta=0.7),
            f(2, 3, 4),
            f(2, 3, 4, seed=1),
        ),
    ]
REGRESSION += [
    ("smooth_l1_default", lambda L, F, x, y: F.smooth_l1_loss(x, y), f(7, 2), f(7, 2, seed=3)),
    ("huber_default", lambda L, F, x, y: F.huber_loss(x, y), f(7, 2), f(7, 2, seed=3)),
    ("mse_0d", lambda L, F, x, y: F.mse_loss(x, y), f(), f(seed=2)),
    (
        "mse_weight",
        lambda L, F, x, y, w: F.mse_loss(x, y, weight=w),
        f(3, 4),
        f(3, 4, seed=1),
        f(3, 4, seed=2, low=0.1, high=1.0),
    ),
    (
        "l1_weight_sum",
        lambda L, F, x, y, w: F.l1_loss(x, y, reduction="sum", weight=w),
        f(3, 4),
        f(3, 4, seed=1),
        f(3, 4, seed=2, low=0.1, high=1.0),
    ),
    (
        "huber_weight",
        lambda L, F, x, y, w: F.huber_loss(x, y, weight=w, delta=0.5),
        f(3, 4),
        f(3, 4, seed=1),
        f(3, 4, seed=2, low=0.1, high=1.0),
    ),
]


@pytest.mark.parametrize("case", REGRESSION, ids=[c[0] for c in REGRESSION])
def test_regression_losses(case):
    _, fn, *inputs = case
    check_op(*both(fn), *inputs)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_broadcast_target_warns_and_matches(name):
    x, y = f(4, 1), f(4, seed=1)
    msg = (
        r"Using a target size \(torch.Size\(\[4\]\)\) that is different to the input size "
        r"\(torch.Size\(\[4, 1\]\)\)\. This will likely lead to incorrect results due to "
        r"broadcasting\. Please ensure they have the same size\."
    )
    with pytest.warns(UserWarning, match=msg):
        getattr(EF, name)(ember.tensor(x), ember.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(*both(lambda L, F, a, b: getattr(F, name)(a, b)), x, y)


def test_non_broadcastable_target_raises():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match .* \(5\)"):
            EF.mse_loss(ember.randn(4, 3), ember.randn(5))
        with pytest.raises(RuntimeError, match="non-singleton dimension 1"):
            EF.l1_loss(ember.randn(4, 3), ember.randn(4))


def test_regression_dtype_promotion():
    x64 = rand_array((4,), np.float64)
    check_op(*both(lambda L, F, a, b: F.mse_loss(a, b)), x64, f(4, seed=1))
    ints = np.array([0, 1, 2, 1], np.int64)
    check_op(*both(lambda L, F, a, b: F.mse_loss(a, b)), f(4), ints)


def test_regression_errors():
    x = ember.randn(3)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        EF.mse_loss(x, x, reduction="foo")
    with pytest.raises(RuntimeError, match="negative values for beta"):
        EF.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        EF.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        EF.mse_loss(x, x, weight=ember.ones(2))


def test_legacy_size_average_reduce():
    x, y = f(3, 4), f(3, 4, seed=1)
    for sa, rd in [(False, None), (None, False), (True, True), (False, True)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            e = EF.mse_loss(ember.tensor(x), ember.tensor(y), size_average=sa, reduce=rd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = TF.mse_loss(torch.tensor(x), torch.tensor(y), size_average=sa, reduce=rd)
        assert_close(e, t)


# ---- cross-entropy and NLL ------------------------------------------------------------------
W5 = np.array([0.5, 1.0, 2.0, 0.3, 1.5], np.float32)
T6 = np.array([0, 4, 2, -100, 1, 4], np.int64)  # one ignored entry (default ignore_index)


def ce(reduction="mean", weight=None, **kw):
    def fn(L, F, x, t):
        w = None if weight is None else L.tensor(weight)
        return F.cross_entropy(x, t, weight=w, reduction=reduction, **kw)

    return fn


CE_CASES = [
    ("basic", ce(), f(6, 5), idx(6, high=5)),
    ("sum", ce("sum"), f(6, 5), idx(6, high=5)),
    ("none", ce("none"), f(6, 5), idx(6, high=5)),
    ("weight", ce(weight=W5), f(6, 5), idx(6, high=5)),
    ("weight_none", ce("none", weight=W5), f(6, 5), idx(6, high=5)),
    ("ignore", ce(), f(6, 5), T6),
    ("ignore_custom", ce(ignore_index=2), f(6, 5), idx(6, high=5, seed=3)),
    ("ignore_weight", ce(weight=W5), f(6, 5), T6),
    ("smooth", ce(label_smoothing=0.2), f(6, 5), idx(6, high=5)),
    ("smooth_sum", ce("sum", label_smoothing=0.1), f(6, 5), idx(6, high=5)),
    ("smooth_weight_ignore", ce(weight=W5, label_smoothing=0.3), f(6, 5), T6),
    ("smooth_weight_ignore_none", ce("none", weight=W5, label_smoothing=0.3), f(6, 5), T6),
    ("smooth_weight_ignore_sum", ce("sum", weight=W5, label_smoothing=0.3), f(6, 5), T6),
    ("kdim", ce(), f(2, 5, 3, 4), idx(2, 3, 4, high=5)),
    ("kdim_none", ce("none"), f(2, 5, 3), idx(2, 3, high=5)),
    (
        "kdim_all",
        ce(weight=W5, label_smoothing=0.25, ignore_index=1),
        f(2, 5, 3, 2),
        idx(2, 3, 2, high=5),
    ),
    ("unbatched", ce(), f(5), np.array(3, np.int64)),
    ("unbatched_smooth_weight", ce(weight=W5, label_smoothing=0.1), f(5), np.array(1, np.int64)),
    ("large_logits", ce(), f(4, 3, low=-300, high=300), idx(4, high=3)),
    ("prob", ce(), f(4, 5), prob(4, 5, seed=1)),
    ("prob_none", ce("none"), f(4, 5), prob(4, 5, seed=1)),
    ("prob_weight_smooth", ce(weight=W5, label_smoothing=0.2), f(4, 5), prob(4, 5, seed=1)),
    ("prob_kdim_sum", ce("sum", weight=W5), f(2, 5, 3), prob(2, 5, 3, seed=1)),
    ("prob_unbatched", ce(), f(5), prob(5, seed=1)),
]


@pytest.mark.parametrize("case", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy(case):
    _, fn, x, t = case
    # Probability targets are differentiable: check_op also compares the target's gradient.
    check_op(*both(fn), x, t)


def test_cross_entropy_prob_weight_gradient():
    x, t = f(4, 5), prob(4, 5, seed=1)
    check_op(
        *both(lambda L, F, a, b, w: F.cross_entropy(a, b, weight=w, label_smoothing=0.1)),
        x,
        t,
        W5,
    )


def test_cross_entropy_all_ignored_is_nan():
    x = ember.randn(3, 4)
    out = EF.cross_entropy(x, ember.tensor([-100, -100, -100]))
    assert np.isnan(out.item())


def nll(reduction="mean", weight=None, **kw):
    def fn(L, F, x, t):
        w = None if weight is None else L.tensor(weight)
        return F.nll_loss(x, t, weight=w, reduction=reduction, **kw)

    return fn


NLL_CASES = [
    ("basic", nll(), f(6, 5), idx(6, high=5)),
    ("sum", nll("sum"), f(6, 5), idx(6, high=5)),
    ("none_weight_ignore", nll("none", weight=W5), f(6, 5), T6),
    ("weight_ignore", nll(weight=W5), f(6, 5), T6),
    ("kdim", nll(weight=W5, ignore_index=0), f(3, 5, 2, 2), idx(3, 2, 2, high=5)),
    ("kdim_3d_none", nll("none"), f(3, 5, 4), idx(3, 4, high=5)),
    ("unbatched", nll(), f(5), np.array(2, np.int64)),
]


@pytest.mark.parametrize("case", NLL_CASES, ids=[c[0] for c in NLL_CASES])
def test_nll_loss(case):
    _, fn, x, t = case
    check_op(*both(fn), x, t)


def test_nll_of_log_softmax_equals_cross_entropy():
    x, t = ember.randn(5, 4), ember.tensor([0, 1, 2, 3, 1])
    a = EF.nll_loss(EF.log_softmax(x, 1), t)
    assert_close(a, EF.cross_entropy(x, t), rtol=1e-6)


@pytest.mark.parametrize(
    "args,exc,pattern",
    [
        (((3, 5), [0, 1, 5]), IndexError, "Target 5 is out of bounds"),
        (((3, 5), [0, 1, -3]), IndexError, "Target -3 is out of bounds"),
        (((3, 5), [0.0, 1.0, 2.0]), RuntimeError, "expected target dtype to be Long or Byte"),
        (((3, 5), [0, 1, 2, 3]), ValueError, r"input batch_size \(3\) to match target .*\(4\)"),
        (((3, 5, 2), [0, 1, 2]), RuntimeError, r"Expected target size \[3, 2\], got \[3\]"),
        (((3, 5), [[0, 1, 2]]), ValueError, r"batch_size \(3\) to match target batch_size \(1\)"),
        (((5,), [0, 1, 2]), ValueError, "For 1D input, 1D target must have size 1"),
    ],
)
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_target_errors(fn, args, exc, pattern):
    shape, target = args
    x = ember.randn(*shape)
    for lib_name, (L, F) in LIBS.items():
        xx = x if lib_name == "ember" else torch.tensor(x.numpy())
        with pytest.raises(exc, match=pattern):
            getattr(F, fn)(xx, L.tensor(target))


def test_cross_entropy_more_errors():
    x = ember.randn(3, 5)
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class"):
        EF.cross_entropy(x, ember.zeros(3, 5, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point"):
        EF.cross_entropy(x, ember.rand(3, 5), ignore_index=1)
    with pytest.raises(RuntimeError, match="defined either for all 5 classes or no classes"):
        EF.cross_entropy(x, ember.tensor([0, 1, 2]), weight=ember.ones(4))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        EF.cross_entropy(x, ember.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        EF.cross_entropy(x, ember.tensor([0, 1, 2]), reduction="bad")
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        EF.cross_entropy(x, ember.tensor([0, 1, 2]), weight=ember.ones(5, requires_grad=True))


# ---- binary cross-entropy and KL -------------------------------------------------------------
def u(*shape, seed=0):
    return rand_array(shape, np.float32, seed, 0.05, 0.95)


BCE_CASES = []
for _red in ("mean", "sum", "none"):
    BCE_CASES += [
        (f"bce_{_red}", lambda L, F, x, y, r=_red: F.binary_cross_entropy(x, y, reduction=r)),
        (
            f"bce_weight_{_red}",
            lambda L, F, x, y, r=_red: F.binary_cross_entropy(
                x, y, weight=L.tensor(W5[:4]), reduction=r
            ),
        ),
        (
            f"bcel_{_red}",
            lambda L, F, x, y, r=_red: F.binary_cross_entropy_with_logits(
                (x - 0.5) * 8, y, reduction=r
            ),
        ),
        (
            f"bcel_weights_{_red}",
            lambda L, F, x, y, r=_red: F.binary_cross_entropy_with_logits(
                (x - 0.5) * 8,
                y,
                weight=L.tensor(W5[:4]),
                pos_weight=L.tensor(W5[1:5] * 2),
                reduction=r,
            ),
        ),
    ]


@pytest.mark.parametrize("case", BCE_CASES, ids=[c[0] for c in BCE_CASES])
def test_binary_cross_entropy(case):
    _, fn = case
    check_op(*both(fn), u(3, 4), u(3, 4, seed=1), rtol=1e-5, atol=1e-5)


def test_bce_with_logits_extremes_and_pos_weight_broadcast():
    x = np.array([[-200.0, -3.0, 0.0, 50.0], [1.0, 2.0, -1.0, 0.5]], np.float32)
    y = u(2, 4, seed=2)
    pw = np.array([0.5, 1.0, 2.0, 3.0], np.float32)
    fn = both(lambda L, F, a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=L.tensor(pw)))
    check_op(*fn, x, y)


def test_bce_weights_are_not_differentiable():
    x, y = ember.rand(2, 3), ember.rand(2, 3)
    w = ember.ones(3, requires_grad=True)
    for kw in ({"weight": w}, {"pos_weight": w}):
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
            EF.binary_cross_entropy_with_logits(x, y, **kw)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        EF.binary_cross_entropy(x, y, weight=w)


def test_bce_extremes_clamped():
    x = np.array([0.0, 1.0, 0.5, 1e-30], np.float32)
    y = np.array([1.0, 0.0, 0.5, 1.0], np.float32)
    check_op(*both(lambda L, F, a, b: F.binary_cross_entropy(a, b)), x, y, grad=False)


def test_bce_errors():
    with pytest.raises(ValueError, match=r"target size \(torch.Size\(\[4\]\)\) .* is deprecated"):
        EF.binary_cross_entropy(ember.rand(4, 1), ember.rand(4))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        EF.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[4\]\)\) must be the same"):
        EF.binary_cross_entropy_with_logits(ember.rand(4, 1), ember.rand(4))


KL_CASES = [(r, lt) for r in ("batchmean", "sum", "none", "mean") for lt in (False, True)]


@pytest.mark.parametrize("reduction,log_target", KL_CASES)
def test_kl_div(reduction, log_target):
    x = np.log(prob(3, 4))
    t = prob(3, 4, seed=2)
    if log_target:
        t = np.log(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(
            *both(lambda L, F, a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target)),
            x,
            t,
        )


def test_kl_div_mean_warns_and_zero_target():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        EF.kl_div(ember.randn(2, 3), ember.rand(2, 3))
    # A zero target contributes 0 (xlogy), not nan; the input gradient there is 0.
    x = ember.randn(3, requires_grad=True)
    out = EF.kl_div(x, ember.tensor([0.0, 0.5, 0.5]), reduction="sum")
    ref = TF.kl_div(
        torch.tensor(x.detach().numpy()), torch.tensor([0.0, 0.5, 0.5]), reduction="sum"
    )
    assert_close(out, ref)
    out.backward()
    assert x.grad.numpy()[0] == 0


# ---- distances, margin and embedding losses --------------------------------------------------
def pm1(n, seed=0):
    return np.where(np.random.default_rng(seed).random(n) < 0.5, -1.0, 1.0).astype(np.float32)


MARGIN_CASES = [
    ("cos_sim", lambda L, F, a, b: F.cosine_similarity(a, b), f(4, 5), f(4, 5, seed=1)),
    ("cos_sim_dim0", lambda L, F, a, b: F.cosine_similarity(a, b, dim=0), f(4, 5), f(4, 5, seed=1)),
    ("cos_sim_bcast", lambda L, F, a, b: F.cosine_similarity(a, b, dim=-1), f(3, 4), f(4, seed=1)),
    (
        "cos_sim_tiny",
        lambda L, F, a, b: F.cosine_similarity(a, b, eps=0.5),
        f(2, 3, low=-0.1, high=0.1),
        f(2, 3, seed=1),
    ),
    ("pdist", lambda L, F, a, b: F.pairwise_distance(a, b), f(4, 5), f(4, 5, seed=1)),
    (
        "pdist_p1_keep",
        lambda L, F, a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True),
        f(4, 5),
        f(4, 5, seed=1),
    ),
    ("pdist_p3", lambda L, F, a, b: F.pairwise_distance(a, b, p=3.0), f(4, 5), f(4, 5, seed=1)),
    (
        "cos_emb",
        lambda L, F, a, b: F.cosine_embedding_loss(a, b, L.tensor(pm1(5)), margin=0.2),
        f(5, 3),
        f(5, 3, seed=1),
    ),
    (
        "cos_emb_none_0d",
        lambda L, F, a, b: F.cosine_embedding_loss(a, b, L.tensor(-1.0), reduction="none"),
        f(3),
        f(3, seed=1),
    ),
    (
        "ranking",
        lambda L, F, a, b: F.margin_ranking_loss(a, b, L.tensor(pm1(6)), margin=0.3),
        f(6),
        f(6, seed=1),
    ),
    (
        "ranking_sum",
        lambda L, F, a, b: F.margin_ranking_loss(a, b, L.tensor(pm1(6)), reduction="sum"),
        f(6),
        f(6, seed=1),
    ),
    (
        "hinge",
        lambda L, F, a: F.hinge_embedding_loss(a, L.tensor(pm1(8).reshape(2, 4)), margin=1.5),
        f(2, 4),
    ),
    (
        "hinge_none",
        lambda L, F, a: F.hinge_embedding_loss(a, L.tensor(pm1(8)), reduction="none"),
        f(8),
    ),
    (
        "triplet",
        lambda L, F, a, p, n: F.triplet_margin_loss(a, p, n),
        f(4, 5),
        f(4, 5, seed=1),
        f(4, 5, seed=2),
    ),
    (
        "triplet_swap_p1_none",
        lambda L, F, a, p, n: F.triplet_margin_loss(
            a, p, n, margin=2.0, p=1, swap=True, reduction="none"
        ),
        f(4, 5),
        f(4, 5, seed=1),
        f(4, 5, seed=2),
    ),
    (
        "triplet_distfn",
        lambda L, F, a, p, n: F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), swap=True
        ),
        f(4, 5),
        f(4, 5, seed=1),
        f(4, 5, seed=2),
    ),
    (
        "soft_margin",
        lambda L, F, a: F.soft_margin_loss(a, L.tensor(pm1(12).reshape(3, 4))),
        f(3, 4),
    ),
    (
        "soft_margin_none",
        lambda L, F, a: F.soft_margin_loss(a, L.tensor(pm1(5)), reduction="none"),
        f(5),
    ),
    (
        "multilabel_soft",
        lambda L, F, a, t: F.multilabel_soft_margin_loss(a, t),
        f(3, 4),
        (pm1(12).reshape(3, 4) > 0).astype(np.float32),
    ),
    (
        "multilabel_soft_weight_sum",
        lambda L, F, a, t: F.multilabel_soft_margin_loss(
            a, t, weight=L.tensor(W5[:4]), reduction="sum"
        ),
        f(3, 4),
        u(3, 4),
    ),
    ("poisson_log", lambda L, F, a, t: F.poisson_nll_loss(a, t), f(3, 4), u(3, 4) * 4),
    (
        "poisson_full",
        lambda L, F, a, t: F.poisson_nll_loss(a, t, log_input=False, full=True, reduction="sum"),
        u(3, 4) * 3,
        u(3, 4, seed=1) * 4,
    ),
    (
        "gaussian",
        lambda L, F, a, t, v: F.gaussian_nll_loss(a, t, v),
        f(3, 4),
        f(3, 4, seed=1),
        u(3, 4, seed=2),
    ),
    (
        "gaussian_homo_full",
        lambda L, F, a, t, v: F.gaussian_nll_loss(a, t, v, full=True, eps=0.1, reduction="none"),
        f(3, 4),
        f(3, 4, seed=1),
        u(3, seed=2),
    ),
    (
        "gaussian_onedim",
        lambda L, F, a, t, v: F.gaussian_nll_loss(a, t, v, reduction="sum"),
        f(3, 4),
        f(3, 4, seed=1),
        u(3, 1, seed=2),
    ),
]


@pytest.mark.parametrize("case", MARGIN_CASES, ids=[c[0] for c in MARGIN_CASES])
def test_distance_and_margin_losses(case):
    _, fn, *inputs = case
    check_op(*both(fn), *inputs, rtol=1e-5, atol=1e-5)


def test_margin_errors():
    a = ember.randn(4, 3)
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        EF.triplet_margin_loss(a, a, a, margin=0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        EF.triplet_margin_loss(a, a, ember.randn(3))
    with pytest.raises(RuntimeError, match="should have same size"):
        EF.margin_ranking_loss(ember.randn(4), ember.randn(4), ember.ones(5))
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input tensors"):
        EF.cosine_embedding_loss(ember.randn(4), ember.randn(4), ember.ones(4))
    with pytest.raises(ValueError, match="var has negative entry"):
        EF.gaussian_nll_loss(a, a, -ember.ones(4, 3))
    with pytest.raises(RuntimeError, match="soft_margin_loss' is not differentiable"):
        EF.soft_margin_loss(a, ember.ones(4, 3, requires_grad=True))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        EF.gaussian_nll_loss(a, a, ember.ones(4, 2))


# ---- gradcheck of every fused loss primitive (float64) ---------------------------------------
def d(*shape, seed=0, low=-2.0, high=2.0):
    return ember.tensor(rand_array(shape, np.float64, seed, low, high), requires_grad=True)


def dp(*shape, seed=0):
    return ember.tensor(prob(*shape, seed=seed).astype(np.float64), requires_grad=True)


GRADCHECKS = [
    ("ce", lambda x: EF.cross_entropy(x, ember.tensor([0, 2, -100, 1])), [d(4, 3)]),
    (
        "ce_weight_smooth",
        lambda x: EF.cross_entropy(
            x,
            ember.tensor([[0, 2], [1, -100]]),
            weight=ember.tensor([0.3, 1.0, 2.0], dtype=ember.float64),
            label_smoothing=0.2,
            reduction="none",
        ),
        [d(2, 3, 2)],
    ),
    (
        "ce_prob",
        lambda x, t: EF.cross_entropy(
            x, t, weight=ember.tensor([0.3, 1.0, 2.0], dtype=ember.float64), label_smoothing=0.1
        ),
        [d(4, 3), dp(4, 3, seed=1)],
    ),
    (
        "nll",
        lambda x: EF.nll_loss(x, ember.tensor([[0, 2], [1, 1]]), reduction="sum"),
        [d(2, 3, 2)],
    ),
    ("mse", lambda x, y: EF.mse_loss(x, y), [d(3, 4), d(3, 4, seed=1)]),
    ("l1", lambda x, y: EF.l1_loss(x, y, reduction="none"), [d(3, 4), d(3, 4, seed=1)]),
    ("smooth_l1", lambda x, y: EF.smooth_l1_loss(x, y, beta=0.8), [d(3, 4), d(3, 4, seed=1)]),
    ("huber", lambda x, y: EF.huber_loss(x, y, delta=0.6), [d(3, 4), d(3, 4, seed=1)]),
    (
        "bce",
        lambda x, y: EF.binary_cross_entropy(x, y, reduction="sum"),
        [d(3, 2, low=0.1, high=0.9), d(3, 2, seed=1, low=0.0, high=1.0)],
    ),
    (
        "bce_logits",
        lambda x, y: EF.binary_cross_entropy_with_logits(
            x, y, pos_weight=ember.tensor([0.5, 2.0], dtype=ember.float64)
        ),
        [d(3, 2), d(3, 2, seed=1, low=0.0, high=1.0)],
    ),
    (
        "kl",
        lambda x, y: EF.kl_div(x, y, reduction="batchmean"),
        [d(3, 2), d(3, 2, seed=1, low=0.1, high=1.0)],
    ),
    ("kl_log", lambda x, y: EF.kl_div(x, y, reduction="sum", log_target=True), [d(3, 2), d(3, 2)]),
    ("cos_sim", lambda a, b: EF.cosine_similarity(a, b), [d(3, 4), d(4, seed=1)]),
    ("logsigmoid", lambda x: EF.soft_margin_loss(x, ember.tensor(pm1(5)).double()), [d(5)]),
]


@pytest.mark.parametrize("case", GRADCHECKS, ids=[c[0] for c in GRADCHECKS])
def test_gradcheck_loss_primitives(case):
    _, fn, inputs = case
    assert gradcheck(fn, inputs)


# ---- loss layers --------------------------------------------------------------------------
def layer_case(name, make, *inputs):
    return (name, make, inputs)


LAYER_CASES = [
    layer_case("L1Loss", lambda nn, L: nn.L1Loss(), f(3, 4), f(3, 4, seed=1)),
    layer_case("MSELoss_sum", lambda nn, L: nn.MSELoss(reduction="sum"), f(3, 4), f(3, 4, seed=1)),
    layer_case("SmoothL1Loss", lambda nn, L: nn.SmoothL1Loss(beta=0.5), f(3, 4), f(3, 4, seed=1)),
    layer_case(
        "HuberLoss", lambda nn, L: nn.HuberLoss("none", delta=0.3), f(3, 4), f(3, 4, seed=1)
    ),
    layer_case(
        "CrossEntropyLoss_all",
        lambda nn, L: nn.CrossEntropyLoss(weight=L.tensor(W5), ignore_index=3, label_smoothing=0.2),
        f(6, 5),
        idx(6, high=5, seed=4),
    ),
    layer_case(
        "CrossEntropyLoss_kdim", lambda nn, L: nn.CrossEntropyLoss(), f(2, 5, 3), idx(2, 3, high=5)
    ),
    layer_case(
        "CrossEntropyLoss_prob",
        lambda nn, L: nn.CrossEntropyLoss(reduction="sum"),
        f(3, 5),
        prob(3, 5),
    ),
    layer_case("NLLLoss", lambda nn, L: nn.NLLLoss(weight=L.tensor(W5)), f(6, 5), T6),
    layer_case(
        "BCELoss", lambda nn, L: nn.BCELoss(weight=L.tensor(W5[:4])), u(3, 4), u(3, 4, seed=1)
    ),
    layer_case(
        "BCEWithLogitsLoss",
        lambda nn, L: nn.BCEWithLogitsLoss(pos_weight=L.tensor(W5[:4])),
        f(3, 4),
        u(3, 4, seed=1),
    ),
    layer_case(
        "KLDivLoss",
        lambda nn, L: nn.KLDivLoss(reduction="batchmean", log_target=True),
        np.log(prob(3, 4)),
        np.log(prob(3, 4, seed=1)),
    ),
    layer_case(
        "CosineEmbeddingLoss",
        lambda nn, L: nn.CosineEmbeddingLoss(margin=0.1),
        f(5, 3),
        f(5, 3, seed=1),
        pm1(5),
    ),
    layer_case(
        "MarginRankingLoss", lambda nn, L: nn.MarginRankingLoss(0.5), f(5), f(5, seed=1), pm1(5)
    ),
    layer_case("HingeEmbeddingLoss", lambda nn, L: nn.HingeEmbeddingLoss(), f(5), pm1(5)),
    layer_case(
        "TripletMarginLoss",
        lambda nn, L: nn.TripletMarginLoss(margin=0.5, p=1.5, swap=True),
        f(4, 3),
        f(4, 3, seed=1),
        f(4, 3, seed=2),
    ),
    layer_case(
        "TripletMarginWithDistanceLoss",
        lambda nn, L: nn.TripletMarginWithDistanceLoss(margin=2.0),
        f(4, 3),
        f(4, 3, seed=1),
        f(4, 3, seed=2),
    ),
    layer_case(
        "MultiLabelSoftMarginLoss", lambda nn, L: nn.MultiLabelSoftMarginLoss(), f(3, 4), u(3, 4)
    ),
    layer_case("PoissonNLLLoss", lambda nn, L: nn.PoissonNLLLoss(full=True), f(3, 4), u(3, 4) * 5),
    layer_case(
        "GaussianNLLLoss", lambda nn, L: nn.GaussianNLLLoss(), f(3, 4), f(3, 4, seed=1), u(3, 4)
    ),
    layer_case(
        "CosineSimilarity", lambda nn, L: nn.CosineSimilarity(dim=0), f(3, 4), f(3, 4, seed=1)
    ),
    layer_case(
        "PairwiseDistance",
        lambda nn, L: nn.PairwiseDistance(p=1.0, keepdim=True),
        f(3, 4),
        f(3, 4, seed=1),
    ),
]


@pytest.mark.parametrize("case", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_loss_layers(case):
    _, make, inputs = case
    e_mod, t_mod = make(enn, ember), make(torch.nn, torch)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    # integer and +-1 label inputs are constants; float inputs get gradients (as in torch)
    check_op(lambda *a: e_mod(*a), lambda *a: t_mod(*a), *inputs, rtol=1e-5, atol=1e-5)


def test_soft_margin_layer():
    t = pm1(6).reshape(2, 3)
    e_mod, t_mod = enn.SoftMarginLoss(), torch.nn.SoftMarginLoss()
    check_op(lambda a: e_mod(a, ember.tensor(t)), lambda a: t_mod(a, torch.tensor(t)), f(2, 3))


@pytest.mark.parametrize(
    "sa,rd,expect",
    [(False, None, "sum"), (None, False, "none"), (True, True, "mean"), (False, False, "none")],
)
def test_loss_layers_legacy_args(sa, rd, expect):
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        m = enn.CrossEntropyLoss(size_average=sa, reduce=rd)
    assert m.reduction == expect
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.nn.CrossEntropyLoss(size_average=sa, reduce=rd).reduction == expect


def test_mse_layer_warns_for_broadcast_target():
    with pytest.warns(UserWarning, match=r"target size \(torch.Size\(\[4\]\)\) that is different"):
        enn.MSELoss()(ember.randn(4, 1), ember.randn(4))


def test_loss_layer_bad_reduction_raises_on_call():
    m = enn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        m(ember.randn(3), ember.randn(3))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        enn.TripletMarginLoss(margin=0.0)


def test_cross_entropy_module_in_training_step_matches_torch():
    """A Linear + CrossEntropyLoss step: same loss and same weight gradients as torch."""
    e_lin, t_lin = enn.Linear(8, 10), torch.nn.Linear(8, 10)
    copy_weights(e_lin, t_lin)
    x, y = f(16, 8), idx(16, high=10)
    e_loss = enn.CrossEntropyLoss(label_smoothing=0.1)(e_lin(ember.tensor(x)), ember.tensor(y))
    t_loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(t_lin(torch.tensor(x)), torch.tensor(y))
    assert_close(e_loss, t_loss)
    e_loss.backward()
    t_loss.backward()
    assert_close(e_lin.weight.grad, t_lin.weight.grad, rtol=1e-5, atol=1e-6)
    assert_close(e_lin.bias.grad, t_lin.bias.grad, rtol=1e-5, atol=1e-6)


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in [
        "ember.nn.functional._loss",
        "ember.nn.functional._loss_margin",
        "ember.nn.modules.loss",
    ]:
        res = doctest.testmod(
            importlib.import_module(name),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        )
        assert res.failed == 0, name
        assert res.attempted > 0, name


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize(
    "fn", ["cross_entropy", "nll_loss", "multi_margin_loss", "cross_entropy_2d"]
)
def test_class_weight_of_another_dtype_is_refused_as_torch(fn, dtypes):
    """torch's class-weighted kernels refuse a weight whose dtype is not the input's."""
    messages = []
    for lib in (torch, ember):
        x_dtype, w_dtype = (getattr(lib, d) for d in dtypes)
        x = (
            lib.zeros(2, 3, 4, dtype=x_dtype)
            if fn.endswith("2d")
            else lib.zeros(4, 3, dtype=x_dtype)
        )
        t = lib.zeros(2, 4, dtype=lib.int64) if fn.endswith("2d") else lib.tensor([0, 1, 2, 0])
        f = getattr(lib.nn.functional, fn.removesuffix("_2d"))
        with pytest.raises(RuntimeError) as err:
            f(x, t, weight=lib.ones(3, dtype=w_dtype))
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_probability_target_with_a_wider_weight_promotes_as_torch():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w = np.array([0.5, 1.0, 2.0])
    out = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xt, xt.detach().softmax(1), weight=lib.tensor(w))
        loss.backward()
        out.append((loss.dtype, loss.item(), xt.grad.numpy()))
    assert str(out[0][0]).split(".")[-1] == str(out[1][0]).split(".")[-1] == "float64"
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-6)
    np.testing.assert_allclose(out[1][2], out[0][2], rtol=1e-5, atol=1e-7)
