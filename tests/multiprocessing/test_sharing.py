"""``ember.multiprocessing`` and shared-memory tensors: Hogwild training reaches the parent."""

from __future__ import annotations

import multiprocessing as pymp

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp

import ember
import ember.multiprocessing as mp
from ember import nn

from . import _workers as W

METHODS = ["fork", "spawn"]


def _pair() -> tuple:
    """The same small model in ember and torch."""
    e = nn.Linear(3, 1)
    t = torch.nn.Linear(3, 1)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(e.weight.detach().numpy()))
        t.bias.copy_(torch.tensor(e.bias.detach().numpy()))
    return e, t


def test_namespace_matches_torch() -> None:
    for name in tmp.__all__:
        assert hasattr(mp, name), name
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy()
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.cpu_count() == pymp.cpu_count()
    assert ember.multiprocessing is mp


def test_share_memory_keeps_values_and_reports_shared() -> None:
    t = ember.arange(12.0).reshape(3, 4)[:, 1:]
    tt = torch.arange(12.0).reshape(3, 4)[:, 1:]
    assert t.is_shared() is tt.is_shared() is False
    assert t.share_memory_() is t
    tt.share_memory_()
    assert t.is_shared() and tt.is_shared()
    assert t.untyped_storage().is_shared()
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    t.share_memory_()  # a second call keeps the same memory
    assert t.is_shared()


def test_module_share_memory_covers_parameters_grads_and_buffers() -> None:
    m = nn.BatchNorm1d(3)
    m(ember.randn(4, 3)).sum().backward()
    assert m.share_memory() is m
    for t in (*m.parameters(), *m.buffers(), *(p.grad for p in m.parameters())):
        assert t.is_shared()


@pytest.mark.parametrize("method", METHODS)
def test_children_write_into_parent_tensor(method: str) -> None:
    t = ember.zeros(3, 2).share_memory_()
    ctx = mp.get_context(method)
    procs = [ctx.Process(target=W.fill, args=(r, t)) for r in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    np.testing.assert_array_equal(t.numpy(), [[1, 1], [2, 2], [3, 3]])


@pytest.mark.parametrize("method", METHODS)
def test_hogwild_sequential_workers_match_torch(method: str) -> None:
    """Two workers, one after the other, train the parent's model: the same numbers as torch."""
    e, t = _pair()
    e.share_memory()
    before = e.weight.detach().numpy().copy()
    ctx = mp.get_context(method)
    for rank in range(2):
        p = ctx.Process(target=W.train, args=(rank, e, 5))
        p.start()
        p.join()
        assert p.exitcode == 0
        W.train(rank, t, 5, torch)
    assert not np.allclose(e.weight.detach().numpy(), before)
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(e.bias.detach().numpy(), t.bias.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_hogwild_concurrent_spawn_trains_parent(method: str) -> None:
    """``mp.spawn``: workers running at once lower the parent's loss on the shared task."""
    e, _ = _pair()
    e.share_memory()
    x, y = (ember.tensor(a) for a in W.data(0))
    loss0 = ember.nn.functional.mse_loss(e(x), y).item()
    mp.start_processes(W.train_worker, args=(e, 20), nprocs=2, start_method=method)
    loss1 = ember.nn.functional.mse_loss(e(x), y).item()
    assert loss1 < 0.5 * loss0


def test_queue_sends_shared_tensor_by_memory() -> None:
    ctx = mp.get_context("spawn")
    q_in, q_out = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=W.report_shared, args=(q_in, q_out))
    p.start()
    t = ember.zeros(4).share_memory_()
    q_in.put(t)
    shared, _ = q_out.get(timeout=60)
    assert q_out.get(timeout=60) == "done"
    p.join()
    assert shared is True
    np.testing.assert_array_equal(t.numpy(), np.ones(4))


def test_queue_sends_unshared_tensor_by_value() -> None:
    ctx = mp.get_context("spawn")
    q_in, q_out = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=W.report_shared, args=(q_in, q_out))
    p.start()
    t = ember.zeros(4)
    q_in.put(t)
    shared, _ = q_out.get(timeout=60)
    assert q_out.get(timeout=60) == "done"
    p.join()
    assert shared is False
    np.testing.assert_array_equal(t.numpy(), np.zeros(4))


def test_parameter_arrives_as_parameter() -> None:
    from multiprocessing.reduction import ForkingPickler

    p = nn.Parameter(ember.ones(2)).share_memory_()
    q = ForkingPickler.loads(ForkingPickler.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad and q.is_shared()
    q.data.mul_(3)
    np.testing.assert_array_equal(p.detach().numpy(), [3.0, 3.0])


@pytest.mark.parametrize("lib", [ember.multiprocessing, tmp])
def test_spawn_reports_child_exception(lib) -> None:
    with pytest.raises(lib.ProcessRaisedException, match="worker one failed on purpose"):
        lib.start_processes(W.fail, nprocs=2, start_method="fork")


def test_spawn_join_false_returns_context() -> None:
    ctx = mp.start_processes(W.fail, nprocs=1, join=False, start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass


@pytest.mark.parametrize("lib", [ember.multiprocessing, tmp])
def test_spawn_with_fork_warns_as_torch(lib) -> None:
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        lib.spawn(W.fill, args=(ember.zeros(1, 1).share_memory_(),), nprocs=1, start_method="fork")
