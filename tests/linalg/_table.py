"""A gradcheck table for primitives outside the core families (linalg, fft, complex, special):
rows name the primitive they check. ``tests/ops/test_gradcheck.py``'s one completeness check
sees these tables' rows."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.ops.test_gradcheck import _graph_primitives


class Table:
    def __init__(self) -> None:
        self.rows: list = []

    def gc(self, prim: type, fn, *specs, name: str = "") -> None:
        self.rows.append(pytest.param(prim, fn, specs, id=name or prim.__name__))


def run_row(prim, fn, specs) -> None:
    inputs = [
        ember.tensor(s.make(seed=k + 3).astype(np.float64), requires_grad=True)
        for k, s in enumerate(specs)
    ]
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert prim in _graph_primitives(outs), f"{prim.__name__} is not in the graph of this row"
    assert ember.autograd.gradcheck(fn, inputs)
