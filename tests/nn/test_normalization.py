"""Normalisation against PyTorch: F.batch_norm / instance_norm / layer_norm / group_norm /
rms_norm / local_response_norm / normalize and their layers — forward values, gradients of input,
weight and bias, running statistics over several steps, state_dict versioning, reprs, errors;
gradcheck of every fused normalisation primitive."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from ember import nn as enn
from ember.autograd import gradcheck
from tests.parity import assert_close, check_layer, check_op, copy_weights, layer_case, rand_array


def f(*shape, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, np.float32, seed, low, high)


def both(fn):
    return (lambda *a: fn(ember, EF, *a)), (lambda *a: fn(torch, TF, *a))


RM = f(3, seed=7, low=-0.5, high=0.5)
RV = f(3, seed=8, low=0.5, high=2.0)


def bn(training, stats=False, **kw):
    def fn(L, F, x, *wb):
        rm = L.tensor(RM) if stats else None
        rv = L.tensor(RV) if stats else None
        return F.batch_norm(x, rm, rv, *wb, training=training, **kw)

    return fn


CASES = [
    ("bn_train_2d", bn(True), f(5, 3), f(3, seed=1), f(3, seed=2)),
    ("bn_train_3d", bn(True), f(4, 3, 6), f(3, seed=1), f(3, seed=2)),
    ("bn_train_4d", bn(True, eps=1e-3), f(4, 3, 5, 6), f(3, seed=1), f(3, seed=2)),
    ("bn_train_5d_noaffine", bn(True), f(2, 3, 2, 3, 4)),
    ("bn_train_stats", bn(True, stats=True, momentum=0.3), f(4, 3, 5), f(3, seed=1)),
    ("bn_eval", bn(False, stats=True), f(4, 3, 5, 2), f(3, seed=1), f(3, seed=2)),
    ("bn_eval_noaffine", bn(False, stats=True), f(6, 3)),
    ("bn_train_large_offset", bn(True), f(8, 3, 4, low=100, high=104), f(3, seed=1)),
    (
        "ln_last",
        lambda L, F, x, w, b: F.layer_norm(x, (6,), w, b),
        f(4, 6),
        f(6, seed=1),
        f(6, seed=2),
    ),
    (
        "ln_two_dims",
        lambda L, F, x, w, b: F.layer_norm(x, [5, 6], w, b, eps=1e-3),
        f(2, 3, 5, 6),
        f(5, 6, seed=1),
        f(5, 6, seed=2),
    ),
    ("ln_noaffine", lambda L, F, x: F.layer_norm(x, (4, 5)), f(3, 4, 5)),
    ("ln_weight_only", lambda L, F, x, w: F.layer_norm(x, (5,), w), f(3, 4, 5), f(5, seed=1)),
    (
        "gn",
        lambda L, F, x, w, b: F.group_norm(x, 3, w, b),
        f(2, 6, 5),
        f(6, seed=1),
        f(6, seed=2),
    ),
    (
        "gn_one_group_4d",
        lambda L, F, x, w, b: F.group_norm(x, 1, w, b),
        f(2, 4, 3, 3),
        f(4, seed=1),
        f(4, seed=2),
    ),
    ("gn_per_channel_2d", lambda L, F, x: F.group_norm(x, 4, eps=1e-2), f(3, 4, 2)),
    ("gn_2d_input", lambda L, F, x, w: F.group_norm(x, 2, w), f(3, 4), f(4, seed=1)),
    (
        "in",
        lambda L, F, x, w, b: F.instance_norm(x, weight=w, bias=b),
        f(2, 3, 7),
        f(3, seed=1),
        f(3, seed=2),
    ),
    ("in_4d", lambda L, F, x: F.instance_norm(x), f(2, 3, 4, 4)),
    (
        "in_running",
        lambda L, F, x, w: F.instance_norm(x, L.tensor(RM), L.tensor(RV), w, use_input_stats=False),
        f(2, 3, 4),
        f(3, seed=1),
    ),
    ("rms", lambda L, F, x, w: F.rms_norm(x, (5,), w), f(3, 4, 5), f(5, seed=1)),
    ("rms_eps_2d", lambda L, F, x: F.rms_norm(x, (4, 5), eps=1e-3), f(3, 4, 5)),
    ("lrn_3d", lambda L, F, x: F.local_response_norm(x, 3), f(2, 6, 5)),
    ("lrn_4d", lambda L, F, x: F.local_response_norm(x, 2, alpha=0.1, k=2.0), f(2, 5, 3, 3)),
    ("lrn_big", lambda L, F, x: F.local_response_norm(x, 5, 0.5, 0.6, 1.5), f(2, 4, 3)),
    ("normalize", lambda L, F, x: F.normalize(x), f(4, 5)),
    ("normalize_p1_dim0", lambda L, F, x: F.normalize(x, p=1, dim=0), f(4, 5)),
    ("normalize_3d_last", lambda L, F, x: F.normalize(x, dim=-1), f(2, 3, 4)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_functional_parity(case):
    _, fn, *inputs = case
    check_op(*both(fn), *inputs, rtol=1e-5, atol=1e-5, grad_rtol=1e-4, grad_atol=1e-4)


def test_batch_norm_running_update_matches_torch():
    x = f(6, 3, 4)
    rm_e, rv_e = ember.tensor(RM), ember.tensor(RV)
    rm_t, rv_t = torch.tensor(RM), torch.tensor(RV)
    for momentum in (0.1, 0.5):
        EF.batch_norm(ember.tensor(x), rm_e, rv_e, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x), rm_t, rv_t, training=True, momentum=momentum)
        assert_close(rm_e, rm_t)
        assert_close(rv_e, rv_t)


def test_instance_norm_running_update_matches_torch():
    x = f(4, 3, 5)
    rm_e, rv_e = ember.tensor(RM), ember.tensor(RV)
    rm_t, rv_t = torch.tensor(RM), torch.tensor(RV)
    EF.instance_norm(ember.tensor(x), rm_e, rv_e, momentum=0.2)
    TF.instance_norm(torch.tensor(x), rm_t, rv_t, momentum=0.2)
    assert_close(rm_e, rm_t)
    assert_close(rv_e, rv_t)


@pytest.mark.parametrize(
    "call,exc,pattern",
    [
        (
            lambda F, L: F.batch_norm(L.randn(4, 3), L.zeros(4), L.ones(4)),
            RuntimeError,
            "running_mean should contain 3 elements not 4",
        ),
        (
            lambda F, L: F.batch_norm(L.randn(4, 3), None, None),
            RuntimeError,
            "running_mean must be defined in evaluation mode",
        ),
        (
            lambda F, L: F.batch_norm(L.randn(4, 3), None, None, L.ones(4), training=True),
            RuntimeError,
            "weight should contain 3 elements not 4",
        ),
        (
            lambda F, L: F.batch_norm(L.randn(1, 3), None, None, training=True),
            ValueError,
            "Expected more than 1 value per channel when training",
        ),
        (
            lambda F, L: F.layer_norm(L.randn(3, 5), (10,)),
            RuntimeError,
            r"Given normalized_shape=\[10\], expected input with shape \[\*, 10\], but got input "
            r"of size\[3, 5\]",
        ),
        (
            lambda F, L: F.layer_norm(L.randn(3, 5), (5,), L.ones(4)),
            RuntimeError,
            "Expected weight to be of same shape as normalized_shape",
        ),
        (
            lambda F, L: F.group_norm(L.randn(2, 5, 3), 2),
            RuntimeError,
            r"divisible by num_groups, but got input of shape \[2, 5, 3\] and num_groups=2",
        ),
        (
            lambda F, L: F.group_norm(L.randn(2, 4, 3), 2, L.ones(3)),
            RuntimeError,
            "Expected weight to be a vector of size equal to the number of channels",
        ),
        (
            lambda F, L: F.instance_norm(L.randn(2, 4, 1)),
            ValueError,
            "Expected more than 1 spatial element when training",
        ),
        (
            lambda F, L: F.instance_norm(L.randn(2, 4, 3), L.zeros(3), L.ones(3)),
            RuntimeError,
            "running_mean should contain 8 elements not 6",
        ),
        (
            lambda F, L: F.local_response_norm(L.randn(2, 4), 2),
            ValueError,
            "Expected 3D or higher dimensionality",
        ),
    ],
)
def test_functional_errors(call, exc, pattern):
    for F, L in ((EF, ember), (TF, torch)):
        with pytest.raises(exc, match=pattern):
            call(F, L)


# ---- layers ---------------------------------------------------------------------------------
def _steps(shape, shifted=False):
    """Inputs per step (seed = step); ``shifted`` moves each step's range (running stats move)."""
    if shifted:
        return lambda seed: f(*shape, seed=seed, low=-1.0 + seed, high=2.0 + seed)
    return lambda seed: f(*shape, seed=seed)


