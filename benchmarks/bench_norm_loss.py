"""Loss and normalisation hot paths: cross-entropy forward+backward on MLP-sized logits, and a
BatchNorm2d training step on a conv-sized activation, in ember and PyTorch."""

from __future__ import annotations

import numpy as np

from .harness import Case, both_libs


def _cross_entropy(lib):
    """Cross-entropy on (64, 10) logits with a backward: what every classification step runs."""
    g = np.random.default_rng(0)
    x = lib.tensor(g.standard_normal((64, 10)).astype(np.float32), requires_grad=True)
    y = lib.tensor(g.integers(0, 10, 64))
    ce = lib.nn.functional.cross_entropy

    def run():
        loss = ce(x, y)
        loss.backward()
        return loss

    return run


def _batchnorm2d(lib):
    """BatchNorm2d(32) in training mode on (32, 32, 16, 16), forward and backward."""
    g = np.random.default_rng(0)
    x = lib.tensor(g.standard_normal((32, 32, 16, 16)).astype(np.float32), requires_grad=True)
    bn = lib.nn.BatchNorm2d(32)
    up = lib.tensor(g.standard_normal((32, 32, 16, 16)).astype(np.float32))

    def run():
        out = bn(x)
        out.backward(up)
        return out

    return run


CASES = [
    Case("loss: cross_entropy (64, 10) fwd+bwd", *both_libs(_cross_entropy), inner=20),
    Case(
        "norm: BatchNorm2d(32) train (32, 32, 16, 16) fwd+bwd",
        *both_libs(_batchnorm2d),
        inner=2,
        target=1.3,
    ),
]
