"""Global average pooling and means over trailing axes (one GEMV over a matrix view of the
input, ember/ops/_spatial_mean.py): values and gradients against PyTorch in every memory layout
the fast path takes (C order, channels-last) and those it leaves to NumPy's reduction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import _spatial_mean


def _layout(m, a: np.ndarray, layout: str):
    """A leaf over ``a`` (N, C, *S) in the given memory layout."""
    if layout == "channels_last":
        t = m.tensor(np.moveaxis(a, 1, -1).copy()).movedim(-1, 1)
    elif layout == "strided":  # no copy-free matrix view: NumPy's reduction
        t = m.tensor(np.repeat(a, 2, axis=2))[:, :, ::2]
    else:
        t = m.tensor(a)
    return t.detach().requires_grad_()


FORMS = {
    "adaptive_avg_pool": lambda m, x: (
        m.nn.functional.adaptive_avg_pool2d(x, 1)
        if x.ndim == 4
        else (
            m.nn.functional.adaptive_avg_pool1d(x, 1)
            if x.ndim == 3
            else m.nn.functional.adaptive_avg_pool3d(x, 1)
        )
    ),
    "mean_spatial": lambda m, x: x.mean(tuple(range(2, x.ndim))),
    "mean_spatial_keepdim": lambda m, x: x.mean(tuple(range(-(x.ndim - 2), 0)), keepdim=True),
    "mean_last": lambda m, x: x.mean(-1),
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize(
    "shape", [(4, 64, 7, 7), (2, 32, 70), (2, 16, 4, 6, 5), (2, 3, 4, 4)], ids=str
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_mean_matches_torch(form, layout, shape, dtype):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    xe, xt = _layout(ember, a, layout), _layout(torch, a, layout)
    ye, yt = FORMS[form](ember, xe), FORMS[form](torch, xt)
    assert tuple(ye.shape) == tuple(yt.shape)
    assert str(ye.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


def test_fast_path_taken_for_both_layouts():
    """The layouts the docs promise reach the GEMV (and the others NumPy's reduction)."""
    a = np.random.default_rng(0).standard_normal((4, 64, 7, 7)).astype(np.float32)
    for layout, fast in [("contiguous", True), ("channels_last", True), ("strided", False)]:
        x = _layout(ember, a, layout)._data
        got = _spatial_mean.trailing_mean(x, 2)
        assert (got is not None) == fast
        if fast:
            np.testing.assert_allclose(got, a.mean((2, 3)), rtol=1e-5, atol=1e-6)


def test_special_values_propagate():
    a = np.ones((4, 64, 8, 8), np.float32)
    a[0, 0, 1, 1], a[1, 2, 0, 0], a[2, 3] = np.nan, np.inf, -np.inf
    ye = ember.nn.functional.adaptive_avg_pool2d(ember.tensor(a), 1)
    yt = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(a), 1)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())


def test_gradcheck_on_the_fast_path():
    x = ember.randn(2, 64, 6, 6, dtype=ember.float64, requires_grad=True)
    assert _spatial_mean.trailing_mean(x._data, 2) is not None
    fn = lambda t: ember.nn.functional.adaptive_avg_pool2d(t, 1)[:, :3]  # noqa: E731
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(lambda t: fn(t).square(), (x,))
