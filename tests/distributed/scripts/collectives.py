"""Every collective against NumPy, on however many ranks the job has.

Rank r's input is a known function of r, so each rank can compute the expected result with
NumPy. Rank 0 emits ``{check: [failures on any rank]}``.
"""

import traceback
from datetime import timedelta

import numpy as np

import ember
import ember.distributed as dist
from tests.distributed.scripts._result import emit

dist.init_process_group("gloo")
R, N = dist.get_rank(), dist.get_world_size()
CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def base(r, dtype=np.float64, shape=(2, 3)):
    """Rank r's input: distinct, exactly representable values."""
    return (np.arange(np.prod(shape)).reshape(shape) % 5 + 1 + r).astype(dtype)


def eq(t, want):
    got = t.numpy() if isinstance(t, ember.Tensor) else t
    assert got.dtype == np.asarray(want).dtype, (got.dtype, np.asarray(want).dtype)
    np.testing.assert_array_equal(got, want)


ALL = [base(r) for r in range(N)]
NP_REDUCE = {
    "SUM": lambda xs: np.sum(xs, 0),
    "PRODUCT": lambda xs: np.prod(xs, 0),
    "MIN": lambda xs: np.min(xs, 0),
    "MAX": lambda xs: np.max(xs, 0),
}


@check
def all_reduce_ops_float64():
    for name, f in NP_REDUCE.items():
        t = ember.tensor(base(R))
        dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
        eq(t, f(ALL))
    t = ember.tensor(base(R))
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(t.numpy(), np.mean(ALL, 0), rtol=1e-15)


@check
def all_reduce_dtypes():
    for dt in (
        np.float32,
        np.int64,
        np.int32,
        np.int16,
        np.int8,
        np.uint8,
        np.complex64,
        np.complex128,
    ):
        t = ember.tensor(base(R, dt))
        dist.all_reduce(t)
        eq(t, np.sum([base(r, dt) for r in range(N)], 0).astype(dt))


@check
def all_reduce_float16_in_float32():
    t = ember.tensor(base(R, np.float16) / 3)
    dist.all_reduce(t)
    want = np.sum([(base(r, np.float16) / 3).astype(np.float32) for r in range(N)], 0)
    eq(t, want.astype(np.float16))


@check
def all_reduce_bool_is_or_and():
    mine = np.array([R == 0, True, False, R == N - 1])
    t = ember.tensor(mine)
    dist.all_reduce(t)
    eq(t, np.array([True, True, False, True]))
    t = ember.tensor(mine)
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    eq(t, np.array([N == 1, True, False, N == 1]))


@check
def all_reduce_bitwise():
    for name, f in (("BAND", np.bitwise_and), ("BOR", np.bitwise_or), ("BXOR", np.bitwise_xor)):
        t = ember.tensor(base(R, np.int64) * 3)
        dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
        eq(t, f.reduce([base(r, np.int64) * 3 for r in range(N)], 0))


@check
def all_reduce_non_contiguous_and_views():
    t = ember.tensor(base(R, shape=(3, 4))).t()
    dist.all_reduce(t)
    eq(t, np.sum([base(r, shape=(3, 4)) for r in range(N)], 0).T)
    big = ember.zeros(4, 3, dtype=ember.float64)
    big[1:3] = ember.tensor(base(R))
    dist.all_reduce(big[1:3])  # a contiguous view: the result lands in the base tensor
    eq(big[1:3], np.sum(ALL, 0))
    eq(big[0], np.zeros(3))


@check
def all_reduce_zero_dim_and_version():
    t = ember.tensor(float(R + 1))
    v = t._version
    dist.all_reduce(t)
    eq(t, np.array(N * (N + 1) / 2, np.float32))
    assert t._version == v + 1


@check
def all_reduce_async_work():
    t = ember.tensor(base(R))
    w = dist.all_reduce(t, async_op=True)
    assert isinstance(w, dist.Work)
    assert w.wait() is True
    assert w.is_completed()
    eq(t, np.sum(ALL, 0))
    assert w.result()[0] is t


