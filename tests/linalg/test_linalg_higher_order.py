"""Second derivatives of every ember.linalg primitive against torch: a Hessian-vector product
``grad(grad(f, xs, create_graph=True) . v, xs)`` per row, as in tests/autograd/test_higher_order.py
(whose ``_run`` computes it). Losses on singular or eigen vectors are invariant to their signs
(``u @ vh``, ``v * v``), which LAPACK does not fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.autograd.test_higher_order import _run
from tests.linalg.test_linalg_gradcheck import RANK2
from tests.ops._cases import Arr, d
from tests.parity import assert_close

ROWS: list = []


def row(name: str, fn, *specs: Arr) -> None:
    ROWS.append(pytest.param(fn, specs, id=name))


def spd(m, x):
    return x @ x.mT + 3 * m.eye(x.shape[-1], dtype=x.dtype)


def sym(x):
    return x + x.mT


def shifted(m, x):
    return x + 3 * m.eye(x.shape[-1], dtype=x.dtype)


row("inv", lambda m, x: (m.linalg.inv(shifted(m, x)) ** 2).sum(), d(2, 3, 3))
row("det", lambda m, x: (m.linalg.det(x) ** 2 + m.linalg.det(x)).sum(), d(2, 3, 3))
row("det_singular", lambda m, x: m.linalg.det(x[:, :1] * x[:1, :]), d(3, 3))
# At a singular point (rank 2): the derivatives go through the SVD formula (ember and torch).
row("det_at_singular_point", lambda m, x: m.linalg.det(x) ** 2 + m.linalg.det(x), RANK2)
row("slogdet", lambda m, x: (m.linalg.slogdet(spd(m, x)).logabsdet ** 2).sum(), d(2, 3, 3))
row(
    "solve_broadcast",
    lambda m, a, b: (m.linalg.solve(spd(m, a), b) ** 2).sum(),
    d(2, 3, 3),
    d(3, 2),
)
row(
    "solve_left_false",
    lambda m, a, b: m.linalg.solve(spd(m, a), b, left=False).sin().sum(),
    d(3, 3),
    d(2, 3),
)
row("pinv_tall", lambda m, x: (m.linalg.pinv(x) ** 2).sum(), d(4, 3))
row("pinv_wide", lambda m, x: (m.linalg.pinv(x).sin() ** 2).sum(), d(2, 4))
row("matrix_exp", lambda m, x: (m.linalg.matrix_exp(x) ** 2).sum(), d(2, 3, 3, low=-1, high=1))
row("cross", lambda m, a, b: (m.linalg.cross(a, b) ** 2).sum(), d(2, 3), d(1, 3))
row("diagonal", lambda m, x: (m.linalg.diagonal(x, offset=-1) ** 3).sum(), d(2, 3, 4))
row("lu_factor", lambda m, x: (m.linalg.lu_factor(x).LU ** 3).sum(), d(2, 3, 3))
row(
    "lu",
    lambda m, x: (lambda p, lo, up: (lo**3).sum() + (up**3).sum())(*m.linalg.lu(x)),
    d(3, 3),
)
row(
    "solve_triangular_lower",
    lambda m, a, b: (m.linalg.solve_triangular(spd(m, a), b, upper=False) ** 2).sum(),
    d(3, 3),
    d(3, 2),
)
row(
    "solve_triangular_upper_unit_right",
    lambda m, a, b: (
        m.linalg.solve_triangular(a, b, upper=True, left=False, unitriangular=True).sin().sum()
    ),
    d(2, 3, 3, low=-0.5, high=0.5),
    d(2, 3),
)
row("cholesky", lambda m, x: (m.linalg.cholesky(spd(m, x)) ** 3).sum(), d(2, 3, 3))
row("cholesky_upper", lambda m, x: m.linalg.cholesky(spd(m, x), upper=True).sin().sum(), d(3, 3))
row(
    "qr_tall",
    lambda m, x: (lambda q, r: (q.sin() ** 2).sum() + (r**3).sum())(*m.linalg.qr(x)),
    d(4, 3),
)
row("qr_wide", lambda m, x: (lambda q, r: (q**3).sum() + r.sin().sum())(*m.linalg.qr(x)), d(2, 4))
row(
    "svd_tall",
    lambda m, x: (lambda u, s, vh: ((u @ vh).sin() ** 2).sum() + (s**3).sum())(
        *m.linalg.svd(x, full_matrices=False)
    ),
    d(4, 3),
)
row(
    "svd_wide",
    lambda m, x: (lambda u, s, vh: ((u @ vh) ** 3).sum() + s.sin().sum())(
        *m.linalg.svd(x, full_matrices=False)
    ),
    d(2, 3, 4),
)
row("svdvals", lambda m, x: (m.linalg.svdvals(x) ** 3).sum(), d(2, 3, 4))
row(
    "eigh",
    lambda m, x: (lambda w, v: (w**3).sum() + (v * v).sin().sum())(*m.linalg.eigh(sym(x))),
    d(3, 3),
)
row("eigvalsh", lambda m, x: (m.linalg.eigvalsh(sym(x)) ** 3).sum(), d(2, 3, 3))


@pytest.mark.parametrize("fn, specs", ROWS)
def test_linalg_hessian_vector_product_matches_torch(fn, specs):
    arrays = [s.make(seed=k + 5).astype(np.float64) for k, s in enumerate(specs)]
    rng = np.random.default_rng(1)
    vs = [rng.uniform(-1, 1, a.shape) for a in arrays]
    eo, eg, eh = _run(ember, fn, arrays, vs)
    to, tg, th = _run(torch, fn, arrays, vs)
    assert_close(eo, to.detach(), rtol=1e-9, atol=1e-10)
    for e, t in zip(eg, tg):
        assert_close(e.detach(), t.detach(), rtol=1e-9, atol=1e-10)
    for e, t in zip(eh, th):
        assert e is not None and t is not None
        assert_close(e, t, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fn, specs", ROWS)
def test_linalg_float32_second_derivatives_keep_float32_like_torch(fn, specs):
    arrays = [s.make(seed=k + 5).astype(np.float32) for k, s in enumerate(specs)]
    vs = [np.ones(a.shape, np.float32) for a in arrays]
    _, _, eh = _run(ember, fn, arrays, vs)
    _, _, th = _run(torch, fn, arrays, vs)
    for e, t in zip(eh, th):
        assert_close(e, t, rtol=1e-3, atol=1e-3)  # dtype included
