"""Activations and dropout, forward + backward on a (64, 1024) float32 batch, ember vs torch."""

from __future__ import annotations

import numpy as np

from .harness import Case

SHAPE = (64, 1024)


def _make(lib: str, name: str):
    x_np = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    g_np = np.random.default_rng(1).standard_normal(SHAPE).astype(np.float32)
    if lib == "ember":
        import ember as m
        import ember.nn.functional as F
    else:
        import torch as m
        import torch.nn.functional as F
    x = m.tensor(x_np, requires_grad=True)
    g = m.tensor(g_np)
    fn = {
        "relu": F.relu,
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu,
        "leaky_relu": F.leaky_relu,
        "elu": F.elu,
        "softplus": F.softplus,
        "dropout": lambda t: F.dropout(t, 0.5),
    }[name]

    def run():
        x.grad = None
        fn(x).backward(g)

    return run


CASES = [
    Case(
        f"activation {name} fwd+bwd (64x1024)",
        lambda name=name: _make("ember", name),
        lambda name=name: _make("torch", name),
        inner=5,
        rounds=15,
        target=None if name == "dropout" else 2.0 if name == "gelu" else 1.3,
    )
    for name in ["relu", "gelu", "gelu_tanh", "silu", "leaky_relu", "elu", "softplus", "dropout"]
]
