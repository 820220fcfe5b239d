"""A gradcheck table for primitives outside the core families (linalg, fft, complex, special):
rows name the primitive they check; ``missing_rows`` lists the primitives of some modules that
have none."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd.function import Primitive
from tests.ops.test_gradcheck import _graph_primitives


class Table:
    def __init__(self) -> None:
        self.rows: list = []

    def gc(self, prim: type, fn, *specs, name: str = "") -> None:
        self.rows.append(pytest.param(prim, fn, specs, id=name or prim.__name__))

    def missing_rows(self, *modules: str) -> list:
        found, stack = set(), [Primitive]
        while stack:
            for sub in stack.pop().__subclasses__():
                if sub not in found:
                    found.add(sub)
                    stack.append(sub)
        mine = {c for c in found if c.__module__ in modules}
        return sorted(c.__name__ for c in mine - {p.values[0] for p in self.rows})


def run_row(prim, fn, specs) -> None:
    inputs = [
        ember.tensor(s.make(seed=k + 3).astype(np.float64), requires_grad=True)
        for k, s in enumerate(specs)
    ]
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert prim in _graph_primitives(outs), f"{prim.__name__} is not in the graph of this row"
    assert ember.autograd.gradcheck(fn, inputs)
