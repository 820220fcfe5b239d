"""Issue 2's benchmarks: per-op overhead (autograd and no_grad) and an MLP forward+backward."""

from __future__ import annotations

import numpy as np

from .harness import Case

CHAIN = 100


def _chain_ember(grad: bool):
    import ember

    x = ember.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=grad)

    def run():
        y = x
        for _ in range(CHAIN):
            y = (y * 1.01 + 0.1).tanh()
        if grad:
            y.sum().backward()
        return y

    if grad:
        return run

    def run_nograd():
        with ember.no_grad():
            return run()

    return run_nograd


def _chain_torch(grad: bool):
    import torch

    x = torch.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=grad)

    def run():
        y = x
        for _ in range(CHAIN):
            y = (y * 1.01 + 0.1).tanh()
        if grad:
            y.sum().backward()
        return y

    if grad:
        return run

    def run_nograd():
        with torch.no_grad():
            return run()

    return run_nograd


def _mlp_arrays():
    g = np.random.default_rng(0)
    dims = [784, 256, 256, 10]
    ws = [
        (g.standard_normal((i, o)) * (1 / np.sqrt(i))).astype(np.float32)
        for i, o in zip(dims[:-1], dims[1:])
    ]
    bs = [np.zeros(o, np.float32) for o in dims[1:]]
    x = g.standard_normal((64, 784)).astype(np.float32)
    return x, ws, bs


def _mlp(lib):
    x, ws, bs = _mlp_arrays()
    X = lib.tensor(x)
    W = [lib.tensor(w, requires_grad=True) for w in ws]
    B = [lib.tensor(b, requires_grad=True) for b in bs]

    def run():
        h = X
        for i in range(3):
            h = h @ W[i] + B[i]
            if i < 2:
                h = h.relu()
        h.sum().backward()
        for p in W + B:
            p.grad = None

    return run


def _ember():
    import ember

    return ember


def _torch():
    import torch

    return torch


CASES = [
    Case(
        "core: 100-op chain (y*1.01+0.1).tanh(), fwd+bwd",
        lambda: _chain_ember(True),
        lambda: _chain_torch(True),
        inner=5,
        target=0.6,
    ),
    Case(
        "core: 100-op chain under no_grad",
        lambda: _chain_ember(False),
        lambda: _chain_torch(False),
        inner=5,
        target=0.6,
    ),
    Case(
        "core: MLP 784-256-256-10 matmul+bias+relu, b64, fwd+bwd",
        lambda: _mlp(_ember()),
        lambda: _mlp(_torch()),
        inner=10,
        target=0.9,
    ),
]
