"""Samplers drawing with replacement draw lazily: num_samples=int(1e10) (minGPT, makemore) costs
no memory, and the draws follow the weights."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import torch

import ember
from ember.utils.data import DataLoader, RandomSampler, TensorDataset, WeightedRandomSampler

HUGE = int(1e10)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_random_sampler_with_replacement_is_lazy():
    data = range(100)
    s = RandomSampler(data, replacement=True, num_samples=HUGE)
    assert len(s) == HUGE == len(torch.utils.data.RandomSampler(data, True, HUGE))
    first = []
    peak = _peak_bytes(lambda: first.extend(itertools.islice(iter(s), 5)))
    assert len(first) == 5 and all(0 <= i < 100 for i in first)
    assert peak < 1 << 20  # an eager draw would need 80 GB


def test_weighted_sampler_with_replacement_is_lazy():
    s = WeightedRandomSampler([1.0, 2.0, 3.0], HUGE)
    first = []
    peak = _peak_bytes(lambda: first.extend(itertools.islice(iter(s), 7)))
    assert len(first) == 7 and set(first) <= {0, 1, 2}
    assert peak < 1 << 20


def test_dataloader_over_a_huge_sampler_yields_batches():
    ds = TensorDataset(ember.arange(10.0))
    loader = DataLoader(ds, batch_size=4, sampler=RandomSampler(ds, True, HUGE))
    batches = list(itertools.islice(iter(loader), 3))
    assert [b[0].shape for b in batches] == [ember.Size([4])] * 3


def test_chunked_draws_follow_the_weights():
    w = [0.0, 1.0, 0.0, 3.0, 6.0, 0.0]
    g = ember.Generator().manual_seed(0)
    draws = np.array(list(WeightedRandomSampler(w, 30_000, generator=g)))
    counts = np.bincount(draws, minlength=len(w))
    assert counts[[0, 2, 5]].sum() == 0  # zero weights are never drawn
    np.testing.assert_allclose(counts / counts.sum(), np.array(w) / 10, atol=0.01)


def test_random_sampler_draws_cover_uniformly_and_are_seeded():
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    a = list(RandomSampler(range(7), True, 3000, generator=g1))
    b = list(RandomSampler(range(7), True, 3000, generator=g2))
    assert a == b and len(a) == 3000  # a partial last chunk included (3000 = 2 * 1024 + 952)
    np.testing.assert_allclose(np.bincount(a) / 3000, np.full(7, 1 / 7), atol=0.03)


def test_weighted_without_replacement_unchanged():
    g = ember.Generator().manual_seed(1)
    draws = list(WeightedRandomSampler([1.0, 1.0, 0.0, 1.0], 3, replacement=False, generator=g))
    assert sorted(draws) == [0, 1, 3]
