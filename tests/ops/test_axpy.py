"""``axpy_``: ``y += alpha * x`` rounded once, bit for bit PyTorch's ``add_(x, alpha=)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ember import _runtime
from ember.ops import _axpy
from ember.ops._axpy import axpy_


def test_numpy_ships_the_openblas_axpy():
    """(The install this suite runs on: NumPy's wheels bundle OpenBLAS.)"""
    assert _runtime.openblas_library() is not None
    assert set(_axpy._kernels()) == {np.dtype(np.float32), np.dtype(np.float64)}


def _pair(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)


def _torch_add(y, x, alpha):
    t = torch.tensor(np.ascontiguousarray(y))
    t.add_(torch.tensor(np.ascontiguousarray(x)), alpha=alpha)
    return t.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (7,), (37, 53), (200_000,)])
def test_bits_equal_torch_add_with_alpha(dtype, shape):
    y, x = _pair(shape, dtype)
    expect = _torch_add(y, x, -0.0731)
    axpy_(y, x, -0.0731)
    np.testing.assert_array_equal(y, expect)


@pytest.mark.parametrize("layout", ["F", "channels_last"])
def test_any_dense_layout_shared_by_both(layout, monkeypatch):
    """Arrays laid out alike without gaps take the fused kernel too (refusing the fallback)."""
    y, x = _pair((3, 16, 5, 4), np.float32)
    expect = _torch_add(y, x, 0.37)
    if layout == "F":
        y, x = np.asfortranarray(y), np.asfortranarray(x)
    else:
        y, x = (np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1) for a in (y, x))
    calls = []
    real = _axpy._kernels()[np.dtype(np.float32)]
    monkeypatch.setitem(_axpy._KERNELS, np.dtype(np.float32), lambda *a: calls.append(real(*a)))
    axpy_(y, x, 0.37)
    assert calls
    np.testing.assert_array_equal(y, expect)


def test_aliasing_and_other_cases_fall_back_to_numpy():
    y, x = _pair((6, 5), np.float32)
    # the same array: y + a*y, element for element
    same = y.copy()
    axpy_(same, same, 0.5)
    np.testing.assert_array_equal(same, y + np.float32(0.5) * y)
    # partly overlapping views: NumPy's buffered y += x * alpha
    a, b = y.copy().ravel(), y.copy().ravel()
    axpy_(a[1:], a[:-1], 0.5)
    b[1:] += b[:-1] * 0.5
    np.testing.assert_array_equal(a, b)
    # different layouts, integers, read-only x: NumPy's form
    yc, xt = y.copy(), np.ascontiguousarray(x.T).T
    axpy_(yc, xt, 0.25)
    np.testing.assert_array_equal(yc, y + x * np.float32(0.25))
    yi = np.arange(6)
    axpy_(yi, np.ones(6, np.int64), 2)
    np.testing.assert_array_equal(yi, np.arange(6) + 2)
    x.flags.writeable = False
    yr = y.copy()
    axpy_(yr, x, 0.25)
    assert np.allclose(yr, y + 0.25 * x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["add_", "sub_"])
def test_inplace_add_with_alpha_outside_autograd_is_torchs_bits(op, dtype):
    """``p.add_(g, alpha=-lr)``, the update of hand-written optimizers, as PyTorch's kernel."""
    import ember

    y, x = _pair((64, 33), dtype, seed=3)
    results = []
    for lib in (ember, torch):
        p = lib.tensor(y.copy())
        with lib.no_grad():
            getattr(p, op)(lib.tensor(x), alpha=-0.0731)
        results.append(p.numpy())
    np.testing.assert_array_equal(*results)
