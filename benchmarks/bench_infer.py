"""Issue 17's inference benchmark: the MLP 784-256-256-10 at batch 1 in eval mode under
``no_grad``, the call a deployed model makes once per request (Python overhead dominates)."""

from __future__ import annotations

import numpy as np

from .harness import Case


def _infer(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    ).eval()
    x = lib.tensor(np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32))

    def run():
        with lib.no_grad():
            return model(x)

    return run


def _ember():
    import ember

    return _infer(ember)


def _torch():
    import torch

    return _infer(torch)


CASES = [
    Case("infer: MLP 784-256-256-10 b1, eval, no_grad", _ember, _torch, inner=50, target=0.5),
]
