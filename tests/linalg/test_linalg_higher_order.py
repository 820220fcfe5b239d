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


def _cofactors(a: np.ndarray) -> np.ndarray:
    """d det / dA of a 3x3 matrix: its cofactors, a quadratic polynomial in A."""
    minor = lambda i, j: np.delete(np.delete(a, i, 0), j, 1)  # noqa: E731
    det2 = lambda m: m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]  # noqa: E731
    return np.array([[(-1) ** (i + j) * det2(minor(i, j)) for j in range(3)] for i in range(3)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_det_second_derivative_at_a_singular_point_is_exact(dtype):
    """f = det(A)^2 + det(A) at a rank-2 A (det exactly 0): ember's Hessian-vector product equals
    the exact polynomial one, 2 (cof . V) cof + (2 det + 1) dcof[V] (the cofactors are quadratic,
    so a central difference with step 1 is exact). PyTorch 2.13 differs here when its LU gives
    det == 0 exactly (docs/differences.md), so the reference is the polynomial, not torch."""
    a = np.array(RANK2.make(seed=0), dtype=np.float64)
    v = np.random.default_rng(1).uniform(-1, 1, a.shape)
    cof = _cofactors(a)
    expected = 2 * (cof * v).sum() * cof + (_cofactors(a + v) - _cofactors(a - v)) / 2
    _, grads, hvps = _run(
        ember,
        lambda m, x: m.linalg.det(x) ** 2 + m.linalg.det(x),
        [a.astype(dtype)],
        [v.astype(dtype)],
    )
    assert_close(grads[0].detach(), torch.tensor(cof.astype(dtype)), rtol=1e-5, atol=1e-6)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert_close(hvps[0], torch.tensor(expected.astype(dtype)), rtol=tol, atol=tol)
