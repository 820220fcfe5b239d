"""The torch.nn tutorial's ModuleList and ModuleDict examples, trained for a few steps.

Run: python examples/module_containers.py [--steps N]
"""

from __future__ import annotations

import argparse

import ember as torch
from ember import nn


class ListNet(nn.Module):
    """Ten Linear layers in a ModuleList, combined as in the torch.nn tutorial."""

    def __init__(self) -> None:
        super().__init__()
        self.linears = nn.ModuleList([nn.Linear(10, 10) for i in range(10)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ModuleList can act as an iterable, or be indexed using ints
        for i, l in enumerate(self.linears):
            x = self.linears[i // 2](x) + l(x)
        return x


class DictNet(nn.Module):
    """A layer and an activation chosen by name at call time, from two ModuleDicts."""

    def __init__(self) -> None:
        super().__init__()
        self.choices = nn.ModuleDict({"conv": nn.Conv2d(10, 10, 3), "pool": nn.MaxPool2d(3)})
        self.activations = nn.ModuleDict([["lrelu", nn.LeakyReLU()], ["prelu", nn.PReLU()]])

    def forward(self, x: torch.Tensor, choice: str, act: str) -> torch.Tensor:
        x = self.choices[choice](x)
        x = self.activations[act](x)
        return x


def main(steps: int = 20) -> tuple:
    torch.manual_seed(0)
    net = ListNet()
    print(net)
    x, target = torch.randn(16, 10) * 0.1, torch.randn(16, 10) * 0.1
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    first = last = None
    for _ in range(steps):
        loss = nn.functional.mse_loss(net(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        last = loss.item()
    print(f"ModuleList net: loss {first:.4f} -> {last:.4f} after {steps} Adam steps")

    dnet = DictNet()
    print(dnet)
    img = torch.randn(2, 10, 9, 9)
    for choice, act in [("conv", "prelu"), ("pool", "lrelu")]:
        print(f"choice={choice!r} act={act!r}: output shape {list(dnet(img, choice, act).shape)}")
    return first, last


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=20)
    main(ap.parse_args().steps)
