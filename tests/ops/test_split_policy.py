"""When ``parallel_for`` uses the second core: the per-site choice (with injected clocks), the
caller taking over chunks no worker started, and results that are the same bits whichever way
the chunks run (conv forward and backward, pooling, batch norm, activations)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import _parallel as P
from tests.parity import num_threads


@pytest.fixture
def two_threads():
    with num_threads(2):
        yield


# ---- the choice --------------------------------------------------------------------------------


def _fresh() -> P._Site:
    """A site past its untimed warm-up calls."""
    site = P._Site()
    site.calls = P.WARMUP
    return site


def _drive(site: P._Site, here: float, split: float, calls: int, every: float = 0.005) -> list:
    """The modes ``site`` picks over ``calls`` calls, one every ``every`` seconds, when a call
    costs ``here`` or ``split`` seconds."""
    modes = []
    for _ in range(calls):
        now = site.calls * every
        s = site.choose(now)
        modes.append(s)
        site.record(s, split if s else here, now)
    return modes


def test_trials_alternate_then_the_faster_way_sticks():
    site = _fresh()
    modes = _drive(site, here=100e-6, split=300e-6, calls=2 * P.TRIALS)
    assert modes == [False, True] * P.TRIALS
    assert site.use_split is False
    modes = _drive(_fresh(), here=300e-6, split=100e-6, calls=2 * P.TRIALS + 10)
    assert modes[2 * P.TRIALS :] == [True] * 10


def test_split_must_win_by_the_margin():
    site = _fresh()
    _drive(site, here=100e-6, split=100e-6 * (P.MARGIN + 0.02), calls=2 * P.TRIALS)
    assert site.use_split is False
    site = _fresh()
    _drive(site, here=100e-6, split=100e-6 * (P.MARGIN - 0.02), calls=2 * P.TRIALS)
    assert site.use_split is True


def test_a_site_slow_in_one_thread_always_splits_once_measured():
    # Even when the split trials measured slower: a hand-off is small next to such calls, and
    # the comparison of the two ways was noise there.
    site = _fresh()
    here = 2 * P.ALWAYS_SPLIT_S
    modes = _drive(site, here=here, split=1.5 * here, calls=2 * P.TRIALS + 4000)
    assert site.use_split is True
    assert modes[2 * P.TRIALS :] == [True] * 4000  # no exploring calls in thread any more
    site = _fresh()  # below the bound the measured choice holds
    _drive(site, here=P.ALWAYS_SPLIT_S / 2, split=P.ALWAYS_SPLIT_S, calls=2 * P.TRIALS)
    assert site.use_split is False


def test_exploring_calls_back_off_while_the_choice_holds():
    # One call every 5 ms for 200 s: exploring calls after 2, 4, 8, ... then every 32 s.
    site = _fresh()
    modes = _drive(site, here=100e-6, split=300e-6, calls=40_000)
    explored = np.array([i for i, m in enumerate(modes) if m][P.TRIALS :]) * 0.005
    gaps = np.diff(explored)
    want = np.minimum(P.EXPLORE_S * 2.0 ** np.arange(len(gaps)), P.EXPLORE_MAX_S)
    np.testing.assert_allclose(gaps, want, atol=0.006)
    assert gaps[-1] == pytest.approx(P.EXPLORE_MAX_S, abs=0.006)
    assert len(explored) < 12  # 0.03% of the calls ran the slower way


def test_the_choice_follows_a_change_of_the_machine():
    site = _fresh()
    _drive(site, here=100e-6, split=300e-6, calls=8000)  # 40 s
    assert site.use_split is False
    # The split gets cheap (e.g. the other core went idle): exploring calls see it.
    modes = _drive(site, here=100e-6, split=30e-6, calls=16000)
    assert site.use_split is True and modes[-50:] == [True] * 50
    first = modes.index(True)
    assert first * 0.005 <= P.EXPLORE_MAX_S
    assert modes[first : first + 3] == [True] * 3  # explored at once until the choice turned


def test_parallel_for_times_each_way_with_its_clock(monkeypatch, two_threads):
    # Calls in this thread are timed by the thread's CPU clock, split calls by the wall clock;
    # the site keeps the way its clock says is faster.
    now = {"cpu": 0.0, "wall": 0.0}
    monkeypatch.setattr(P, "_cpu", lambda: now["cpu"])
    monkeypatch.setattr(P, "_wall", lambda: now["wall"])
    modes = []

    def here(fn, bounds, whole):
        modes.append("here")
        now["cpu"] += 5e-4
        now["wall"] += 9e-3  # (a preempted call: its wall time must not count)

    def split(fn, bounds):
        modes.append("split")
        now["wall"] += 1e-3

    monkeypatch.setattr(P, "_run_here", here)
    monkeypatch.setattr(P, "_run_split", split)
    monkeypatch.setattr(P, "_SITES", {})

    def fn(lo, hi):
        pass

    for _ in range(P.WARMUP + 2 * P.TRIALS + 20):
        P.parallel_for(fn, 8, P.MIN_WORK)
    w = P.WARMUP  # (untimed, in this thread)
    assert modes[: w + 2 * P.TRIALS] == ["here"] * w + ["here", "split"] * P.TRIALS
    assert modes[w + 2 * P.TRIALS :].count("here") >= 19  # 0.5 ms here beats 1 ms split


def test_small_passes_and_one_thread_make_one_call(monkeypatch):
    monkeypatch.setattr(P, "_SITES", {})
    calls = []
    before = ember.get_num_threads()
    ember.set_num_threads(1)
    try:
        P.parallel_for(lambda lo, hi: calls.append((lo, hi)), 10, 1 << 40)
        assert P.blocks(10, 1 << 40) == [(0, 10)]
        ember.set_num_threads(2)
        P.parallel_for(lambda lo, hi: calls.append((lo, hi)), 10, P.MIN_WORK - 1)
        assert P.blocks(10, P.MIN_WORK - 1) == [(0, 10)]
        assert P.blocks(10, P.MIN_WORK) == [(0, 5), (5, 10)]
    finally:
        ember.set_num_threads(before)
    assert calls == [(0, 10), (0, 10)] and P._SITES == {}


# ---- the hand-off --------------------------------------------------------------------------------


def test_a_split_caller_runs_the_chunks_no_worker_started(two_threads, monkeypatch):
    # Both pool workers busy: the caller must not wait for them to run its second chunk.
    monkeypatch.setattr(P, "SPLIT", True)
    release = threading.Event()
    pool = P.op_pool()
    blockers = [pool.submit(release.wait, 30) for _ in range(2)]
    ran = []
    try:
        P.parallel_for(lambda lo, hi: ran.append((lo, hi, threading.get_ident())), 10, 1 << 40)
    finally:
        release.set()
    for b in blockers:
        b.result()
    assert sorted(r[:2] for r in ran) == [(0, 5), (5, 10)]
    assert {r[2] for r in ran} == {threading.get_ident()}


def test_a_failing_chunk_still_propagates_when_taken_over(two_threads, monkeypatch):
    monkeypatch.setattr(P, "SPLIT", True)

    def fn(lo, hi):
        if lo:
            raise ValueError("second chunk")

    with pytest.raises(ValueError, match="second chunk"):
        P.parallel_for(fn, 4, 1 << 40)


# ---- the same bits either way ----------------------------------------------------------------


def _run_all_ways(monkeypatch, job) -> None:
    """``job()`` with every pass cut (MIN_WORK 0, 2 threads): split, in this thread, and as one
    call where allowed; every way must give the same bits."""
    monkeypatch.setattr(P, "MIN_WORK", 0)
    results = []
    for way in (True, False, None):  # split, here, measured (trials alternate)
        monkeypatch.setattr(P, "SPLIT", way)
        monkeypatch.setattr(P, "_SITES", {})
        for _ in range(3 if way is None else 1):
            results.append(job())
    first = results[0]
    for other in results[1:]:
        assert len(other) == len(first)
        for a, b in zip(first, other):
            np.testing.assert_array_equal(a, b)


def _conv_job(xshape, wshape, channels_last=False, **kw):
    rng = np.random.default_rng(sum(xshape) + sum(wshape))
    x_np = rng.standard_normal(xshape).astype(np.float32)
    if channels_last:
        x_np = np.moveaxis(np.ascontiguousarray(np.moveaxis(x_np, 1, -1)), -1, 1)
    w_np = (rng.standard_normal(wshape) * 0.2).astype(np.float32)
    b_np = rng.standard_normal(wshape[0]).astype(np.float32)

    def job():
        x, w, b = (ember.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        y = F.conv2d(x, w, b, **kw)
        g = np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape)
        y.backward(ember.tensor(g))
        return [a.numpy().copy() for a in (y.detach(), x.grad, w.grad, b.grad)]

    return job


@pytest.mark.parametrize(
    "xshape,wshape,cl,kw",
    [
        ((64, 1, 28, 28), (6, 1, 5, 5), False, {}),  # LeNet's first layer (K-major columns)
        ((64, 6, 12, 12), (16, 6, 5, 5), True, {}),  # LeNet's second (channels-last columns)
        ((33, 6, 12, 12), (16, 6, 5, 5), True, {}),  # ragged shares (17 + 16 images)
        ((31, 3, 9, 9), (4, 3, 3, 3), False, {"padding": 1}),  # shares of 16 + 15 images
        ((20, 3, 9, 9), (4, 3, 3, 3), False, {"padding": 1}),  # 10 + 10: batch-last copies
        ((21, 6, 12, 12), (16, 6, 5, 5), True, {"stride": 2}),  # 11 + 10, channels-last
        ((5, 32, 8, 8), (16, 32, 3, 3), False, {"padding": 1}),  # many channels: tiled
    ],
)
def test_conv_forward_and_backward_same_bits_split_or_not(
    xshape, wshape, cl, kw, monkeypatch, two_threads
):
    _run_all_ways(monkeypatch, _conv_job(xshape, wshape, cl, **kw))


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2)])
def test_max_pool_backward_same_bits_split_or_not(channels_last, k, s, monkeypatch, two_threads):
    rng = np.random.default_rng(5)
    x_np = np.maximum(rng.standard_normal((9, 6, 24, 24)), 0).astype(np.float32)  # ties
    if channels_last:
        x_np = np.moveaxis(np.ascontiguousarray(np.moveaxis(x_np, 1, -1)), -1, 1)

    def job():
        x = ember.tensor(x_np, requires_grad=True)
        y = F.max_pool2d(F.relu(x), k, s)
        y.backward(ember.tensor(np.arange(y.numel(), dtype=np.float32).reshape(y.shape)))
        return [y.detach().numpy().copy(), x.grad.numpy().copy()]

    _run_all_ways(monkeypatch, job)


def test_batch_norm_and_activations_same_bits_split_or_not(monkeypatch, two_threads):
    rng = np.random.default_rng(6)
    x_np = rng.standard_normal((8, 5, 7, 6)).astype(np.float32)
    x_np[0, 0, 0, :3] = [np.inf, -np.inf, -0.0]

    def job():
        ember.manual_seed(0)
        bn = ember.nn.BatchNorm2d(5)
        x = ember.tensor(x_np, requires_grad=True)
        y = F.gelu(F.relu(bn(x)) + F.silu(x))
        y.backward(ember.tensor(np.cos(np.arange(y.numel(), dtype=np.float32)).reshape(y.shape)))
        return [y.detach().numpy().copy(), x.grad.numpy().copy(), bn.weight.grad.numpy().copy()]

    _run_all_ways(monkeypatch, job)
