"""Issue 5's benchmark: a full MLP training step (forward, cross-entropy, backward, zero_grad and
an SGD-with-momentum update) in ember and PyTorch."""

from __future__ import annotations

import numpy as np

from .harness import Case


def _train_step(lib):
    """784-256-256-10 MLP, batch 64: the step a training loop runs once per batch."""
    nn = lib.nn
    g = np.random.default_rng(0)
    x = lib.tensor(g.standard_normal((64, 784)).astype(np.float32))
    y = lib.tensor(g.integers(0, 10, 64))
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cross_entropy = nn.functional.cross_entropy

    def run():
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return run


def _ember():
    import ember

    return _train_step(ember)


def _torch():
    import torch

    return _train_step(torch)


CASES = [
    Case(
        "optim: MLP 784-256-256-10 train step, SGD(momentum=0.9), b64",
        _ember,
        _torch,
        inner=3,
        target=0.85,
    ),
]
