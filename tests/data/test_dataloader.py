"""DataLoader: batching, shuffling, drop_last, collation, workers and errors, against torch."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
from ember.utils import data as edata
from tests.data.test_collate import _same


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 3
    return x, y


def _loaders(n=10, **kw):
    x, y = _xy(n)
    e = edata.DataLoader(edata.TensorDataset(ember.tensor(x), ember.tensor(y)), **kw)
    t = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), **kw)
    return e, t


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"batch_size": 4},
        {"batch_size": 4, "drop_last": True},
        {"batch_size": 5, "drop_last": True},
        {"batch_size": 20},
        {"batch_size": None},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults",
)
def test_batches_and_len_match_torch(kw):
    e, t = _loaders(**kw)
    assert len(e) == len(t) == len(iter(e)) == len(iter(t))
    e_batches, t_batches = list(e), list(t)
    assert len(e_batches) == len(t_batches) == len(e)
    for a, b in zip(e_batches, t_batches):
        _same(a, b)


class _Dicts(edata.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "label": i % 2, "name": f"item{i}"}


class _TDicts(tdata.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "label": i % 2, "name": f"item{i}"}


def test_map_style_dataset_collation_matches_torch():
    for kw in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}):
        e = list(edata.DataLoader(_Dicts(), **kw))
        t = list(tdata.DataLoader(_TDicts(), **kw))
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)


def test_shuffle_with_seeded_generator():
    def order(seed, epochs=2):
        x, y = _xy(20)
        ds = edata.TensorDataset(ember.tensor(x), ember.tensor(y))
        loader = edata.DataLoader(
            ds, batch_size=6, shuffle=True, generator=ember.Generator().manual_seed(seed)
        )
        # x[i, 0] == 3 * i, so the first column gives back each sample's index
        return [[int(v) // 3 for b in loader for v in b[0][:, 0].tolist()] for _ in range(epochs)]

    a, b, c = order(0), order(0), order(1)
    assert a == b  # same seed, same order (epoch after epoch)
    assert a != c
    assert a[0] != a[1]  # each epoch reshuffles
    for epoch in a:
        assert sorted(epoch) == list(range(20))
    ember.manual_seed(7)
    x, y = _xy(20)
    ds = edata.TensorDataset(ember.tensor(x), ember.tensor(y))
    first = [b[1].tolist() for b in edata.DataLoader(ds, batch_size=5, shuffle=True)]
    ember.manual_seed(7)
    assert [b[1].tolist() for b in edata.DataLoader(ds, batch_size=5, shuffle=True)] == first


def test_sampler_batch_sampler_and_custom_collate():
    x, y = _xy(10)
    ds = edata.TensorDataset(ember.tensor(x), ember.tensor(y))
    batches = list(edata.DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 0]))
    assert [b[0][:, 0].tolist() for b in batches] == [[27.0, 24.0, 21.0], [0.0]]
    bs = list(edata.DataLoader(ds, batch_sampler=[[1, 2], [5]]))
    assert [b[1].tolist() for b in bs] == [[1, 2], [2]]
    summed = list(edata.DataLoader(ds, batch_size=4, collate_fn=lambda s: len(s)))
    assert summed == [4, 4, 2]


class _Stream(edata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(np.float32(i) for i in range(self.n))

    def __len__(self):
        return self.n


class _TStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(np.float32(i) for i in range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize(
    "kw", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_dataset_matches_torch(kw):
    e = edata.DataLoader(_Stream(8), **kw)
    t = tdata.DataLoader(_TStream(8), **kw)
    assert len(e) == len(t)
    for a, b in zip(list(e), list(t), strict=True):
        _same(a, b)
    threaded = list(edata.DataLoader(_Stream(8), num_workers=2, **kw))
    for a, b in zip(threaded, list(t), strict=True):
        _same(a, b)


@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")  # (tested elsewhere)
@pytest.mark.parametrize("workers", [1, 3])
def test_worker_threads_give_the_same_batches_in_order(workers):
    seen = []
    lock = threading.Lock()

    def init(wid):
        with lock:
            seen.append((wid, edata.get_worker_info().num_workers))

    class Slow(edata.Dataset):
        def __len__(self):
            return 23

        def __getitem__(self, i):
            info = edata.get_worker_info()
            assert info is not None and 0 <= info.id < workers
            return np.float32(i)

    out = list(
        edata.DataLoader(
            Slow(),
            batch_size=4,
            num_workers=workers,
            worker_init_fn=init,
            timeout=30,
            prefetch_factor=3,
            persistent_workers=True,
            pin_memory=True,
        )
    )
    assert [b.tolist() for b in out] == [
        [float(v) for v in range(i, min(i + 4, 23))] for i in range(0, 23, 4)
    ]
    assert sorted(seen) == [(i, workers) for i in range(len(seen))] and len(seen) >= 1
    assert edata.get_worker_info() is None


def test_worker_errors_propagate():
    class Bad(edata.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise KeyError(f"bad key {i}")

    with pytest.raises(KeyError, match="bad key 0"):
        list(edata.DataLoader(Bad(), batch_size=2, num_workers=2))


def test_tensor_dataset_index_error():
    x, y = _xy(4)
    ds = edata.TensorDataset(ember.tensor(x), ember.tensor(y))
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 4"):
        list(edata.DataLoader(ds, sampler=[0, 9], batch_size=2))


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"num_workers": -1}, "num_workers option should be non-negative"),
        ({"timeout": -1}, "timeout option should be non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
        ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
        ({"batch_size": 0}, "batch_size should be a positive integer value"),
    ],
)
def test_dataloader_errors_match_torch(kw, msg):
    e_ds = edata.TensorDataset(ember.zeros(4))
    t_ds = tdata.TensorDataset(torch.zeros(4))
    with pytest.raises(ValueError, match=msg):
        edata.DataLoader(e_ds, **kw)
    with pytest.raises(ValueError, match=msg):
        tdata.DataLoader(t_ds, **kw)


def test_iterable_dataset_option_errors_and_frozen_attributes():
    with pytest.raises(
        ValueError, match="expected unspecified shuffle option, but got shuffle=True"
    ):
        edata.DataLoader(_Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        edata.DataLoader(_Stream(3), sampler=[0])
    loader = edata.DataLoader(edata.TensorDataset(ember.zeros(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after"):
        loader.batch_size = 3
    loader.num_workers = 1  # allowed, as in torch
    assert len(list(loader)) == 2


def _iter_warnings(loader):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(loader)
    return [str(w.message) for w in caught], batches


@pytest.mark.parametrize(
    "kw",
    [{"pin_memory": True}, {"pin_memory": False}, {"pin_memory": True, "pin_memory_device": "cpu"}],
    ids=["pin", "no-pin", "pin-device"],
)
def test_pin_memory_warns_as_torch_without_accelerator(kw):
    e, t = _loaders(batch_size=4, **kw)
    e_msgs, e_batches = _iter_warnings(e)
    t_msgs, t_batches = _iter_warnings(t)
    assert e_msgs == t_msgs
    assert len(e_msgs) == kw["pin_memory"] + bool(kw.get("pin_memory_device"))
    assert len(e_batches) == len(t_batches) == 3
    for eb, tb in zip(e_batches, t_batches):
        _same(eb, tb)
