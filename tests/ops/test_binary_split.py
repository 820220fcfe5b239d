"""Big binary arithmetic on both cores (``ops._parallel.binary_split``): the result has the
dtype, memory layout and bits of NumPy's own ``f(a, b)`` whichever way the chunks run, for every
operand layout and broadcast; and ember's add/sub/mul/div of big tensors match torch (values,
strides, gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._errors import quiet_numpy
from ember.ops import _parallel as P
from tests.parity import num_threads

SHAPE = (4, 8, 6, 10)


@pytest.fixture
def cut_everything(monkeypatch):
    """Two threads and every pass big enough to cut; ember's filter for NumPy's IEEE warnings
    in place, as after any tensor factory (np.errstate does not reach the worker thread)."""
    quiet_numpy()
    monkeypatch.setattr(P, "MIN_WORK", 0)
    monkeypatch.setattr(P, "_SITES", {})
    with num_threads(2):
        yield monkeypatch


def _layouts(a: np.ndarray) -> dict:
    """``a``'s values in several memory layouts (and broadcasts of part of it)."""
    return {
        "c": a,
        "channels_last": np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1),
        "transposed": np.ascontiguousarray(a.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0),
        "sliced": np.ascontiguousarray(np.repeat(a, 2, axis=3))[..., ::2],
        "row": a[:1, :1, :1, :],
        "channel": a[:1, :, :1, :1],
        "zero_d": np.asarray(a.flat[3]),
    }


UFUNCS = [np.add, np.subtract, np.multiply, np.divide]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("f", UFUNCS, ids=lambda f: f.__name__)
def test_same_dtype_layout_and_bits_as_numpy(f, dtype, cut_everything):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(SHAPE).astype(dtype)
    b = (rng.standard_normal(SHAPE) + 2).astype(dtype)
    a.flat[:4] = [np.inf, -np.inf, np.nan, -0.0]
    b.flat[4:7] = [0.0, -0.0, np.inf]
    la, lb = _layouts(a), _layouts(b)
    for way in (True, False, None):
        cut_everything.setattr(P, "SPLIT", way)
        for x in la.values():
            for y in [*lb.values(), 2.5, -3]:
                with np.errstate(all="ignore"):
                    want = f(x, y)
                    got = P.binary_split(f, x, y)
                assert got.dtype == want.dtype and got.shape == want.shape
                assert got.strides == want.strides
                np.testing.assert_array_equal(got, want)


def test_what_is_not_cut_is_the_plain_call(cut_everything):
    """Mixed dtypes, integer arrays, a scalar first, bool and complex scalars, shapes that do not
    broadcast: NumPy's own result or error."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    cases = [
        (a, a.astype(np.float64)),
        (a.astype(np.int64), a.astype(np.int64)),
        (2.0, a),
        (a, True),
        (a, 1j),
    ]
    for x, y in cases:
        got, want = P.binary_split(np.add, x, y), np.add(x, y)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        P.binary_split(np.add, a, np.ones((5,), np.float32))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_big_tensor_arithmetic_matches_torch(op, channels_last, cut_everything):
    rng = np.random.default_rng(1)
    xa = rng.standard_normal(SHAPE).astype(np.float32)
    ya = (rng.standard_normal(SHAPE[1:2] + (1, 1)) + 3).astype(np.float32)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(xa)
        if channels_last:
            x = x.contiguous(memory_format=lib.channels_last)
        x.requires_grad_()
        y = lib.tensor(ya, requires_grad=True)
        out = getattr(lib, op)(x, y)
        out2 = getattr(lib, op)(out, 1.5)
        out2.backward(lib.tensor(np.linspace(-1, 1, out2.numel(), dtype=np.float32)).reshape(SHAPE))
        results.append((out2, x.grad, y.grad))
    for e, t in zip(*results):
        assert e.stride() == t.stride()
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6)
