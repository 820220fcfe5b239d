"""ReLU's forward kernel (a zeros operand instead of a scalar, for NumPy's SIMD loop) gives
torch's values on every path: small, pooled and chunked, contiguous or not, every dtype."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3,), (1, 256), (64, 1024), (100, 1000), (300, 1000), (2, 700, 400)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64])
def test_relu_matches_torch(shape, dtype):
    g = np.random.default_rng(sum(shape))
    x = (g.standard_normal(shape) * 10).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        x.flat[::97] = np.nan
        x.flat[1::89] = np.inf
        x.flat[2::83] = -np.inf
    got = ember.relu(ember.tensor(x)).numpy()
    want = torch.relu(torch.from_numpy(x)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(64, 1024), (300, 1000), (5, 7)])
def test_relu_non_contiguous_and_grad(shape):
    g = np.random.default_rng(1)
    x = g.standard_normal(shape).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = ember.relu(xe.t()), torch.relu(xt.t())
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), xt.grad.numpy())


def test_relu_shared_zeros_stay_zero():
    # The shared zeros operand is read-only: an in-place relu never writes into it.
    x = ember.tensor([-1.0, 2.0, -3.0])
    ember.nn.functional.relu(x, inplace=True)
    np.testing.assert_array_equal(ember.relu(ember.tensor([-5.0, -6.0, -7.0])).numpy(), 0.0)
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_big_channels_last_in_blocks(dtype):
    # Big dense inputs run in blocks of the zeros operand's size, in memory order (here a
    # channels-last view): the values, -0., NaN and the layout are torch's.
    g = np.random.default_rng(2)
    mem = g.standard_normal((64, 24, 24, 6)).astype(dtype)
    mem.flat[::101] = -0.0
    mem.flat[3::97] = np.nan
    x = np.moveaxis(mem, -1, 1)
    got = ember.relu(ember.tensor(x)).numpy()
    want = torch.relu(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert ember.relu(ember.tensor(x)).permute(0, 2, 3, 1).is_contiguous()
