"""gradcheck (float64) of every primitive of ember.ops.linalg_solve / linalg_decomp / linalg_lu;
``tests/ops/test_gradcheck.py``'s completeness check sees these rows."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import linalg_decomp as LD
from ember.ops import linalg_lu as LU
from ember.ops import linalg_solve as LS
from tests.linalg._table import Table, run_row
from tests.ops._cases import d

ML = ember.linalg
t = Table()
gc = t.gc


def spd(x):
    return x @ x.mT + 3 * ember.eye(x.shape[-1], dtype=x.dtype)


class Fixed:
    """An input spec giving one given array (where a random one would not do)."""

    def __init__(self, a: list) -> None:
        self.a = np.array(a)

    def make(self, seed: int) -> np.ndarray:
        return self.a.copy()


# A singular matrix with distinct singular values (rank 2: row 3 = row 1 + row 2).
RANK2 = Fixed([[1.0, 2.0, 0.5], [-1.0, 0.5, 1.5], [0.0, 2.5, 2.0]])


def sym(x):
    return x + x.mT


gc(LS.Inv, lambda x: ML.inv(x + 3 * ember.eye(3, dtype=x.dtype)), d(2, 3, 3))
gc(LS.Det, lambda x: ML.det(x), d(2, 3, 3))
gc(LS.Det, lambda x: ML.det(x[:, :1] * x[:1, :]), d(3, 3), name="Det_singular")
gc(LS.Det, lambda x: ML.det(x), RANK2, name="Det_at_singular_point")
gc(LS.Slogdet, lambda x: ML.slogdet(spd(x)).logabsdet, d(3, 3))
gc(LS.Solve, lambda a, b: ML.solve(spd(a), b), d(2, 3, 3), d(3, 2))
gc(LS.Pinv, lambda x: ML.pinv(x), d(4, 3), name="Pinv_tall")
gc(LS.Pinv, lambda x: ML.pinv(x), d(2, 4), name="Pinv_wide")
gc(LS.MatrixExp, lambda x: ML.matrix_exp(x), d(2, 3, 3))
gc(LS.Cross, lambda a, b: ML.cross(a, b), d(2, 3), d(1, 3))
gc(LS.Diagonal, lambda x: ML.diagonal(x, offset=-1), d(2, 3, 4))
gc(LS.Inv, lambda x: ML.cond(x + 3 * ember.eye(3, dtype=x.dtype), "fro"), d(3, 3), name="cond")
gc(LU.LuFactor, lambda x: ML.lu_factor(x).LU, d(2, 3, 3))
gc(LU.Lu, lambda x: ML.lu(x)[1:], d(3, 3))
gc(LU.SolveTriangular, lambda a, b: ML.solve_triangular(spd(a), b, upper=False), d(3, 3), d(3, 2))
gc(LD.Cholesky, lambda x: ML.cholesky(spd(x)), d(3, 3))
gc(LD.Cholesky, lambda x: ML.cholesky(spd(x), upper=True), d(2, 3, 3), name="Cholesky_upper")
gc(LD.Qr, lambda x: tuple(ML.qr(x)), d(4, 3), name="Qr_tall")
gc(LD.Qr, lambda x: tuple(ML.qr(x)), d(2, 4), name="Qr_wide")
gc(LD.Svd, lambda x: (lambda u, s, v: (u @ v, s))(*ML.svd(x, full_matrices=False)), d(4, 3))
gc(LD.Svd, lambda x: (lambda u, s, v: (u @ v, s))(*ML.svd(x, False)), d(3, 4), name="Svd_wide")
gc(LD.Svdvals, lambda x: ML.svdvals(x), d(2, 3, 4))
gc(LD.Eigh, lambda x: (lambda w, v: (w, v * v))(*ML.eigh(sym(x))), d(3, 3))
gc(LD.Eigvalsh, lambda x: ML.eigvalsh(sym(x)), d(2, 3, 3))


@pytest.mark.parametrize("prim, fn, specs", t.rows)
def test_gradcheck(prim, fn, specs):
    run_row(prim, fn, specs)
