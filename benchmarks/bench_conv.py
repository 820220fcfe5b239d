"""Issue 4's convolution benchmarks: a LeNet training step and a small conv stack, ember vs torch.

Both libraries get the same weights (copied from ember) and the same data, and do the same work:
forward, cross-entropy, backward, and (LeNet) an SGD step.
"""

from __future__ import annotations

import numpy as np

from .harness import Case


def _lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def _stack(nn):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def _data(batch: int, shape: tuple) -> tuple:
    g = np.random.default_rng(0)
    x = g.standard_normal((batch, *shape)).astype(np.float32)
    y = g.integers(0, 10, batch)
    return x, y


_WEIGHTS: dict = {}


def _ember_weights(builder) -> dict:
    """One ember model's initial weights per architecture, shared with the torch side."""
    import ember

    if builder not in _WEIGHTS:
        ember.manual_seed(0)
        _WEIGHTS[builder] = {
            k: np.array(v._data) for k, v in builder(ember.nn).state_dict().items()
        }
    return _WEIGHTS[builder]


def _make(lib_name: str, builder, batch: int, shape: tuple, sgd: bool):
    if lib_name == "ember":
        import ember as lib
    else:
        import torch as lib
    model = builder(lib.nn)
    model.load_state_dict({k: lib.tensor(v) for k, v in _ember_weights(builder).items()})
    x_np, y_np = _data(batch, shape)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    opt = lib.optim.SGD(model.parameters(), lr=0.01) if sgd else None
    ce = lib.nn.functional.cross_entropy

    def step():
        loss = ce(model(x), y)
        if opt is not None:
            opt.zero_grad()
        else:
            model.zero_grad()
        loss.backward()
        if opt is not None:
            opt.step()
        return loss

    return step


CASES = [
    Case(
        "conv: LeNet train step, b64 1x28x28 (fwd+CE+bwd+SGD)",
        lambda: _make("ember", _lenet, 64, (1, 28, 28), True),
        lambda: _make("torch", _lenet, 64, (1, 28, 28), True),
        inner=3,
        rounds=15,
        target=1.2,
    ),
    Case(
        "conv: stack 3-32-64-128 b32 3x32x32, fwd+CE+bwd",
        lambda: _make("ember", _stack, 32, (3, 32, 32), False),
        lambda: _make("torch", _stack, 32, (3, 32, 32), False),
        inner=1,
        rounds=15,
        target=1.1,
    ),
]
