"""Optimizers against torch.optim: 20-step parameter trajectories, state_dict round trips."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

SHAPES = [(5, 3), (4,), (2, 3, 2)]
STEPS = 20

# (optimizer name, kwargs): defaults first, then each option.
CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "maximize": True, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8}),
    ("Adadelta", {"lr": 0.5, "weight_decay": 0.1, "eps": 1e-4}),
    ("Adadelta", {"maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.7, 0.9)}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.05, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9)}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "maximize": True}),
]


def _ids(cfg):
    name, kw = cfg
    return name + ("-" + ",".join(f"{k}={v}" for k, v in kw.items()) if kw else "-defaults")


def _initial(seed: int = 0) -> list[np.ndarray]:
    g = np.random.default_rng(seed)
    return [g.uniform(-1, 1, s).astype(np.float32) for s in SHAPES]


def _noise(step: int) -> list[np.ndarray]:
    g = np.random.default_rng(1000 + step)
    return [g.standard_normal(s).astype(np.float32) for s in SHAPES]


def _grads(step: int, values: list[np.ndarray]) -> list[np.ndarray]:
    """The gradient of sum(noise_t * p + 0.5 * p**2): it depends on where each run is."""
    return [n + np.float32(0.5) * v for n, v in zip(_noise(step), values)]


class _Run:
    """The same training run in one library: params, optimizer, and a step that injects grads."""

    def __init__(self, lib, name, kwargs, values, groups: bool = False):
        self.lib = lib
        self.params = [lib.tensor(v.copy(), requires_grad=True) for v in values]
        if groups:  # two groups, the second with its own lr
            spec = [{"params": self.params[:2]}, {"params": self.params[2:], "lr": 0.02}]
        else:
            spec = self.params
        self.opt = getattr(lib.optim, name)(spec, **kwargs)

    def values(self) -> list[np.ndarray]:
        return [np.array(p.detach().numpy()) for p in self.params]

    def step(self, t: int) -> None:
        for p, g in zip(self.params, _grads(t, self.values())):
            p.grad = self.lib.tensor(g)
        self.opt.step()


def _assert_params(e_run, t_run, what=""):
    for i, (a, b) in enumerate(zip(e_run.values(), t_run.values())):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"{what} param {i}")


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_trajectory_matches_torch(cfg):
    name, kwargs = cfg
    e = _Run(ember, name, kwargs, _initial())
    t = _Run(torch, name, kwargs, _initial())
    for step in range(STEPS):
        e.step(step)
        t.step(step)
        _assert_params(e, t, f"step {step}")


@pytest.mark.parametrize(
    "cfg",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("Adam", {"lr": 0.05, "amsgrad": True}),
        ("RMSprop", {"momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr_decay": 0.1}),
    ],
    ids=_ids,
)
def test_param_groups_trajectory(cfg):
    name, kwargs = cfg
    e = _Run(ember, name, kwargs, _initial(), groups=True)
    t = _Run(torch, name, kwargs, _initial(), groups=True)
    assert e.opt.param_groups[1]["lr"] == 0.02
    for step in range(STEPS):
        e.step(step)
        t.step(step)
    _assert_params(e, t)


def _to_torch_state(sd):
    """ember's optimizer state_dict with every tensor converted to a torch tensor."""
    if isinstance(sd, ember.Tensor):
        return torch.from_numpy(np.array(sd._data))
    if isinstance(sd, dict):
        return {k: _to_torch_state(v) for k, v in sd.items()}
    if isinstance(sd, list):
        return [_to_torch_state(v) for v in sd]
    return sd


def _compare_state_dicts(esd, tsd):
    assert esd["param_groups"] == [{k: v for k, v in g.items()} for g in tsd["param_groups"]], (
        "param_groups differ"
    )
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for pid, tstate in tsd["state"].items():
        estate = esd["state"][pid]
        assert list(estate) == list(tstate), f"state keys of param {pid}"
        for key, tv in tstate.items():
            assert_close(estate[key], tv, rtol=2e-5, atol=2e-6, what=f"state[{pid}][{key}]")