def _norm(name, args, kwargs=None, shape=(), steps=2, eval_steps=0, shifted=False):
    # Parameters in general position; ember's weights and buffers copied into torch's layer.
    inputs = _steps(shape, shifted)
    return layer_case(
        name, args, kwargs, input=inputs, steps=steps, eval_steps=eval_steps, randomize=True
    )


def _bn(name, args, kwargs=None, shape=()):
    return _norm(name, args, kwargs, shape, steps=3, eval_steps=1, shifted=True)


BN_LAYERS = [
    _bn("BatchNorm1d", (3,), shape=(6, 3)),
    _bn("BatchNorm1d", (3,), dict(momentum=None), (4, 3, 5)),
    _bn("BatchNorm2d", (3,), shape=(4, 3, 5, 5)),
    _bn("BatchNorm2d", (3,), dict(affine=False, momentum=0.3), (2, 3, 4, 4)),
    _bn("BatchNorm2d", (3,), dict(bias=False), (2, 3, 4, 4)),
    _bn("BatchNorm2d", (3,), dict(track_running_stats=False), (3, 3, 2, 2)),
    _bn("BatchNorm3d", (3,), dict(eps=1e-3), (2, 3, 2, 3, 3)),
]


@pytest.mark.parametrize("case", BN_LAYERS, ids=str)
def test_batchnorm_layers_train_then_eval(case):
    # Three training steps on moving data, then eval (running statistics, or batch statistics
    # when untracked): outputs, gradients of input/weight/bias and the buffers after each step.
    check_layer(case)


