"""Issue 15's benchmarks: second-order work. A Hessian-vector product of a small MLP's loss
(double backward through autograd.grad) and one training step of a physics-informed network
(losses on du/dx and d2u/dx2, then backward through both); for reference, per-sample gradients
with vmap(grad), where ember's vmap is a loop over the batch."""

from __future__ import annotations

import numpy as np

from .harness import Case


def _mlp(lib, dims, seed):
    g = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        lin = lib.nn.Linear(n_in, n_out)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(g.standard_normal((n_out, n_in)) / np.sqrt(n_in)))
            lin.bias.zero_()
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(lib.nn.Tanh())
    return lib.nn.Sequential(*layers)


def _hvp(lib):
    net = _mlp(lib, [32, 64, 64, 1], 0)
    g = np.random.default_rng(1)
    x = lib.tensor(g.standard_normal((128, 32)).astype(np.float32))
    y = lib.tensor(g.standard_normal((128, 1)).astype(np.float32))
    params = list(net.parameters())
    vs = [lib.tensor(g.standard_normal(tuple(p.shape)).astype(np.float32)) for p in params]

    def run():
        loss = ((net(x) - y) ** 2).mean()
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((gr * v).sum() for gr, v in zip(grads, vs))
        return lib.autograd.grad(dot, params)

    return run


def _pinn(lib):
    net = _mlp(lib, [1, 32, 32, 1], 2)
    x = lib.linspace(0, 2, 64).reshape(-1, 1).requires_grad_()
    x0 = lib.zeros(1, 1, requires_grad=True)
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)

    def d(u, x):
        return lib.autograd.grad(u, x, grad_outputs=lib.ones_like(u), create_graph=True)[0]

    def run():
        opt.zero_grad()
        u = net(x)
        u_xx = d(d(u, x), x)
        u0 = net(x0)
        loss = ((u_xx + u) ** 2).mean() + u0.pow(2).sum() + (d(u0, x0) - 1).pow(2).sum()
        loss.backward()
        opt.step()

    return run


def _per_sample(lib):
    """vmap(grad) per-sample gradients (ember runs one backward per example)."""
    net = _mlp(lib, [32, 64, 10], 3)
    params = {k: v.detach() for k, v in net.named_parameters()}
    g = np.random.default_rng(4)
    x = lib.tensor(g.standard_normal((64, 32)).astype(np.float32))
    y = lib.tensor(g.integers(0, 10, 64))

    def loss(p, xi, yi):
        logits = lib.func.functional_call(net, p, (xi.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(logits, yi.unsqueeze(0))

    per_sample = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))
    return lambda: per_sample(params, x, y)


def _ember():
    import ember

    return ember


def _torch():
    import torch

    return torch


CASES = [
    Case(
        "higher-order: HVP of MLP 32-64-64-1 tanh loss, b128 (double backward)",
        lambda: _hvp(_ember()),
        lambda: _hvp(_torch()),
        inner=5,
        target=1.0,
    ),
    Case(
        "higher-order: PINN step u''+u=0, 1-32-32-1 tanh, 64 points, Adam",
        lambda: _pinn(_ember()),
        lambda: _pinn(_torch()),
        inner=5,
        target=1.0,
    ),
    Case(
        "higher-order: per-sample grads vmap(grad), MLP 32-64-10, b64",
        lambda: _per_sample(_ember()),
        lambda: _per_sample(_torch()),
        rounds=10,
    ),
]
