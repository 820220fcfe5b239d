"""Learning-rate schedulers against torch.optim.lr_scheduler: 50-step lr sequences."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import ember

STEPS = 50
METRICS = [1.0 / (1 + i) if i < 10 else 0.1 + 0.01 * math.sin(i) for i in range(STEPS)]


def _opt(lib, kind="SGD"):
    ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    groups = [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _seq(L, o):
    return L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=20)], milestones=[5]
    )


def _seq3(L, o):
    return L.SequentialLR(
        o,
        [L.ConstantLR(o, 0.5, 3), L.ExponentialLR(o, 0.9), L.StepLR(o, 4, 0.5)],
        milestones=[3, 20],
    )


def _chained(L, o):
    return L.ChainedScheduler([L.ConstantLR(o, 0.1, 4), L.ExponentialLR(o, 0.95)])


class Scale:
    """A callable object: its __dict__ is saved by LambdaLR.state_dict()."""

    def __init__(self, k):
        self.k = k

    def __call__(self, epoch):
        return self.k**epoch


# name -> (factory(lr_scheduler module, optimizer), optimizer kind, uses metrics)
CASES = {
    "StepLR": (lambda L, o: L.StepLR(o, step_size=7, gamma=0.5), "SGD"),
    "MultiStepLR": (lambda L, o: L.MultiStepLR(o, [5, 12, 12, 30], gamma=0.3), "SGD"),
    "ExponentialLR": (lambda L, o: L.ExponentialLR(o, gamma=0.93), "SGD"),
    "CosineAnnealingLR": (lambda L, o: L.CosineAnnealingLR(o, T_max=15, eta_min=0.001), "SGD"),
    "LambdaLR": (lambda L, o: L.LambdaLR(o, lambda e: 1 / (1 + e)), "SGD"),
    "LambdaLR-per-group": (
        lambda L, o: L.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 + (e % 3)]),
        "SGD",
    ),
    "MultiplicativeLR": (lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95), "SGD"),
    "LinearLR": (
        lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=17),
        "SGD",
    ),
    "ConstantLR": (lambda L, o: L.ConstantLR(o, factor=0.4, total_iters=9), "SGD"),
    "PolynomialLR": (lambda L, o: L.PolynomialLR(o, total_iters=30, power=2.0), "SGD"),
    "OneCycleLR": (lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS), "SGD"),
    "OneCycleLR-linear-3phase-adam": (
        lambda L, o: L.OneCycleLR(
            o,
            max_lr=0.3,
            epochs=5,
            steps_per_epoch=10,
            anneal_strategy="linear",
            three_phase=True,
            pct_start=0.25,
        ),
        "Adam",
    ),
    "CyclicLR": (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=6, step_size_down=4), "SGD"),
    "CyclicLR-triangular2": (
        lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=5, mode="triangular2"),
        "SGD",
    ),
    "CyclicLR-exp_range-adam": (
        lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97),
        "Adam",
    ),
    "CosineAnnealingWarmRestarts": (
        lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001),
        "SGD",
    ),
    "CosineAnnealingWarmRestarts-Tmult1": (
        lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7),
        "SGD",
    ),
    "SequentialLR": (_seq, "SGD"),
    "SequentialLR-3": (_seq3, "SGD"),
    "ChainedScheduler": (_chained, "SGD"),
    "ReduceLROnPlateau": (
        lambda L, o: L.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1),
        "SGD",
    ),
    "ReduceLROnPlateau-max-abs": (
        lambda L, o: L.ReduceLROnPlateau(
            o, mode="max", threshold_mode="abs", threshold=0.01, patience=1, min_lr=[0.02, 0.0]
        ),
        "SGD",
    ),
}


def _momentum(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(lib, name, steps=STEPS, start=None):
    factory, kind = CASES[name]
    opt = _opt(lib, kind)
    sched = factory(lib.optim.lr_scheduler, opt)
    lrs, moms = [list(sched.get_last_lr())], [_momentum(opt)]
    for i in range(steps):
        opt.step()
        if "Plateau" in name:
            sched.step(METRICS[i] if "max" not in name else -METRICS[i])
        else:
            sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(_momentum(opt))
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return lrs, moms, sched, opt


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name):
    e_lrs, e_moms, *_ = _run(ember, name)
    t_lrs, t_moms, *_ = _run(torch, name)
    np.testing.assert_allclose(np.array(e_lrs), np.array(t_lrs), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.array(e_moms), np.array(t_moms), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "name",
    [
        "StepLR",
        "CosineAnnealingLR",
        "OneCycleLR",
        "CyclicLR",
        "SequentialLR",
        "ChainedScheduler",
        "ReduceLROnPlateau",
        "CosineAnnealingWarmRestarts",
    ],
)
def test_scheduler_state_dict_resume(name):
    """Save optimizer + scheduler after 20 steps; fresh objects loaded from them continue with
    the same learning rates as the uninterrupted run."""
    full_lrs, _, sched, opt = _run(ember, name, steps=20)
    sd_sched = copy.deepcopy(sched.state_dict())
    sd_opt = copy.deepcopy(opt.state_dict())
    assert "optimizer" not in sd_sched
    assert sd_sched.get("last_epoch", 20) == 20
    factory, kind = CASES[name]
    opt2 = _opt(ember, kind)
    sched2 = factory(ember.optim.lr_scheduler, opt2)
    opt2.load_state_dict(sd_opt)
    sched2.load_state_dict(sd_sched)
    for i in range(20, 30):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            if "Plateau" in name:
                s.step(METRICS[i])
            else:
                s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == sched2.get_last_lr()


def test_lambda_state_dict_saves_callable_objects():
    o = _opt(ember)
    s = ember.optim.lr_scheduler.LambdaLR(o, [Scale(0.5), lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"k": 0.5}, None]
    s2 = ember.optim.lr_scheduler.LambdaLR(_opt(ember), [Scale(0.9), lambda e: 1.0])
    s2.load_state_dict(sd)
    assert s2.lr_lambdas[0].k == 0.5


def test_warning_when_scheduler_steps_before_optimizer():
    o = _opt(ember)
    s = ember.optim.lr_scheduler.StepLR(o, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    o2 = _opt(ember)
    s2 = ember.optim.lr_scheduler.StepLR(o2, 3)
    o2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()


def test_get_lr_outside_step_warns_and_epoch_argument():
    o = _opt(ember)
    s = ember.optim.lr_scheduler.ExponentialLR(o, 0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()
    o.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(3)  # the closed form
    assert s.get_last_lr() == [0.1 * 0.5**3, 0.05 * 0.5**3]


def test_scheduler_errors():
    L = ember.optim.lr_scheduler
    o = _opt(ember)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(o, 3, last_epoch=5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        L.LambdaLR(o, [lambda e: 1] * 3)
    with pytest.raises(ValueError, match="Constant multiplicative factor"):
        L.ConstantLR(o, factor=2)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(o, factor=1.5)
    with pytest.raises(ValueError, match="must define either total_steps"):
        L.OneCycleLR(o, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        L.CosineAnnealingWarmRestarts(o, T_0=0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3])
    other = _opt(ember)
    with pytest.raises(ValueError, match="same optimizer"):
        L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(other, 2)], milestones=[3])
    s = L.OneCycleLR(o, max_lr=0.1, total_steps=2)
    o.step()
    s.step()
    s.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        s.step()
