"""Datasets and samplers: behaviour and errors as torch.utils.data."""

from __future__ import annotations

import contextlib
from collections import Counter

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
from ember.utils import data as edata


def _gen(seed):
    return ember.Generator().manual_seed(seed)


def test_tensor_dataset():
    x = ember.arange(12.0).view(4, 3)
    y = ember.tensor([0, 1, 0, 1])
    ds = edata.TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6, 7, 8])
    assert yi.item() == 0
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        edata.TensorDataset(x, ember.zeros(3))
    with pytest.raises(AssertionError):
        tdata.TensorDataset(torch.zeros(4), torch.zeros(3))


def test_concat_and_subset_match_torch():
    a, b = list(range(3)), list(range(10, 15))
    e = edata.ConcatDataset([a, b])
    t = tdata.ConcatDataset([a, b])
    assert len(e) == len(t) == 8 and e.cumulative_sizes == t.cumulative_sizes
    assert [e[i] for i in range(-8, 8)] == [t[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        e[-9]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        edata.ConcatDataset([])
    s = edata.Subset(e, [7, 0, 3])
    assert len(s) == 3 and [s[i] for i in range(3)] == [14, 0, 10]
    assert s.__getitems__([0, 2]) == [14, 10]

    class Base(edata.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i

    both = Base() + Base()
    assert isinstance(both, edata.ConcatDataset) and len(both) == 4
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        edata.Dataset()[0]


def test_iterable_and_chain_dataset():
    class Stream(edata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    chained = Stream(2) + Stream(3)
    assert isinstance(chained, edata.ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2]


@pytest.mark.parametrize("lengths", [[3, 7], [0.7, 0.3], [0.34, 0.33, 0.33], [0.5, 0.5, 0.0], [10]])
def test_random_split_sizes_match_torch(lengths):
    ds = list(range(10))

    def ctx():
        if 0.0 in lengths:
            return pytest.warns(UserWarning, match="Length of split at index 2 is 0")
        return contextlib.nullcontext()

    with ctx():
        e = edata.random_split(ds, lengths, generator=_gen(1))
    with ctx():
        t = tdata.random_split(ds, lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in e] == [len(s) for s in t]
    assert sorted(i for s in e for i in s) == ds


def test_random_split_reproducible_and_errors():
    ds = range(20)
    a = [list(s) for s in edata.random_split(ds, [5, 15], generator=_gen(3))]
    b = [list(s) for s in edata.random_split(ds, [5, 15], generator=_gen(3))]
    c = [list(s) for s in edata.random_split(ds, [5, 15], generator=_gen(4))]
    assert a == b and a != c
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        edata.random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        tdata.random_split(ds, [5, 5])


def test_sequential_and_random_sampler():
    assert list(edata.SequentialSampler(range(4))) == [0, 1, 2, 3]
    s = edata.RandomSampler(range(10), generator=_gen(0))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(10)) and first != second  # a new order each epoch
    assert list(edata.RandomSampler(range(10), generator=_gen(0))) == first
    long = list(edata.RandomSampler(range(4), num_samples=10, generator=_gen(0)))
    assert len(long) == 10 and Counter(long[:8]) == Counter(list(range(4)) * 2)
    rep = edata.RandomSampler(range(3), replacement=True, num_samples=50, generator=_gen(0))
    drawn = list(rep)
    assert len(rep) == 50 and len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    ember.manual_seed(5)
    x = list(edata.RandomSampler(range(10)))
    ember.manual_seed(5)
    assert list(edata.RandomSampler(range(10))) == x  # the default generator drives it
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        edata.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        edata.RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        tdata.RandomSampler(range(3), num_samples=0)


def test_subset_and_weighted_samplers():
    s = edata.SubsetRandomSampler([5, 9, 2], generator=_gen(0))
    assert sorted(s) == [2, 5, 9] and len(s) == 3
    w = edata.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, generator=_gen(0))
    counts = Counter(w)
    assert counts[0] == 0 and 0.7 < counts[2] / 4000 < 0.8 and len(w) == 4000
    nr = list(edata.WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False, generator=_gen(0)))
    assert sorted(nr) == [0, 1, 2]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        edata.WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        tdata.WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        edata.WeightedRandomSampler([1.0], 0)


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    e = edata.BatchSampler(edata.SequentialSampler(range(n)), bs, drop)
    t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
    assert list(e) == list(t) and len(e) == len(t)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        edata.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        edata.BatchSampler(range(3), 2, 1)
