"""Softmax and log-softmax along the last axis of big contiguous arrays, block by block
(ember.ops._softmax_rows): values and input gradients against PyTorch, float32 and float64,
odd sizes, ragged last blocks, inf/NaN rows, split over two threads or not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close, rand_array

SHAPES = [(7, 13), (3, 5, 11), (1, 1), (5, 1), (2, 97), (37, 3)]
TOL = {np.float32: (1e-5, 1e-6), np.float64: (1e-12, 1e-13)}


@pytest.fixture(params=["one_thread", "split"])
def small_blocks(request, monkeypatch):
    """Every array takes the blocked path, in blocks of 24 elements (several blocks and a ragged
    last one), run in this thread or forced onto the pool."""
    from ember.ops import _parallel, _softmax_rows

    monkeypatch.setattr(_softmax_rows, "MIN_SIZE", 0)
    monkeypatch.setattr(_softmax_rows, "BLOCK", 24)
    if request.param == "split":
        monkeypatch.setattr(_parallel, "MIN_WORK", 0)
        monkeypatch.setattr(_parallel, "SPLIT", True)
        old = ember.get_num_threads()
        ember.set_num_threads(2)
        yield
        ember.set_num_threads(old)
    else:
        yield


def _run(lib, name: str, a: np.ndarray, g: np.ndarray) -> list:
    x = lib.tensor(a, requires_grad=True)
    y = getattr(x, name)(-1)
    y.backward(lib.tensor(g))
    return [y, x.grad]


# Offsets of the values: rows exponentiated as they are (0), and rows that need the shift by
# their maxima (-60: sums below 1; +30: log-softmax's sums beyond its limit; +100: overflow).
OFFSETS = [0.0, -60.0, 30.0, 100.0]


@pytest.mark.parametrize("offset", OFFSETS, ids=lambda o: f"offset{o:g}")
@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_blocked_softmax_matches_torch(small_blocks, shape, name, dt, offset):
    a = rand_array(shape, dt, 0, -4.0, 4.0) + dt(offset)
    g = rand_array(shape, dt, 1)
    rtol, atol = TOL[dt]
    if name == "log_softmax" and offset:  # outputs compared next to the inputs' magnitude
        atol = max(atol, rtol * abs(offset))
    for i, (e, t) in enumerate(zip(_run(ember, name, a, g), _run(torch, name, a, g))):
        assert_close(e, t, rtol=rtol, atol=atol, what=f"{name} item {i}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_blocked_softmax_edge_values(small_blocks, name):
    # Rows with +inf, -inf (one, several, all), NaN, -0.0 and a huge spread.
    a = rand_array((8, 6), np.float32, 0)
    a[0, 2] = np.inf
    a[1, :3] = -np.inf
    a[2, :] = -np.inf
    a[3, 4] = np.nan
    a[4, :] = -0.0
    a[5, 0], a[5, 1] = 1e30, -1e30
    a[6, :] = np.float32(-90.0)  # terms in the subnormal range unless shifted
    a[7, 1] = np.float32(85.0)  # a single huge term
    g = rand_array((8, 6), np.float32, 1)
    for i, (e, t) in enumerate(zip(_run(ember, name, a, g), _run(torch, name, a, g))):
        assert_close(e, t, what=f"{name} item {i}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_big_softmax_takes_blocked_path_and_matches_torch(name, monkeypatch):
    # A transformer-sized slice at the real thresholds, and the twice-differentiable path.
    a = rand_array((3, 40, 768), np.float32, 0, -3.0, 3.0)
    g = rand_array(a.shape, np.float32, 1)
    for i, (e, t) in enumerate(zip(_run(ember, name, a, g), _run(torch, name, a, g))):
        assert_close(e, t, rtol=1e-5, atol=1e-6, what=f"{name} item {i}")
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        (gx,) = lib.autograd.grad(getattr(x, name)(-1), x, lib.tensor(g), create_graph=True)
        (gg,) = lib.autograd.grad((gx * gx).sum(), x)
        res.append((gx, gg))
    assert_close(res[0][0], res[1][0], rtol=1e-5, atol=1e-6, what="create_graph gx")
    assert_close(res[0][1], res[1][1], rtol=1e-4, atol=1e-5, what="double backward")
