"""Gradcheck rows for the nn-family primitives that are twice differentiable (activations, ...):
added to the table of ``test_gradcheck.py`` by ``add_rows``, so that ``gradgradcheck`` runs on
them too (tests/autograd/test_gradgradcheck.py). Inputs stay away from the kinks."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember.ops import activation as A
from tests.ops._cases import d


def _seeded(fn):
    def run(x):
        ember.manual_seed(0)  # the same mask at every evaluation
        return fn(x)

    return run


def add_rows(gc) -> None:
    """Register the nn-family rows with ``gc(prim, fn, *specs, name=...)``."""
    gc(A.LeakyRelu, lambda x: F.leaky_relu(x, 0.1), d(2, 3))
    gc(A.Elu, lambda x: F.elu(x, 0.7), d(2, 3))
    gc(A.Elu, lambda x: F.selu(x), d(2, 3), name="Selu")
    gc(A.Elu, lambda x: F.celu(x, 0.6), d(2, 3), name="Celu")
    gc(A.Gelu, lambda x: F.gelu(x), d(2, 3, low=-4, high=4))
    gc(A.Gelu, lambda x: F.gelu(x, approximate="tanh"), d(2, 3, low=-4, high=4), name="GeluTanh")
    gc(A.Glu, lambda x: F.glu(x, 1), d(2, 4))
    gc(A.Hardshrink, lambda x: F.hardshrink(x, 0.3), d(2, 3))
    gc(A.Hardsigmoid, lambda x: F.hardsigmoid(x), d(2, 3, low=-5, high=5))  # raises twice
    gc(A.Hardswish, lambda x: F.hardswish(x) * x, d(2, 3, low=-5, high=5))
    gc(A.Hardtanh, lambda x: F.hardtanh(x, -0.5, 0.7) * x, d(2, 3))
    gc(A.LogSigmoid, lambda x: F.logsigmoid(x), d(2, 3, low=-5, high=5))
    gc(A.Mish, lambda x: F.mish(x), d(2, 3, low=-4, high=4))
    gc(A.Prelu, lambda x, w: F.prelu(x, w), d(2, 3, 2), d(3))
    gc(A.Prelu, lambda x, w: F.prelu(x, w), d(2, 3), d(1), name="PreluShared")
    gc(A.Silu, lambda x: F.silu(x), d(2, 3, low=-4, high=4))
    gc(A.Softplus, lambda x: F.softplus(x, 2.0, 3.0), d(2, 3))
    gc(A.Softshrink, lambda x: F.softshrink(x, 0.3) * x, d(2, 3))
    gc(A.Softsign, lambda x: F.softsign(x), d(2, 3))
    gc(A.Tanhshrink, lambda x: F.tanhshrink(x), d(2, 3))
    gc(A.Threshold, lambda x: F.threshold(x, 0.1, 2.0) * x, d(2, 3))
    gc(A.MulMask, _seeded(lambda x: F.dropout(x, 0.4) * x), d(2, 3))
    gc(A.AlphaMask, _seeded(lambda x: F.alpha_dropout(x, 0.4, True) * x), d(2, 3))
