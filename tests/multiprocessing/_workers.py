"""Functions the multiprocessing tests run in child processes (importable under ``spawn``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import ember


def data(rank: int) -> tuple:
    """The batch worker ``rank`` trains on (the same numbers for ember and torch)."""
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.25).astype(np.float32)
    return x, y


def train(rank: int, model: Any, steps: int, lib: Any = ember) -> None:
    """SGD on ``model``'s (shared) parameters in place: one Hogwild worker."""
    opt = lib.optim.SGD(model.parameters(), lr=0.05)
    x, y = (lib.tensor(a) for a in data(rank))
    for _ in range(steps):
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()


def train_worker(rank: int, model: Any, steps: int) -> None:
    """``spawn``'s signature: the process index first."""
    train(rank, model, steps)


def fill(rank: int, t: ember.Tensor) -> None:
    """Write ``rank + 1`` into row ``rank`` of a shared tensor."""
    t[rank] = float(rank + 1)


def report_shared(q_in: Any, q_out: Any) -> None:
    """Receive a tensor, report whether it shares memory, and add 1 to it in place."""
    t = q_in.get()
    q_out.put((t.is_shared(), os.getpid()))
    t.add_(1)
    q_out.put("done")


def fail(rank: int) -> None:
    """A worker that raises."""
    if rank == 1:
        raise ValueError("worker one failed on purpose")
