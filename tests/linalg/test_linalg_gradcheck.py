"""Every primitive of ember.ops.linalg_solve / linalg_decomp passes gradcheck in float64.

As in tests/ops/test_gradcheck.py, each row names the primitive it checks and the test walks the
graph to make sure the row runs through it; a new primitive in these modules without a row fails
``test_every_linalg_primitive_has_a_row``.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd.function import Primitive
from ember.ops import linalg_decomp as LD
from ember.ops import linalg_solve as LS
from tests.ops._cases import d
from tests.ops.test_gradcheck import _graph_primitives

ML = ember.linalg
ROWS: list = []


def gc(prim: type, fn, *specs, name: str = "") -> None:
    ROWS.append(pytest.param(prim, fn, specs, id=name or prim.__name__))


def spd(x):
    return x @ x.mT + 3 * ember.eye(x.shape[-1], dtype=x.dtype)


def sym(x):
    return x + x.mT


gc(LS.Inv, lambda x: ML.inv(x + 3 * ember.eye(3, dtype=x.dtype)), d(2, 3, 3))
gc(LS.Det, lambda x: ML.det(x), d(2, 3, 3))
gc(LS.Det, lambda x: ML.det(x[:, :1] * x[:1, :]), d(3, 3), name="Det_singular")
gc(LS.Slogdet, lambda x: ML.slogdet(spd(x)).logabsdet, d(3, 3))
gc(LS.Solve, lambda a, b: ML.solve(spd(a), b), d(2, 3, 3), d(3, 2))
gc(LS.Pinv, lambda x: ML.pinv(x), d(4, 3), name="Pinv_tall")
gc(LS.Pinv, lambda x: ML.pinv(x), d(2, 4), name="Pinv_wide")
gc(LS.MatrixExp, lambda x: ML.matrix_exp(x), d(2, 3, 3))
gc(LS.Cross, lambda a, b: ML.cross(a, b), d(2, 3), d(1, 3))
gc(LS.Diagonal, lambda x: ML.diagonal(x, offset=-1), d(2, 3, 4))
gc(LD.Cholesky, lambda x: ML.cholesky(spd(x)), d(3, 3))
gc(LD.Cholesky, lambda x: ML.cholesky(spd(x), upper=True), d(2, 3, 3), name="Cholesky_upper")
gc(LD.Qr, lambda x: tuple(ML.qr(x)), d(4, 3), name="Qr_tall")
gc(LD.Qr, lambda x: tuple(ML.qr(x)), d(2, 4), name="Qr_wide")
gc(LD.Svd, lambda x: (lambda u, s, v: (u @ v, s))(*ML.svd(x, full_matrices=False)), d(4, 3))
gc(LD.Svd, lambda x: (lambda u, s, v: (u @ v, s))(*ML.svd(x, False)), d(3, 4), name="Svd_wide")
gc(LD.Svdvals, lambda x: ML.svdvals(x), d(2, 3, 4))
gc(LD.Eigh, lambda x: (lambda w, v: (w, v * v))(*ML.eigh(sym(x))), d(3, 3))
gc(LD.Eigvalsh, lambda x: ML.eigvalsh(sym(x)), d(2, 3, 3))

MODULES = (LS.__name__, LD.__name__)


def test_every_linalg_primitive_has_a_row():
    found, stack = set(), [Primitive]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    mine = {c for c in found if c.__module__ in MODULES}
    missing = sorted(c.__name__ for c in mine - {p.values[0] for p in ROWS})
    assert not missing, f"add a gradcheck row in {__file__} for: {missing}"


@pytest.mark.parametrize("prim, fn, specs", ROWS)
def test_gradcheck(prim, fn, specs):
    inputs = [
        ember.tensor(s.make(seed=k + 3).astype(np.float64), requires_grad=True)
        for k, s in enumerate(specs)
    ]
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert prim in _graph_primitives(outs), f"{prim.__name__} is not in the graph of this row"
    assert ember.autograd.gradcheck(fn, inputs)