def test_batchnorm_cumulative_average_and_counter():
    e, t = enn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    for s in range(4):
        x = f(5, 2, seed=s, low=s, high=s + 3.0)
        e(ember.tensor(x))
        t(torch.tensor(x))
    assert e.num_batches_tracked.item() == 4
    assert e.num_batches_tracked.dtype == ember.int64
    assert_close(e.running_mean, t.running_mean)
    assert_close(e.running_var, t.running_var)


def test_batchnorm_eval_uses_running_stats_and_no_update():
    m = enn.BatchNorm2d(2)
    m(ember.randn(4, 2, 3, 3) * 3 + 1)
    m.eval()
    before = m.running_mean.numpy().copy()
    x = ember.randn(2, 2, 3, 3)
    y = m(x)
    expect = (x.numpy() - before[None, :, None, None]) / np.sqrt(
        m.running_var.numpy()[None, :, None, None] + 1e-5
    )
    np.testing.assert_allclose(y.detach().numpy(), expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(m.running_mean.numpy(), before)
    assert m.num_batches_tracked.item() == 1


def test_batchnorm_state_dict_version_and_old_checkpoint():
    m = enn.BatchNorm2d(3)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd._metadata[""] == {"version": 2}
    seq = enn.Sequential(enn.Linear(2, 3), enn.BatchNorm1d(3))
    assert seq.state_dict()._metadata["1"]["version"] == 2
    # A checkpoint written before version 2 has no num_batches_tracked: still loads strictly.
    old = OrderedDict((k, v) for k, v in sd.items() if k != "num_batches_tracked")
    old._metadata = OrderedDict({"": {"version": 1}})
    fresh = enn.BatchNorm2d(3)
    fresh.num_batches_tracked.fill_(7)
    result = fresh.load_state_dict(old)
    assert not result.missing_keys and not result.unexpected_keys
    assert fresh.num_batches_tracked.item() == 7
    # Same without any metadata (version None); a version-2 checkpoint must have the key.
    old2 = OrderedDict((k, v) for k, v in sd.items() if k != "num_batches_tracked")
    enn.BatchNorm2d(3).load_state_dict(old2)
    old2._metadata = OrderedDict({"": {"version": 2}})
    with pytest.raises(RuntimeError, match="Missing key.*num_batches_tracked"):
        enn.BatchNorm2d(3).load_state_dict(old2)


def test_batchnorm_state_dict_loads_into_torch_and_back():
    e = enn.BatchNorm1d(4)
    e(ember.randn(8, 4) * 2 + 1)
    t = torch.nn.BatchNorm1d(4)
    copy_weights(e, t)
    assert t.num_batches_tracked.item() == 1
    back = enn.BatchNorm1d(4)
    back.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert_close(back.running_var, t.running_var)


IN_LAYERS = [
    _norm("InstanceNorm1d", (3,), shape=(2, 3, 6), eval_steps=1),
    _norm("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True), (4, 3, 5), 2, 1),
    _norm("InstanceNorm2d", (3,), dict(affine=True), (2, 3, 4, 4), eval_steps=1),
    _norm("InstanceNorm2d", (3,), dict(affine=True), (3, 4, 5), eval_steps=1),  # unbatched
    _norm("InstanceNorm2d", (3,), dict(track_running_stats=True), (2, 3, 3, 3), eval_steps=1),
    _norm("InstanceNorm3d", (2,), dict(affine=True), (2, 2, 2, 3, 3), eval_steps=1),
]


@pytest.mark.parametrize("case", IN_LAYERS, ids=str)
def test_instancenorm_layers(case):
    check_layer(case)


def test_instancenorm_channel_mismatch():
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features"):
        enn.InstanceNorm1d(3, affine=True)(ember.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        enn.InstanceNorm1d(3)(ember.randn(2, 4, 5))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        enn.InstanceNorm2d(3)(ember.randn(2, 3))


OTHER_LAYERS = [
    _norm("LayerNorm", (5,), shape=(3, 4, 5)),
    _norm("LayerNorm", ([4, 5],), dict(eps=1e-3, bias=False), (3, 4, 5)),
    _norm("LayerNorm", (5,), dict(elementwise_affine=False), (2, 5)),
    _norm("GroupNorm", (2, 4), shape=(3, 4, 5)),
    _norm("GroupNorm", (3, 6), dict(affine=False), (2, 6, 2, 2)),
    _norm("RMSNorm", (5,), shape=(3, 4, 5)),
    _norm("RMSNorm", ([4, 5],), dict(eps=1e-4, elementwise_affine=False), (2, 4, 5)),
    _norm("LocalResponseNorm", (3,), dict(alpha=0.01), (2, 5, 3, 3)),
]


@pytest.mark.parametrize("case", OTHER_LAYERS, ids=str)
def test_other_norm_layers(case):
    check_layer(case)


def test_reprs_match_torch():
    makers = [
        lambda nn: nn.BatchNorm2d(6),
        lambda nn: nn.BatchNorm1d(4, affine=False, momentum=None, eps=1e-3),
        lambda nn: nn.BatchNorm3d(2, bias=False, track_running_stats=False),
        lambda nn: nn.LayerNorm(10),
        lambda nn: nn.LayerNorm((3, 4), elementwise_affine=False, bias=False),
        lambda nn: nn.GroupNorm(2, 4),
        lambda nn: nn.InstanceNorm2d(3),
        lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
        lambda nn: nn.RMSNorm(4),
        lambda nn: nn.LocalResponseNorm(2),
    ]
    for make in makers:
        assert repr(make(enn)) == repr(make(torch.nn))


def test_layer_errors():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        enn.BatchNorm2d(3)(ember.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        enn.BatchNorm1d(3)(ember.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        enn.BatchNorm1d(3)(ember.randn(2, 4))
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups"):
        enn.GroupNorm(2, 5)


def test_batchnorm_float64_module():
    e = enn.BatchNorm1d(3).double()
    t = torch.nn.BatchNorm1d(3).double()
    x = rand_array((5, 3), np.float64)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)), rtol=1e-12, atol=1e-12)
    assert e.running_var.dtype == ember.float64


# ---- gradcheck of the fused primitives (float64) --------------------------------------------
def d(*shape, seed=0):
    return ember.tensor(rand_array(shape, np.float64, seed), requires_grad=True)


GRADCHECKS = [
    (
        "bn_train",
        lambda x, w, b: EF.batch_norm(x, None, None, w, b, True),
        [d(3, 2, 2), d(2, seed=1), d(2, seed=2)],
    ),
    ("bn_train_noaffine", lambda x: EF.batch_norm(x, None, None, training=True), [d(4, 2)]),
    (
        "bn_eval",
        lambda x, w, b: EF.batch_norm(
            x, ember.tensor([0.1, -0.2]).double(), ember.tensor([1.5, 0.7]).double(), w, b
        ),
        [d(3, 2, 2), d(2, seed=1), d(2, seed=2)],
    ),
    (
        "ln",
        lambda x, w, b: EF.layer_norm(x, (2, 3), w, b),
        [d(2, 2, 3), d(2, 3, seed=1), d(2, 3, seed=2)],
    ),
    ("gn", lambda x, w, b: EF.group_norm(x, 2, w, b), [d(2, 4, 2), d(4, seed=1), d(4, seed=2)]),
    ("in", lambda x, w: EF.instance_norm(x, weight=w), [d(2, 2, 3), d(2, seed=1)]),
    ("rms", lambda x, w: EF.rms_norm(x, (3,), w, eps=1e-3), [d(2, 2, 3), d(3, seed=1)]),
    ("lrn", lambda x: EF.local_response_norm(x, 3, alpha=0.5), [d(2, 3, 2)]),
]


@pytest.mark.parametrize("case", GRADCHECKS, ids=[c[0] for c in GRADCHECKS])
def test_gradcheck_norm_primitives(case):
    _, fn, inputs = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(fn, inputs)


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ["ember.nn.functional._norm", "ember.nn.modules.normalization"]:
        res = doctest.testmod(
            importlib.import_module(name),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        )
        assert res.failed == 0, name
        assert res.attempted > 0, name