@check
def broadcast_from_last_rank():
    t = ember.tensor(base(R))
    dist.broadcast(t, src=N - 1)
    eq(t, base(N - 1))
    t = ember.tensor(base(R, np.float16))
    w = dist.broadcast(t, group_src=0, async_op=True)
    w.wait()
    eq(t, base(0, np.float16))


@check
def reduce_to_last_rank():
    t = ember.tensor(base(R))
    dist.reduce(t, dst=N - 1, op=dist.ReduceOp.MAX)
    eq(t, np.max(ALL, 0) if R == N - 1 else base(R))


@check
def all_gather_lists_and_tensor():
    outs = [ember.zeros(2, 3, dtype=ember.float64) for _ in range(N)]
    dist.all_gather(outs, ember.tensor(base(R)))
    for r in range(N):
        eq(outs[r], base(r))
    flat = ember.zeros(2 * N, 3, dtype=ember.float64)
    dist.all_gather_into_tensor(flat, ember.tensor(base(R)))
    eq(flat, np.concatenate(ALL))
    stacked = ember.zeros(N, 2, 3, dtype=ember.float64)
    dist.all_gather_into_tensor(stacked, ember.tensor(base(R)))
    eq(stacked, np.stack(ALL))


@check
def reduce_scatter():
    inp = ember.tensor(base(R, shape=(N, 3)))
    out = ember.zeros(3, dtype=ember.float64)
    dist.reduce_scatter_tensor(out, inp)
    eq(out, np.sum([base(r, shape=(N, 3)) for r in range(N)], 0)[R])
    dist.reduce_scatter_tensor(out, inp, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(
        out.numpy(), np.mean([base(r, shape=(N, 3)) for r in range(N)], 0)[R]
    )


@check
def gather_and_scatter():
    dst = N - 1
    outs = [ember.zeros(2, 3, dtype=ember.float64) for _ in range(N)] if R == dst else None
    dist.gather(ember.tensor(base(R)), outs, dst=dst)
    if R == dst:
        for r in range(N):
            eq(outs[r], base(r))
    t = ember.zeros(2, 3, dtype=ember.int64)
    ins = [ember.tensor(base(r, np.int64) * 10) for r in range(N)] if R == 0 else None
    dist.scatter(t, ins, src=0)
    eq(t, base(R, np.int64) * 10)


@check
def all_to_all_even_and_uneven():
    inp = ember.tensor(np.arange(N * 2) + 100 * R)
    out = ember.zeros(N * 2, dtype=ember.int64)
    dist.all_to_all_single(out, inp)
    eq(out, np.concatenate([np.arange(2 * R, 2 * R + 2) + 100 * r for r in range(N)]))
    # rank r sends r + 1 rows to every rank; rank i receives r + 1 rows from each rank r
    rows = (R + 1) * N
    inp = ember.tensor(np.full((rows, 2), R, dtype=np.int32))
    out = ember.zeros(sum(r + 1 for r in range(N)), 2, dtype=ember.int32)
    dist.all_to_all_single(out, inp, [r + 1 for r in range(N)], [R + 1] * N)
    eq(out, np.concatenate([np.full((r + 1, 2), r, np.int32) for r in range(N)]))


@check
def point_to_point_ring():
    if N == 1:
        return
    nxt, prv = (R + 1) % N, (R - 1) % N
    got = ember.zeros(2, 3, dtype=ember.float64)
    ws = dist.isend(ember.tensor(base(R)), dst=nxt)
    wr = dist.irecv(got, src=prv)
    wr.wait()
    ws.wait()
    eq(got, base(prv))
    if R == 0:
        senders = set()
        for _ in range(N - 1):
            t = ember.zeros(1, dtype=ember.int64)
            s = dist.recv(t, tag=5)
            assert t.item() == s * 7, (t.item(), s)
            senders.add(s)
        assert senders == set(range(1, N))
    else:
        dist.send(ember.tensor([R * 7]), dst=0, tag=5)


@check
def barriers():
    dist.barrier()
    dist.barrier(async_op=True).wait()
    dist.monitored_barrier(timeout=timedelta(seconds=30))
    dist.monitored_barrier(timeout=timedelta(seconds=30), wait_all_ranks=True)


@check
def object_collectives():
    objs = [None] * N
    dist.all_gather_object(objs, {"rank": R, "t": ember.tensor([R])})
    assert [o["rank"] for o in objs] == list(range(N))
    assert [o["t"].item() for o in objs] == list(range(N))
    lst = ["a", R] if R == N - 1 else [None, None]
    dist.broadcast_object_list(lst, src=N - 1)
    assert lst == ["a", N - 1]
    got = [None] * N if R == 0 else None
    dist.gather_object(("x", R), got, dst=0)
    if R == 0:
        assert got == [("x", r) for r in range(N)]
    out = [None]
    dist.scatter_object_list(out, [{"to": r} for r in range(N)] if R == 0 else None, src=0)
    assert out == [{"to": R}]


@check
def groups():
    if N == 1:
        return
    members = list(range(1, N))  # everyone but rank 0
    g = dist.new_group(members)
    if R == 0:
        assert g == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(g) == -1
        assert dist.all_reduce(ember.ones(1), group=g) is None
        return
    assert dist.get_rank(g) == R - 1 and dist.get_world_size(g) == N - 1
    assert dist.get_process_group_ranks(g) == members
    assert dist.get_global_rank(g, 0) == 1 and dist.get_group_rank(g, R) == R - 1
    t = ember.tensor([float(R)])
    dist.all_reduce(t, group=g)
    eq(t, np.array([sum(members)], np.float32))
    t = ember.tensor([float(R)])
    dist.broadcast(t, src=N - 1, group=g)  # src is a global rank
    eq(t, np.array([N - 1], np.float32))
    dist.barrier(group=g)


@check
def world_and_backend():
    assert dist.is_initialized()
    assert dist.get_backend() == "gloo"
    assert dist.group.WORLD.size() == N and dist.group.WORLD.rank() == R
    assert dist.is_torchelastic_launched()


@check
def shape_mismatch_raises_on_every_rank():
    for bad in (
        lambda: dist.all_gather([ember.zeros(3)] * (N + 1), ember.zeros(3)),
        lambda: dist.all_gather_into_tensor(ember.zeros(N * 3 + 1), ember.zeros(3)),
        lambda: dist.reduce_scatter_tensor(ember.zeros(2), ember.zeros(N * 2 + 1)),
    ):
        try:
            bad()
        except RuntimeError:
            continue
        raise AssertionError("no RuntimeError")


def _raises(fn, what):
    try:
        fn()
    except RuntimeError as e:
        assert what in str(e), str(e)
        return
    raise AssertionError(f"no RuntimeError mentioning {what!r}")


@check
def ranks_disagreeing_raise_on_every_rank():
    if N == 1:
        return
    _raises(lambda: dist.all_reduce(ember.ones(3 + R)), "elements from 3 to")
    _raises(lambda: dist.broadcast(ember.ones(3, dtype=ember.float64 if R else None), 0), "dtype")
    _raises(lambda: dist.broadcast(ember.ones(3), src=R), "src from 0 to")
    _raises(
        lambda: dist.all_reduce(ember.ones(3), op=[dist.ReduceOp.SUM, dist.ReduceOp.MAX][R % 2]),
        "op",
    )
    _raises(lambda: dist.all_gather([ember.zeros(1 + R)] * N, ember.zeros(1 + R)), "elements")
    splits = [1] * N
    splits[0] += R  # rank r sends 1 + r rows to rank 0, which expects 1 from each
    _raises(
        lambda: dist.all_to_all_single(ember.zeros(N), ember.zeros(sum(splits)), None, splits),
        "split sizes",
    )
    if R == 0:
        dist.send(ember.ones(3), 1)
    elif R == 1:
        _raises(lambda: dist.recv(ember.ones(4), 0), "has 12 bytes")
    dist.all_reduce(ember.ones(2))  # and the group still works


failures = {}
for name, fn in CHECKS.items():
    try:
        fn()
        err = None
    except Exception:
        err = f"rank {R}: {traceback.format_exc()}"
    errs = [None] * N
    dist.all_gather_object(errs, err)
    failures[name] = [e for e in errs if e]
if R == 0:
    emit(failures)
dist.destroy_process_group()
