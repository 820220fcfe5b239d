"""The scratch pool behind ember's big per-step arrays (conv, pooling, ReLU, batch norm, RNNs,
attention, folded Linear): buffers are reused only when nothing else holds them."""

from __future__ import annotations

import numpy as np

import ember
import ember.nn as enn


def test_scratch_pool_reuses_only_free_buffers():
    from ember._scratch import _ScratchPool

    def addr(x):
        return x.__array_interface__["data"][0]

    pool = _ScratchPool()
    a = pool.get((512, 1024), np.float32)
    b = pool.get((512, 1024), np.float32)
    assert not np.shares_memory(a, b)  # both held
    a_addr = addr(a)
    view = a[:10]
    del a
    c = pool.get((512, 1024), np.float32)
    assert not np.shares_memory(c, view)  # a view keeps the buffer busy
    del view, c
    d = pool.get((1024, 512), np.float32, zero=True)
    assert addr(d) == a_addr and not d.any()  # free again: reused (any shape) and zeroed
    del d
    pool.clear()
    assert pool._arrays == []


def test_pooled_relu_buffers_never_overwrite_live_results():
    # ReLU's big outputs and gradients come from the scratch pool: results still held (and
    # outputs saved for backward) must survive later ReLUs of the same size.
    x = ember.randn(64, 6, 24, 24, requires_grad=True)  # 884 KB: pooled
    ks = (1.0, -1.0, 2.0)
    outs = [ember.relu(x * k) for k in ks]
    for k, o in zip(ks, outs):
        np.testing.assert_array_equal(o.detach().numpy(), np.maximum(x.detach().numpy() * k, 0))
    sum(o.sum() for o in outs).backward()
    xs = x.detach().numpy()
    expected = sum(np.where(xs * k > 0, k, 0.0) for k in ks).astype(np.float32)
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_pooled_layer_results_survive_later_calls():
    # Batch norm, LSTM and attention take their big arrays from the scratch pool: outputs and
    # gradients still held must not be overwritten by later calls of the same size.
    ember.manual_seed(0)
    bn = enn.BatchNorm2d(32)
    lstm = enn.LSTM(64, 128, batch_first=True)
    mha = enn.MultiheadAttention(128, 8, batch_first=True)
    xs = [ember.randn(32, 32, 16, 16) for _ in range(2)]
    ss = [ember.randn(16, 50, 64) for _ in range(2)]
    qs = [ember.randn(16, 64, 128) for _ in range(2)]
    with ember.no_grad():
        first = (bn(xs[0]), lstm(ss[0])[0], mha(qs[0], qs[0], qs[0])[0])
        kept = [t.numpy().copy() for t in first]
        bn(xs[1]), lstm(ss[1]), mha(qs[1], qs[1], qs[1])
    for t, k in zip(first, kept):
        np.testing.assert_array_equal(t.numpy(), k)
