"""Optimizer checkpoints through ember.save / torch.load, and torch-style custom optimizers."""

from __future__ import annotations

import numpy as np
import torch

import ember
from tests.optim.test_trajectories import _assert_params, _initial, _Run


def test_saved_optimizer_and_scheduler_state_load_in_torch(tmp_path):
    e = _Run(ember, "AdamW", {"lr": 0.05, "amsgrad": True}, _initial())
    sched = ember.optim.lr_scheduler.ExponentialLR(e.opt, gamma=0.9)
    for step in range(6):
        e.step(step)
        sched.step()
    path = tmp_path / "ckpt.pt"
    ember.save({"optimizer": e.opt.state_dict(), "scheduler": sched.state_dict()}, path)

    ckpt = torch.load(path, weights_only=True)
    t = _Run(torch, "AdamW", {"lr": 0.05, "amsgrad": True}, e.values())
    t_sched = torch.optim.lr_scheduler.ExponentialLR(t.opt, gamma=0.9)
    t.opt.load_state_dict(ckpt["optimizer"])
    t_sched.load_state_dict(ckpt["scheduler"])
    assert t_sched.get_last_lr() == sched.get_last_lr()

    back = ember.load(path)
    e2 = _Run(ember, "AdamW", {"lr": 0.05, "amsgrad": True}, e.values())
    e2_sched = ember.optim.lr_scheduler.ExponentialLR(e2.opt, gamma=0.9)
    e2.opt.load_state_dict(back["optimizer"])
    e2_sched.load_state_dict(back["scheduler"])
    for step in range(6, 12):
        for run in (e, t, e2):
            run.step(step)
        for s in (sched, t_sched, e2_sched):
            s.step()
    _assert_params(e, t, "torch resumed from ember.save")
    for a, b in zip(e.values(), e2.values()):
        np.testing.assert_array_equal(a, b)


class SignSGD(ember.optim.Optimizer):
    """A user-defined optimizer written exactly as for PyTorch."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, {"lr": lr})

    @ember.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["n"] = state.get("n", 0) + 1
                p.add_(p.grad.sign(), alpha=-group["lr"])


def test_custom_optimizer_subclass_and_scheduler():
    w = ember.nn.Parameter(ember.tensor([1.0, -2.0, 0.5]))
    opt = SignSGD([w], lr=0.1)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        sched.step()
    # steps of 0.1, 0.05, 0.025 against the sign of w
    np.testing.assert_allclose(w.detach().numpy(), [0.825, -1.825, 0.325], rtol=1e-6)
    assert opt.state[w]["n"] == 3 and opt.state_dict()["state"][0]["n"] == 3
    assert w.is_leaf and w.requires_grad