@pytest.mark.parametrize(
    "cfg",
    [c for c in CONFIGS if c[1] and len(c[1]) > 1]
    + [
        (n, {})
        for n in [
            "SGD",
            "Adam",
            "AdamW",
            "RMSprop",
            "Adagrad",
            "Adadelta",
            "Adamax",
            "NAdam",
            "RAdam",
        ]
    ],
    ids=_ids,
)
def test_state_dict_resume(cfg):
    """Save after 10 steps, load into a fresh optimizer (ember, and torch), continue 10 steps:
    the same trajectory as the uninterrupted run; and the layout is torch's."""
    name, kwargs = cfg
    full = _Run(ember, name, kwargs, _initial())
    ref = _Run(torch, name, kwargs, _initial())
    for step in range(STEPS // 2):
        full.step(step)
        ref.step(step)
    _compare_state_dicts(full.opt.state_dict(), ref.opt.state_dict())
    saved_values = full.values()
    saved_state = copy.deepcopy(full.opt.state_dict())

    resumed = _Run(ember, name, kwargs, saved_values)
    resumed.opt.load_state_dict(saved_state)
    in_torch = _Run(torch, name, kwargs, saved_values)
    in_torch.opt.load_state_dict(_to_torch_state(saved_state))
    for step in range(STEPS // 2, STEPS):
        full.step(step)
        resumed.step(step)
        in_torch.step(step)
    for a, b in zip(full.values(), resumed.values()):
        np.testing.assert_array_equal(a, b)
    _assert_params(resumed, in_torch, "torch resumed from ember's state")


def test_state_dict_is_by_reference_and_load_copies():
    w = ember.ones(3, requires_grad=True)
    opt = ember.optim.Adam([w])
    w.grad = ember.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["exp_avg"] is opt.state[w]["exp_avg"]
    assert sd["state"][0]["step"].dtype == ember.float32 and sd["state"][0]["step"].ndim == 0
    assert sd["state"][0]["step"].item() == 1.0
    w2 = ember.ones(3, requires_grad=True)
    opt2 = ember.optim.Adam([w2])
    opt2.load_state_dict(sd)
    assert opt2.state[w2]["exp_avg"] is not sd["state"][0]["exp_avg"]
    np.testing.assert_array_equal(opt2.state[w2]["exp_avg"].numpy(), sd["state"][0]["exp_avg"])


def test_load_torch_state_dict_layout_into_ember():
    """A state dict written by torch (converted to ember tensors) resumes identically in ember."""
    t = _Run(torch, "Adam", {"lr": 0.05}, _initial())
    e_ref = _Run(ember, "Adam", {"lr": 0.05}, _initial())
    for step in range(5):
        t.step(step)
        e_ref.step(step)
    tsd = t.opt.state_dict()

    def conv(x):
        if isinstance(x, torch.Tensor):
            return ember.tensor(x.numpy())
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, list):
            return [conv(v) for v in x]
        return x

    e = _Run(ember, "Adam", {"lr": 0.05}, t.values())
    e.opt.load_state_dict(conv(tsd))
    for step in range(5, 10):
        t.step(step)
        e.step(step)
    _assert_params(e, t)


@pytest.mark.parametrize("groups", [False, True], ids=["one_group", "two_groups"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_a_step_split_across_threads_gives_the_same_bits(cfg, groups, monkeypatch):
    """A big step runs its parameters' updates in per-core shares (optimizer._run_updates):
    forced to split here (every size counts as big), then forced to run in this thread, both
    trajectories are the sequential one bit for bit, and every parameter's version moves once a
    step."""
    from ember.ops import _parallel as P
    from tests.parity import num_threads

    name, kwargs = cfg
    monkeypatch.setattr(P, "MIN_WORK", 0)
    runs = []
    with num_threads(2):
        for way in (True, False):
            monkeypatch.setattr(P, "SPLIT", way)
            runs.append(_Run(ember, name, kwargs, _initial(), groups=groups))
            for step in range(5):
                before = [p._version for p in runs[-1].params]
                runs[-1].step(step)
                assert [p._version for p in runs[-1].params] == [v + 1 for v in before]
    for a, b in zip(runs[0].values(), runs[1].values()):
        np.testing.assert_array_equal(a, b)
    t = _Run(torch, name, kwargs, _initial(), groups=groups)
    for step in range(5):
        t.step(step)
    _assert_params(runs[0], t)


@pytest.mark.parametrize(
    "cfg",
    [
        ("SGD", {"lr": 0.01}),
        ("SGD", {"lr": 0.01, "momentum": 0.9}),
        ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}),
        ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
        ("Adamax", {"lr": 1e-3}),
        ("ASGD", {"lr": 1e-3}),
        ("RAdam", {}),
    ],
    ids=_ids,
)
def test_float32_trajectory_is_bit_identical(cfg):
    """Where PyTorch's update is add-with-alpha and lerp (fused multiply-adds), ember's is too
    (ops/_axpy.py): 30 steps on 2112 float32 values end on PyTorch's bits (NumPy's
    product-then-add differed in 500-850 of them for SGD)."""
    runs = [_fused_trajectory(lib, *cfg, np.float32) for lib in (ember, torch)]
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize(
    "cfg",
    [
        ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
        ("SGD", {"lr": 0.01, "momentum": 0.9, "maximize": True, "weight_decay": 1e-2}),
        ("Adamax", {"lr": 1e-3}),
        ("ASGD", {"lr": 1e-3}),
    ],
    ids=_ids,
)
def test_float64_trajectory_is_bit_identical(cfg):
    """The same in float64 (RAdam's float64 run is not: 2 of 2112 values differ)."""
    runs = [_fused_trajectory(lib, *cfg, np.float64) for lib in (ember, torch)]
    np.testing.assert_array_equal(*runs)


def _fused_trajectory(lib, name: str, kwargs: dict, dtype) -> np.ndarray:
    """The parameter after 30 steps of ``name`` on fixed random gradients."""
    p = lib.tensor(np.random.default_rng(0).standard_normal((64, 33)).astype(dtype))
    p.requires_grad_()
    opt = getattr(lib.optim, name)([p], **kwargs)
    for i in range(30):
        g = np.random.default_rng(i + 1).standard_normal((64, 33)).astype(dtype)
        p.grad = lib.tensor(g)
        opt.step()
    return p.detach().numpy()
