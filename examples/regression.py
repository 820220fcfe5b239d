"""Linear regression with nn.Linear, MSELoss and SGD: recover y = 3*x1 - 2*x2 + 0.5.

Run: python examples/regression.py [--steps N]
"""

from __future__ import annotations

import argparse

import ember as torch
from ember import nn


def main(steps: int = 300) -> float:
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = x @ torch.tensor([[3.0], [-2.0]]) + 0.5 + 0.01 * torch.randn(256, 1)
    model = nn.Linear(2, 1)
    loss_fn = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    w = model.weight.detach().numpy().round(2).tolist()
    b = round(model.bias.item(), 2)
    print(f"learned weight {w}, bias {b}  (true: [[3.0, -2.0]], 0.5)")
    return loss.item()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300)
    main(ap.parse_args().steps)
