"""ember.linalg raises what torch.linalg raises (type and message), and its result types carry
torch's names and fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

Z3 = np.zeros((3, 3))
NEG = -np.eye(3)
NEG_BATCH = np.stack([np.eye(3), -np.eye(3)])
RECT = np.ones((2, 3))


def _run(lib, fn, arrays):
    return fn(lib, *[lib.tensor(a) for a in arrays])


ERRORS = [
    ("inv_singular", lambda m, a: m.linalg.inv(a), [Z3]),
    ("inv_singular_batch", lambda m, a: m.linalg.inv(a), [np.zeros((2, 3, 3))]),
    ("inv_rect", lambda m, a: m.linalg.inv(a), [RECT]),
    ("inv_int", lambda m, a: m.linalg.inv(a.long()), [Z3]),
    ("inv_1d", lambda m, a: m.linalg.inv(a), [np.ones(3)]),
    ("det_rect", lambda m, a: m.linalg.det(a), [RECT]),
    ("solve_singular", lambda m, a, b: m.linalg.solve(a, b), [Z3, np.ones(3)]),
    ("solve_shape", lambda m, a, b: m.linalg.solve(a, b), [np.eye(3), np.ones(4)]),
    ("solve_dtype", lambda m, a, b: m.linalg.solve(a, b.float()), [np.eye(3), np.ones(3)]),
    ("cholesky_not_pd", lambda m, a: m.linalg.cholesky(a), [NEG]),
    ("cholesky_not_pd_batch", lambda m, a: m.linalg.cholesky(a), [NEG_BATCH]),
    ("eigh_rect", lambda m, a: m.linalg.eigh(a), [RECT]),
    ("eigh_uplo", lambda m, a: m.linalg.eigh(a, UPLO="X"), [Z3]),
    ("qr_mode", lambda m, a: m.linalg.qr(a, mode="full"), [Z3]),
    ("cross_len", lambda m, a, b: m.linalg.cross(a, b), [RECT.T, RECT.T]),
    ("cross_ndim", lambda m, a, b: m.linalg.cross(a, b), [RECT, np.ones(3)]),
    ("multi_dot_one", lambda m, a: m.linalg.multi_dot([a]), [Z3]),
    ("multi_dot_3d", lambda m, a, b: m.linalg.multi_dot([a, b]), [np.ones((2, 2, 2)), Z3]),
    ("multi_dot_shapes", lambda m, a, b: m.linalg.multi_dot([a, b]), [RECT, RECT]),
    ("matrix_power_rect", lambda m, a: m.linalg.matrix_power(a, 2), [RECT]),
    ("matrix_power_int_neg", lambda m, a: m.linalg.matrix_power(a.long(), -1), [Z3]),
    ("lstsq_driver", lambda m, a, b: m.linalg.lstsq(a, b, driver="x"), [RECT, RECT]),
    ("vector_norm_int", lambda m, a: m.linalg.vector_norm(a.long()), [Z3]),
    ("matrix_norm_1d", lambda m, a: m.linalg.matrix_norm(a), [np.ones(3)]),
    ("norm_3d_ord", lambda m, a: m.linalg.norm(a, 2), [np.ones((2, 2, 2))]),
    ("lu_factor_singular", lambda m, a: m.linalg.lu_factor(a), [Z3]),
    ("lu_no_pivot", lambda m, a: m.linalg.lu(a, pivot=False), [Z3]),
    ("cond_rect_fro", lambda m, a: m.linalg.cond(a, "fro"), [RECT]),
    ("tensorinv_shape", lambda m, a: m.linalg.tensorinv(a, ind=1), [RECT]),
    ("vander_0d", lambda m, a: m.linalg.vander(a[0, 0]), [Z3]),
    ("vander_n1", lambda m, a: m.linalg.vander(a[0], N=1), [Z3]),
    ("householder_wide", lambda m, a, t: m.linalg.householder_product(a, t), [RECT, np.ones(2)]),
    ("householder_tau", lambda m, a, t: m.linalg.householder_product(a, t), [RECT.T, np.ones(3)]),
    ("det_half", lambda m, a: m.linalg.det(a.half()), [Z3]),
    ("inv_half", lambda m, a: m.linalg.inv(a.half()), [Z3]),
    ("svd_half", lambda m, a: m.linalg.svd(a.half()), [Z3]),
    ("cholesky_half", lambda m, a: m.linalg.cholesky(a.half()), [Z3]),
]


@pytest.mark.parametrize("fn, arrays", [pytest.param(f, a, id=n) for n, f, a in ERRORS])
def test_error_matches_torch(fn, arrays):
    with pytest.raises(Exception) as t_err:
        _run(torch, fn, arrays)
    with pytest.raises(Exception) as e_err:
        _run(ember, fn, arrays)
    t_type = t_err.type
    if issubclass(t_type, torch.linalg.LinAlgError):
        assert e_err.type is ember.linalg.LinAlgError
    else:
        assert e_err.type is t_type
    assert str(e_err.value) == str(t_err.value)


def test_linalg_error_is_runtime_error():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError, match="singular"):
        ember.linalg.inv(ember.zeros(2, 2))


RESULTS = [
    ("slogdet", lambda m, a: m.linalg.slogdet(a)),
    ("qr", lambda m, a: m.linalg.qr(a)),
    ("svd", lambda m, a: m.linalg.svd(a)),
    ("eigh", lambda m, a: m.linalg.eigh(a)),
    ("eig", lambda m, a: m.linalg.eig(a)),
    ("lstsq", lambda m, a: m.linalg.lstsq(a, a)),
    ("inv_ex", lambda m, a: m.linalg.inv_ex(a)),
    ("cholesky_ex", lambda m, a: m.linalg.cholesky_ex(a)),
    ("solve_ex", lambda m, a: m.linalg.solve_ex(a, a)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RESULTS])
def test_result_type_names_and_fields(fn):
    a = np.eye(3) * 2
    t, e = _run(torch, fn, [a]), _run(ember, fn, [a])
    assert type(e).__name__ == type(t).__name__
    assert e._fields == tuple(t._fields) if hasattr(t, "_fields") else True
    for name in type(e)._fields:
        np.testing.assert_allclose(
            np.asarray(getattr(e, name)._data), getattr(t, name).numpy(), atol=1e-12
        )


def test_ex_variants_report_failures_like_torch():
    a = np.stack([np.eye(3), np.zeros((3, 3))])
    e_inv, t_inv = ember.linalg.inv_ex(ember.tensor(a)), torch.linalg.inv_ex(torch.tensor(a))
    np.testing.assert_array_equal(e_inv.info._data, t_inv.info.numpy())
    assert e_inv.info.dtype is ember.int32
    np.testing.assert_allclose(e_inv.inverse._data[0], np.eye(3))
    assert np.isnan(e_inv.inverse._data[1]).all()  # undefined where info != 0
    c = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    e_ch, t_ch = (
        ember.linalg.cholesky_ex(ember.tensor(c)),
        torch.linalg.cholesky_ex(torch.tensor(c)),
    )
    np.testing.assert_array_equal(e_ch.info._data, t_ch.info.numpy())
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.cholesky_ex(ember.tensor(c), check_errors=True)
    s = ember.linalg.solve_ex(ember.tensor(a), ember.ones(2, 3, 1, dtype=ember.float64))
    np.testing.assert_array_equal(s.info._data, [0, 1])


@pytest.mark.parametrize("mode", ["r", "complete"])
def test_backward_errors_match_torch(mode):
    x = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(RuntimeError) as t_err:
        torch.linalg.qr(torch.tensor(x, requires_grad=True), mode=mode)[1].sum().backward()
    with pytest.raises(RuntimeError) as e_err:
        ember.linalg.qr(ember.tensor(x, requires_grad=True), mode=mode)[1].sum().backward()
    assert str(e_err.value) == str(t_err.value)


def test_complex_forward_and_refused_complex_grad():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    for name in ("inv", "det", "matrix_exp", "eigvals", "svdvals", "matrix_norm", "norm"):
        e = getattr(ember.linalg, name)(ember.tensor(a))
        t = getattr(torch.linalg, name)(torch.tensor(a))
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), name
        np.testing.assert_allclose(
            np.sort_complex(np.ravel(e._data)), np.sort_complex(t.numpy().ravel()), rtol=1e-10
        )
    for ord in (2, -2, "nuc", 1, float("inf")):
        e = ember.linalg.matrix_norm(ember.tensor(a), ord)
        np.testing.assert_allclose(e._data, torch.linalg.matrix_norm(torch.tensor(a), ord))
    leaf = ember.tensor(a, requires_grad=True)
    with pytest.raises(NotImplementedError, match="complex"):
        ember.linalg.inv(leaf)
    with pytest.raises(NotImplementedError, match="eig"):
        ember.linalg.eig(ember.eye(2, requires_grad=True))
    with ember.no_grad():
        assert ember.linalg.eigvals(ember.eye(2, requires_grad=True)).dtype is ember.complex64


@pytest.mark.filterwarnings("error")
def test_backward_at_singular_or_degenerate_inputs_gives_nan_not_numpy_errors():
    cases = [
        lambda m, x: m.linalg.slogdet(x * 0).logabsdet,
        lambda m, x: m.linalg.eigh(x * 0 + m.eye(3, dtype=x.dtype)).eigenvectors.sum(),
        lambda m, x: m.linalg.svd(x * 0, full_matrices=False)[0].sum(),
        lambda m, x: sum(t.sum() for t in m.linalg.qr(x[:, :1].expand(3, 3))),
        lambda m, x: sum(t.sum() for t in m.linalg.lu(x[:, :1].expand(3, 3))[1:]),
    ]
    for fn in cases:
        x = ember.ones(3, 3, dtype=ember.float64, requires_grad=True)
        fn(ember, x).sum().backward()
        assert x.grad.shape == (3, 3)  # values are NaN/inf/huge there, in torch too


@pytest.mark.filterwarnings("error")
def test_non_finite_inputs_as_torch():
    bad = np.array([[np.nan, 1.0], [1.0, np.inf]])
    for name in ("svd", "svdvals", "pinv", "matrix_rank", "cond"):
        for lib, err in ((torch, torch.linalg.LinAlgError), (ember, ember.linalg.LinAlgError)):
            with pytest.raises(err, match="failed to converge because the input matrix contained"):
                getattr(lib.linalg, name)(lib.tensor(bad))
    with pytest.raises(RuntimeError, match="should not contain infs or NaNs"):
        ember.linalg.eig(ember.tensor(bad))
    huge = ember.tensor([[1e308, 1e308], [1e308, -1e308]], dtype=ember.float64)
    for name in ("det", "slogdet", "matrix_exp", "lu", "vector_norm", "matrix_norm", "eigh"):
        getattr(ember.linalg, name)(huge)  # NaN/inf results, no NumPy warning
    assert np.isinf(ember.linalg.cond(ember.zeros(2, 2))._data) or np.isnan(
        ember.linalg.cond(ember.zeros(2, 2))._data
    )


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
def test_solve_triangular_with_a_zero_on_the_diagonal_gives_infs_as_torch(upper, left):
    # LAPACK's triangular solve divides by the zero: inf/nan, no error (NumPy's solve raises).
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 3))
    a[0, 1, 1] = 0.0
    b = rng.standard_normal((2, 3, 2) if left else (2, 2, 3))
    got = [
        lib.linalg.solve_triangular(lib.tensor(a), lib.tensor(b), upper=upper, left=left).numpy()
        for lib in (torch, ember)
    ]
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(got[0]))
    np.testing.assert_array_equal(np.isinf(got[1]), np.isinf(got[0]))
    np.testing.assert_allclose(
        np.nan_to_num(got[1], posinf=0, neginf=0),
        np.nan_to_num(got[0], posinf=0, neginf=0),
        rtol=1e-10,
        atol=1e-12,
    )
