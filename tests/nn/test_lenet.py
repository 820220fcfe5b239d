"""The torch.nn tutorial's LeNet (``self.conv1 = nn.Conv2d(1, 6, (5, 5))``) trained a few steps
with a hand-written SGD update gives PyTorch's losses and parameters step by step (same initial
weights, copied from ember to torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close, copy_weights


def make_lenet(lib):
    """The classic LeNet-5 for 1x28x28 inputs, written the same way in both libraries."""
    nn = lib.nn
    F = lib.nn.functional

    class LeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, (5, 5))
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 4 * 4, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return LeNet()


def _train(lib, model, xs, ys, lr: float) -> list:
    losses = []
    for x_np, y_np in zip(xs, ys):
        x, y = lib.tensor(x_np), lib.tensor(y_np)
        out = model(x)
        loss = lib.nn.functional.cross_entropy(out, y)
        model.zero_grad()
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("batch", [16, 1])
def test_lenet_training_matches_torch(batch):
    ember.manual_seed(0)
    em = make_lenet(ember)
    tm = make_lenet(torch)
    copy_weights(em, tm)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    g = np.random.default_rng(0)
    steps = 5
    xs = [g.standard_normal((batch, 1, 28, 28)).astype(np.float32) for _ in range(steps)]
    ys = [g.integers(0, 10, batch) for _ in range(steps)]
    e_losses = _train(ember, em, xs, ys, lr=0.05)
    t_losses = _train(torch, tm, xs, ys, lr=0.05)
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-4, atol=1e-5)
    assert e_losses[-1] != e_losses[0]  # it trained
    for (name, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(ep, tp, rtol=1e-4, atol=1e-5, what=name)


def test_lenet_sequential_and_repr():
    nn = ember.nn
    net = nn.Sequential(
        nn.Conv2d(1, 6, (5, 5)), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip
    tn = torch.nn
    tnet = tn.Sequential(
        tn.Conv2d(1, 6, (5, 5)), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2),
        tn.Flatten(), tn.Linear(256, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
        tn.Linear(84, 10),
    )  # fmt: skip
    assert repr(net) == repr(tnet)
    copy_weights(net, tnet)
    x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)
    assert_close(net(ember.tensor(x)), tnet(torch.tensor(x)), rtol=1e-4, atol=1e-5)
