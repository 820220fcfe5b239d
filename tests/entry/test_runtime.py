"""ember._runtime: set_num_threads/get_num_threads really change ember's threads (big GEMMs are
split into that many one-thread BLAS calls; OpenBLAS gets that many threads only while other
processes leave the machine idle); status() reports the process-wide state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember import _runtime
from ember.ops import _parallel


@pytest.fixture
def openblas(restore_threads):
    """NumPy's OpenBLAS thread control (the test is skipped without a recognised OpenBLAS:
    ember then leaves BLAS threads as found); ember's policy is restored afterwards."""
    ctl = _runtime.blas_control()
    if ctl is None:
        pytest.skip("no recognised OpenBLAS: BLAS threads are left as found")
    yield ctl
    _runtime._apply_blas_policy()


@pytest.fixture
def restore_threads():
    before = ember.get_num_threads()
    yield
    ember.set_num_threads(before)


def test_default_thread_count_is_usable_cores_as_torch():
    assert ember.get_num_threads() == _runtime.usable_cores() == torch.get_num_threads()


def test_set_num_threads_changes_ember_threads(restore_threads):
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    assert _parallel.cores() == 1
    ember.set_num_threads(3)
    assert ember.get_num_threads() == 3
    assert _parallel.cores() == 3


def _look_after(monkeypatch, others_cpu_seconds: float) -> None:
    """Make the next follow_the_load see 1 s of wall time in which other processes used
    ``others_cpu_seconds`` of CPU."""
    import time

    monkeypatch.setattr(_runtime, "machine_cpu_seconds", lambda: 100.0 + others_cpu_seconds)
    _runtime._Load.t = time.monotonic() - 1.0
    _runtime._Load.own = time.process_time()
    _runtime._Load.machine = 100.0


@pytest.mark.parametrize(("others", "expected"), [(0.0, 3), (0.2, 3), (1.0, 1), (2.0, 1)])
def test_openblas_threads_follow_the_load(monkeypatch, openblas, others, expected):
    ctl = openblas
    ember.set_num_threads(3)
    monkeypatch.setattr(_runtime._Load, "pool_used", -1e9)  # ember's pool idle
    _look_after(monkeypatch, others * _runtime.usable_cores())
    _runtime.follow_the_load()
    assert ctl[1]() == expected
    assert _runtime.status()["blas_threads"] == expected
    # Never inside a single-threaded block: the block's restore would be clobbered.
    _look_after(monkeypatch, 0.0)
    with _runtime.single_threaded_blas():
        _runtime.follow_the_load()
        assert ctl[1]() == 1
    _runtime._apply_blas_policy()
    assert ctl[1]() == 1


def test_openblas_stays_at_one_thread_without_proc_stat(monkeypatch, openblas):
    ctl = openblas
    ember.set_num_threads(2)
    _look_after(monkeypatch, 0.0)
    monkeypatch.setattr(_runtime, "machine_cpu_seconds", lambda: float("nan"))
    _runtime.follow_the_load()
    assert ctl[1]() == 1


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_big_gemms_split_into_get_num_threads_one_thread_blas_calls(
    restore_threads, monkeypatch, threads
):
    ctl = _runtime.blas_control()
    if ctl is None:
        pytest.skip("no recognised OpenBLAS: GEMMs are not split")
    ember.set_num_threads(threads)
    monkeypatch.setattr(_parallel, "MIN_GEMM", 0)  # split even this small product
    chunks, blas_seen = [], []
    real = _parallel.parallel_for

    def spy(fn, n, work, *site, **kw):
        def run(lo, hi):
            chunks.append((lo, hi))
            blas_seen.append(ctl[1]())
            fn(lo, hi)

        real(run, n, work, *site, **kw)

    monkeypatch.setattr(_parallel, "parallel_for", spy)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 8)), rng.standard_normal((8, 5))
    ta, tb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    out = ember.matmul(ta, tb)
    ra, rb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref = torch.matmul(ra, rb)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    if threads == 1:
        assert chunks == []  # one thread: one plain BLAS call
    else:
        assert sorted(chunks[:threads]) == _parallel._bounds(30, threads)  # the forward
        assert set(blas_seen) == {1}
    g = rng.standard_normal((30, 5))
    out.backward(ember.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ta.grad.numpy(), ra.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), rb.grad.numpy(), rtol=1e-12)
    assert ctl[1]() == 1


