"""Fine-tune from a checkpoint written by real PyTorch, then hand the result back to PyTorch.

With PyTorch installed the script first creates `lenet_torch.pth` with torch itself; otherwise
pass the path of an existing torch-saved LeNet state_dict. ember never needs PyTorch to read it.

Run: python examples/finetune_from_torch.py [--checkpoint PATH] [--steps N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import ember
from ember import nn


class LeNet(nn.Module):
    """The torch.nn tutorial's network: Conv2d(1, 6, (5, 5)) and friends."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, (5, 5))
        self.conv2 = nn.Conv2d(6, 16, (5, 5))
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        F = nn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def make_torch_checkpoint(path: str) -> None:
    """Write a LeNet state_dict with real PyTorch (same architecture, torch's own init)."""
    import torch

    class TorchLeNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 6, (5, 5))
            self.conv2 = torch.nn.Conv2d(6, 16, (5, 5))
            self.fc1 = torch.nn.Linear(16 * 4 * 4, 120)
            self.fc2 = torch.nn.Linear(120, 84)
            self.fc3 = torch.nn.Linear(84, 10)

    torch.manual_seed(0)
    torch.save(TorchLeNet().state_dict(), path)


def main(checkpoint: str | None = None, steps: int = 5, out: str | None = None) -> float:
    out = out or tempfile.mkdtemp()
    if checkpoint is None:
        checkpoint = os.path.join(out, "lenet_torch.pth")
        make_torch_checkpoint(checkpoint)
    model = LeNet()
    print(model.load_state_dict(ember.load(checkpoint)))
    ember.manual_seed(0)
    x, y = ember.randn(32, 1, 28, 28), ember.randint(0, 10, (32,))
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}  loss {loss.item():.4f}")
    tuned = os.path.join(out, "lenet_finetuned.pth")
    ember.save(model.state_dict(), tuned)
    print(f"fine-tuned weights saved to {tuned} (loadable with torch.load(weights_only=True))")
    return loss.item()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    main(a.checkpoint, a.steps, a.out)
