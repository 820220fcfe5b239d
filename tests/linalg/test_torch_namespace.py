"""The matrix functions of the torch.* namespace and their Tensor methods (det, inverse, logdet,
slogdet, pinverse, matrix_exp, matrix_power, cholesky, qr, svd) against torch."""

from __future__ import annotations

import pytest

from tests.ops._cases import case, d, run_case

CASES = [
    case("det", lambda m, x: m.det(x), d(2, 3, 3)),
    case("det_method", lambda m, x: x.det(), d(3, 3)),
    case("inverse", lambda m, x: m.inverse(x), d(3, 3), rtol=1e-8),
    case("inverse_method", lambda m, x: x.inverse(), d(2, 3, 3), rtol=1e-8),
    case("logdet", lambda m, x: m.logdet(x), d(4, 3, 3)),  # NaN where det < 0, as torch
    case("logdet_spd", lambda m, x: x.logdet(), d(3, 3, low=0.5)),
    case("slogdet", lambda m, x: tuple(m.slogdet(x)), d(3, 3)),
    case("slogdet_method", lambda m, x: tuple(x.slogdet()), d(2, 3, 3)),
    case("pinverse", lambda m, x: m.pinverse(x), d(4, 3), rtol=1e-8),
    case("pinverse_method", lambda m, x: x.pinverse(rcond=0.1), d(3, 4), rtol=1e-8),
    case("matrix_exp", lambda m, x: m.matrix_exp(x), d(3, 3)),
    case("matrix_exp_method", lambda m, x: x.matrix_exp(), d(2, 2, 2)),
    case("matrix_power", lambda m, x: m.matrix_power(x, 4), d(3, 3), rtol=1e-9),
    case("matrix_power_method", lambda m, x: x.matrix_power(-1), d(3, 3), rtol=1e-8),
    case("cholesky", lambda m, x: m.cholesky(x @ x.mT + 3 * m.eye(3, dtype=x.dtype)), d(3, 3)),
    case(
        "cholesky_upper", lambda m, x: (x @ x.mT + m.eye(2, dtype=x.dtype)).cholesky(True), d(2, 2)
    ),
    case("qr", lambda m, x: tuple(m.qr(x)), d(4, 3), atol=1e-10),
    case("qr_method_complete", lambda m, x: x.qr(some=False)[1], d(4, 3), grad=False),
    case("svd", lambda m, x: (lambda u, s, v: (u @ v.mT, s))(*m.svd(x)), d(4, 3)),
    case("svd_method", lambda m, x: x.svd().S, d(2, 3, 4)),
    case("svd_no_uv", lambda m, x: tuple(m.svd(x, compute_uv=False)), d(4, 3), grad=False),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", CASES)
def test_torch_namespace_matrix_functions(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


def test_result_type_names():
    import numpy as np
    import torch

    import ember

    a = np.eye(3) * 2
    for name in ("slogdet", "qr", "svd"):
        t = getattr(torch, name)(torch.tensor(a))
        e = getattr(ember, name)(ember.tensor(a))
        assert type(e).__name__ == type(t).__name__
        for field in e._fields:
            np.testing.assert_allclose(getattr(e, field)._data, getattr(t, field).numpy())