def test_pool_rebuilt_at_the_new_size(restore_threads, monkeypatch):
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    ember.set_num_threads(3)
    seen = []
    _parallel.parallel_for(lambda lo, hi: seen.append((lo, hi)), 9, 1 << 30)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 9)]
    assert _runtime.op_pool()._max_workers == 3
    x = np.arange(12.0)
    out = np.empty_like(x)
    ember.set_num_threads(2)
    _parallel.unary_into(np.negative, x, out)
    np.testing.assert_array_equal(out, -x)


def test_single_threaded_blas_restores_the_thread_count_it_found(restore_threads):
    ctl = _runtime.blas_control()
    if ctl is None:  # no recognised OpenBLAS: the block says so and does nothing
        with _runtime.single_threaded_blas() as active:
            assert active is False
        return
    _runtime._apply_blas_policy()
    assert ctl[1]() == 1  # the policy until the machine is seen idle
    try:
        ctl[0](2)  # a program that gave OpenBLAS its threads back
        with _runtime.single_threaded_blas():
            ember.set_num_threads(3)
            assert ctl[1]() == 1
        assert ctl[1]() == 2  # restored; set_num_threads does not touch OpenBLAS
    finally:
        _runtime._apply_blas_policy()
    assert ctl[1]() == 1


@pytest.mark.parametrize("bad", [0, -1, "a", 1.5, True])
def test_set_num_threads_errors_as_torch(bad):
    with pytest.raises(RuntimeError) as te:
        torch.set_num_threads(bad)
    with pytest.raises(RuntimeError) as ee:
        ember.set_num_threads(bad)
    assert str(ee.value) == str(te.value)


def test_numpy_integer_accepted_as_torch(restore_threads):
    ember.set_num_threads(np.int64(2))
    assert ember.get_num_threads() == 2


def test_interop_threads():
    assert ember.get_num_interop_threads() == torch.get_num_interop_threads()
    with pytest.raises(RuntimeError):
        ember.set_num_interop_threads(0)


def test_status_reports_the_process_state():
    ember.zeros(1) + 1
    s = _runtime.status()
    for key in ("threads", "usable_cores", "blas", "default_device", "default_dtype"):
        assert key in s
    assert s["threads"] == ember.get_num_threads()
    if _runtime.blas_control() is not None:
        assert s["blas_threads"] in (1, ember.get_num_threads())
        assert s["blas_policy"] == _runtime.BLAS_POLICY
    assert s["default_dtype"] == "ember.float32"


def test_load_state_dict_in_progress_is_context_local():
    # A module's _load_from_state_dict running in one thread must not see another thread's
    # load in progress: each thread's load commits its own values, all or nothing.
    import threading

    from ember import nn
    from ember.nn.modules import _state

    seen = []
    barrier = threading.Barrier(2)

    class Slow(nn.Linear):
        def _load_from_state_dict(self, *args, **kwargs):
            seen.append(_state._PENDING.get())
            barrier.wait(timeout=10)  # both loads are in progress at once here
            super()._load_from_state_dict(*args, **kwargs)

    mods = [Slow(2, 2), Slow(2, 2)]
    sds = [
        {"weight": ember.full((2, 2), float(i)), "bias": ember.full((2,), float(i))} for i in (1, 2)
    ]
    threads = [threading.Thread(target=m.load_state_dict, args=(sd,)) for m, sd in zip(mods, sds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [len(s) for s in seen] == [1, 1]  # each thread saw only its own load
    for m, v in zip(mods, (1.0, 2.0)):
        assert ember.equal(m.weight, ember.full((2, 2), v)) and ember.equal(
            m.bias, ember.full((2,), v)
        )
    assert _state._PENDING.get() == ()


@pytest.mark.parametrize("split", [True, False], ids=["split", "in-thread"])
def test_openblas_back_to_one_thread_while_embers_pool_splits_passes(monkeypatch, openblas, split):
    # A big NumPy pass cut into chunks (split, or run in the calling thread) drops OpenBLAS to
    # one thread at once, and the next look keeps it there (its spinning workers would slow the
    # chunks), even on an idle machine.
    ctl = openblas
    ember.set_num_threads(2)
    _look_after(monkeypatch, 0.0)
    monkeypatch.setattr(_runtime._Load, "pool_used", -1e9)
    _runtime.follow_the_load()
    assert ctl[1]() == 2
    x = np.ones(_parallel.MIN_WORK * 2, np.float32)
    monkeypatch.setattr(_parallel, "SPLIT", split)
    _parallel.unary_into(np.negative, x, np.empty_like(x))  # a big pass
    assert ctl[1]() == 1
    _look_after(monkeypatch, 0.0)
    _runtime.follow_the_load()
    assert ctl[1]() == 1
