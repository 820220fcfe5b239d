"""The per-core chunking helper, and the big (chunked, pooled, split-GEMM) conv/pool/ReLU paths."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.ops import _parallel as P
from tests.parity import assert_close, check_op, num_threads


@pytest.fixture
def serial(monkeypatch):
    """Switch every splitting path off (the single-threaded reference)."""

    def off():
        monkeypatch.setattr(P, "MIN_WORK", 1 << 62)
        monkeypatch.setattr(P, "MIN_GEMM", 1 << 62)

    return off


@pytest.mark.parametrize("n", [1, 2, 3, 7, 33])
def test_parallel_for_covers_every_index_once(n):
    hits = np.zeros(n, np.int64)
    lock = threading.Lock()

    def fn(lo, hi):
        with lock:
            hits[lo:hi] += 1

    P.parallel_for(fn, n, 1 << 40)
    assert (hits == 1).all()


def test_parallel_for_small_work_runs_inline():
    calls = []
    P.parallel_for(lambda lo, hi: calls.append((lo, hi, threading.current_thread())), 10, 10)
    assert calls == [(0, 10, threading.current_thread())]


def test_parallel_for_propagates_errors():
    def fn(lo, hi):
        if lo > 0:
            raise ValueError("chunk failed")

    with pytest.raises(ValueError, match="chunk failed"):
        P.parallel_for(fn, 8, 1 << 40)


def test_nested_call_inside_a_pool_task_runs_inline():
    inner = []

    def outer(lo, hi):
        P.parallel_for(lambda a, b: inner.append(threading.current_thread()), 4, 1 << 40)

    P.parallel_for(outer, 2, 1 << 40)  # would deadlock if a task waited on the pool
    assert len(inner) >= 2


@pytest.mark.parametrize("shape", [(33, 129, 65), (5, 7, 3), (1, 600_000)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_unary_binary_copy_match_numpy(shape, channels_last):
    rng = np.random.default_rng(0)
    base = rng.standard_normal(shape).astype(np.float32)
    x = np.moveaxis(base, -1, 1) if channels_last else base[:, ::1]
    out = np.empty_like(x)
    P.unary_into(np.negative, x, out)
    np.testing.assert_array_equal(out, -x)
    assert out.strides == np.empty_like(x).strides
    y = np.ascontiguousarray(x) * 2
    P.binary_into(np.add, x, y, out)
    np.testing.assert_array_equal(out, x + y)
    dst = np.zeros_like(x)
    P.copy_into(dst, x)
    np.testing.assert_array_equal(dst, x)


def test_big_relu_and_maxpool_match_torch_and_serial(serial):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((8, 32, 48, 48)).astype(np.float32)  # 590k elements

    def run():
        x = ember.tensor(x_np, requires_grad=True)
        y = F.max_pool2d(F.relu(x), 2)
        g = ember.tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape))
        y.backward(g)
        return y.detach().numpy(), x.grad.numpy(), g.numpy()

    y, gx, g = run()
    xt = torch.tensor(x_np, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(torch.relu(xt), 2)
    yt.backward(torch.tensor(g))
    assert_close(y, yt.detach().numpy(), rtol=0, atol=0)
    assert_close(gx, xt.grad.numpy(), rtol=0, atol=0)
    serial()
    y2, gx2, _ = run()
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(gx, gx2)


@pytest.mark.parametrize("cin", [3, 32])
def test_big_conv_matches_torch_and_serial(cin, serial):
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((8, cin, 32, 32)).astype(np.float32)
    w_np = (rng.standard_normal((64, cin, 3, 3)) * 0.1).astype(np.float32)
    b_np = rng.standard_normal(64).astype(np.float32)
    g_np = rng.standard_normal((8, 64, 32, 32)).astype(np.float32)

    def run():
        x, w, b = (ember.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        y = F.conv2d(x, w, b, padding=1)
        y.backward(ember.tensor(g_np))
        return [a.numpy() for a in (y.detach(), x.grad, w.grad, b.grad)]

    got = run()
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    yt = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
    yt.backward(torch.tensor(g_np))
    for a, t in zip(got, (yt.detach(), xt.grad, wt.grad, bt.grad)):
        assert_close(a, t.numpy(), rtol=1e-4, atol=1e-3)
    serial()
    for a, s in zip(got, run()):
        np.testing.assert_allclose(a, s, rtol=1e-5, atol=1e-4)


def test_big_conv_from_worker_threads():
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((8, 32, 32, 32)).astype(np.float32)
    w = ember.tensor((rng.standard_normal((32, 32, 3, 3)) * 0.1).astype(np.float32))
    ref = torch.nn.functional.conv2d(torch.tensor(x_np), torch.tensor(w.numpy()), padding=1)

    def job(_):
        return F.relu(F.conv2d(ember.tensor(x_np), w, padding=1)).numpy().copy()

    with ThreadPoolExecutor(3) as ex:
        outs = list(ex.map(job, range(3)))
    for o in outs:
        assert_close(o, torch.relu(ref).numpy(), rtol=1e-4, atol=1e-4)


def test_matmul_helpers_match_numpy(monkeypatch):
    monkeypatch.setattr(P, "MIN_GEMM", 0)
    rng = np.random.default_rng(4)
    a = rng.standard_normal((1, 301, 17)).astype(np.float32)
    b = rng.standard_normal((1, 17, 5)).astype(np.float32)
    out = np.empty((1, 301, 5), np.float32)
    np.testing.assert_allclose(P.matmul(a, b, out), a @ b, rtol=1e-5, atol=1e-5)
    bt = rng.standard_normal((1, 17, 400)).astype(np.float32)
    out = np.empty((1, 5, 400), np.float32)
    np.testing.assert_allclose(P.matmul(a[:, :5], bt, out), a[:, :5] @ bt, rtol=1e-5, atol=1e-5)


def test_blas_threads_restored_after_scoped_regions():
    ctl = P.blas_control()
    if ctl is None:  # no recognised OpenBLAS: the scope is a no-op
        with P.single_threaded_blas() as active:
            assert active is False
        return
    before = ctl[1]()
    with P.single_threaded_blas():
        with P.single_threaded_blas():
            assert ctl[1]() == 1
        assert ctl[1]() == 1
    assert ctl[1]() == before


@pytest.mark.parametrize("shape", [(40, 7), (3, 9, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_side_by_side_match_torch(monkeypatch, shape, bias):
    # Two threads: the input and weight gradients as two whole GEMMs, one per core.
    from ember.ops import linalg as LA

    monkeypatch.setattr(P, "MIN_GEMM", 0)
    with num_threads(2):
        used = []
        real = LA._grads_side_by_side
        monkeypatch.setattr(LA, "_grads_side_by_side", lambda *a: used.append(1) or real(*a))
        rng = np.random.default_rng(5)
        x = rng.standard_normal(shape).astype(np.float32)
        w = rng.standard_normal((5, 7)).astype(np.float32)
        b = rng.standard_normal(5).astype(np.float32) if bias else None
        ins = [x, w] + ([b] if bias else [])
        check_op(
            lambda *a: ember.nn.functional.linear(*a),
            lambda *a: torch.nn.functional.linear(*a),
            *ins, rtol=1e-5, atol=1e-5,
        )  # fmt: skip
        assert used == ([1] if P.blas_control() is not None else [])
