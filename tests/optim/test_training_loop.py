"""A whole training loop (DataLoader + cross-entropy + Adam / SGD) against the same loop in torch
fed the same batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.utils.data import DataLoader, TensorDataset
from tests.parity import copy_weights


def _models():
    e = ember.nn.Sequential(
        ember.nn.Linear(8, 16),
        ember.nn.ReLU(),
        ember.nn.Linear(16, 16),
        ember.nn.ReLU(),
        ember.nn.Linear(16, 3),
    )
    t = torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 3),
    )
    copy_weights(e, t)
    return e, t


def _data():
    g = np.random.default_rng(0)
    x = g.standard_normal((96, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


@pytest.mark.parametrize(
    "opt_name,kw",
    [
        ("Adam", {"lr": 0.01}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("AdamW", {"lr": 0.01, "weight_decay": 0.05}),
    ],
)
def test_training_loop_matches_torch(opt_name, kw):
    e_model, t_model = _models()
    e_opt = getattr(ember.optim, opt_name)(e_model.parameters(), **kw)
    t_opt = getattr(torch.optim, opt_name)(t_model.parameters(), **kw)
    e_sched = ember.optim.lr_scheduler.StepLR(e_opt, step_size=10, gamma=0.5)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=10, gamma=0.5)
    e_loss_fn = ember.nn.CrossEntropyLoss()
    t_loss_fn = torch.nn.CrossEntropyLoss()
    x, y = _data()
    loader = DataLoader(
        TensorDataset(ember.tensor(x), ember.tensor(y)),
        batch_size=16,
        shuffle=True,
        drop_last=True,
        generator=ember.Generator().manual_seed(0),
    )
    losses = []
    for _epoch in range(4):
        for xb, yb in loader:
            # torch is fed exactly the batches ember's loader produced
            tx, ty = torch.from_numpy(xb.numpy().copy()), torch.from_numpy(yb.numpy().copy())
            e_opt.zero_grad()
            e_loss = e_loss_fn(e_model(xb), yb)
            e_loss.backward()
            e_opt.step()
            e_sched.step()
            t_opt.zero_grad()
            t_loss = t_loss_fn(t_model(tx), ty)
            t_loss.backward()
            t_opt.step()
            t_sched.step()
            losses.append((e_loss.item(), t_loss.item()))
    e_losses, t_losses = np.array(losses).T
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-4, atol=1e-5)
    assert e_losses[-5:].mean() < e_losses[:5].mean()  # it learned something
    for (name, ep), tp in zip(e_model.named_parameters(), t_model.parameters()):
        np.testing.assert_allclose(
            ep.detach().numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )
    assert e_sched.get_last_lr() == t_sched.get_last_lr()
