"""``DataLoader``: batches from a dataset through a sampler and a collate function, optionally
prefetched by a pool of worker threads."""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._random import Generator, rng
from ..._tensor import _wrap
from ._collate import default_collate, default_convert
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker thread."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_local = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the calling worker thread, or None in the main thread."""
    return getattr(_worker_local, "info", None)


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch (default 1); None disables automatic batching.
        shuffle: reshuffle the indices at every epoch (map-style datasets only).
        sampler: the index order (exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (exclusive with batch_size, shuffle,
            sampler and drop_last).
        num_workers: 0 loads in the main thread; n > 0 prefetches batches with n worker threads
            (batches still come out in sampler order). See docs/differences.md.
        collate_fn: merges a list of samples into a batch (default ``default_collate``).
        pin_memory, timeout, worker_init_fn, multiprocessing_context, prefetch_factor,
        persistent_workers, pin_memory_device, in_order: accepted as PyTorch; ``timeout`` bounds
            the wait for a worker's batch, ``worker_init_fn(worker_id)`` runs in each worker.
        drop_last: drop the last incomplete batch.
        generator: the ``ember.Generator`` used by the ``RandomSampler`` behind ``shuffle``.

    >>> import ember
    >>> from ember.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(ember.arange(10.0).view(5, 2), ember.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader), [y.tolist() for _, y in loader]
    (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Any = None,
        batch_sampler: Sampler | Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        prefetch_factor = _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            _check_iterable_options(shuffle, sampler, batch_sampler)
        else:
            shuffle = bool(shuffle)
        batch_size, drop_last = _check_batching(
            batch_size, shuffle, sampler, batch_sampler, drop_last
        )
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.__initialized = True

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__dict__.get("_DataLoader__initialized") and attr in _FROZEN:
            raise ValueError(
                f"{attr} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __iter__(self) -> _LoaderIter:
        if self.pin_memory:
            _warn_pin_memory(self.pin_memory_device)
        if self._is_iterable:
            batches = self._iterable_batches()
        else:
            fetch = self._fetch_fn
            batches = (fetch(idx) for idx in self._index_sampler)
        if self.num_workers > 0:
            batches = self._prefetch(batches if self._is_iterable else None)
        return _LoaderIter(self, batches)

    # ---- fetching -----------------------------------------------------------------------
    @property
    def _fetch_fn(self) -> Callable[[Any], Any]:
        ds = self.dataset
        collate = self.collate_fn
        if not self._auto_collation:
            return lambda i: collate(ds[i])
        if (
            collate is default_collate
            and type(ds) is TensorDataset
            and not any(t._rg for t in ds.tensors)
        ):
            # Fast path: one fancy-index per tensor gives exactly what stacking the samples
            # would, without building len(batch) sample tuples.
            arrays = [t._data for t in ds.tensors]
            n = len(ds)

            def fetch_tensors(idx: list) -> list:
                ix = np.asarray(idx, dtype=np.int64)
                if ix.size and (ix.max() >= n or ix.min() < -n):
                    bad = next(i for i in idx if not -n <= i < n)
                    raise IndexError(f"index {bad} is out of bounds for dimension 0 with size {n}")
                return [_wrap(a[ix]) for a in arrays]

            return fetch_tensors
        getitems = getattr(ds, "__getitems__", None)
        if callable(getitems):
            return lambda idx: collate(getitems(idx))
        return lambda idx: collate([ds[i] for i in idx])

    def _iterable_batches(self) -> Iterator[Any]:
        collate = self.collate_fn
        if not self._auto_collation:
            for item in self.dataset:
                yield collate(item)
            return
        size = self.batch_size
        batch: list = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    # ---- worker threads ---------------------------------------------------------------------
    def _prefetch(self, iterable_batches: Iterator[Any] | None) -> Iterator[Any]:
        """Run fetches in a thread pool, keeping ``prefetch_factor * num_workers`` batches in
        flight and yielding them in order. NumPy releases the GIL in copies and BLAS, and
        dataset code that reads files releases it in I/O, so threads overlap useful work."""
        n = self.num_workers
        ids = iter(range(n))
        lock = threading.Lock()
        base_seed = int(rng(self.generator).integers(0, 2**62))
        ds, init_fn = self.dataset, self.worker_init_fn

        def init_worker() -> None:
            with lock:
                wid = next(ids)
            _worker_local.info = WorkerInfo(wid, n, base_seed + wid, ds)
            if init_fn is not None:
                init_fn(wid)

        timeout = self.timeout or None
        depth = max(1, (self.prefetch_factor or 2) * n)
        pool = concurrent.futures.ThreadPoolExecutor(n, initializer=init_worker)
        try:
            if iterable_batches is not None:
                # An iterable dataset is one stream: a single worker thread produces it ahead
                # of the consumer (PyTorch would replicate it into every worker process).
                it = iterable_batches
                sentinel = object()

                def next_batch() -> Any:
                    return next(it, sentinel)

                pending = collections.deque(pool.submit(next_batch) for _ in range(1))
                while True:
                    batch = self._result(pending.popleft(), timeout)
                    if batch is sentinel:
                        return
                    pending.append(pool.submit(next_batch))
                    yield batch
            fetch = self._fetch_fn
            indices = iter(self._index_sampler)
            pending = collections.deque()
            for idx in indices:
                pending.append(pool.submit(fetch, idx))
                if len(pending) >= depth:
                    break
            done = object()
            while pending:
                batch = self._result(pending.popleft(), timeout)
                nxt = next(indices, done)
                if nxt is not done:
                    pending.append(pool.submit(fetch, nxt))
                yield batch
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _result(future: concurrent.futures.Future, timeout: float | None) -> Any:
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None


def _warn_pin_memory(device: str) -> None:
    """PyTorch's warnings when an iterator starts with ``pin_memory=True`` on a machine without
    an accelerator (ember never has one): pinning is skipped, as in PyTorch on such a machine."""
    if device:
        warnings.warn(
            "pin_memory_device is deprecated, the current accelerator will be used as the "
            f"device,ignore pin_memory_device='{device}'.",
            stacklevel=3,
        )
    warnings.warn(
        "'pin_memory' argument is set as true but no accelerator is found, "
        "then device pinned memory won't be used.",
        stacklevel=3,
    )


class _LoaderIter:
    """One pass over a DataLoader: an iterator that also has ``len()``."""

    def __init__(self, loader: DataLoader, batches: Iterator[Any]) -> None:
        self._loader = loader
        self._batches = batches

    def __iter__(self) -> _LoaderIter:
        return self

    def __next__(self) -> Any:
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an IterableDataset (it yields None forever)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def _check_workers(
    num_workers: int, timeout: float, prefetch_factor: int | None, persistent_workers: bool
) -> int | None:
    """PyTorch's checks of the worker options; returns ``prefetch_factor`` with its default."""
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing.let "
            "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _check_iterable_options(shuffle: bool | None, sampler: Any, batch_sampler: Any) -> None:
    """An IterableDataset chooses its own order: no shuffle, sampler or batch_sampler."""
    if shuffle not in {False, None}:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified shuffle option, but "
            f"got shuffle={shuffle}"
        )
    if sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified sampler option, but "
            f"got sampler={sampler}"
        )
    if batch_sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified batch_sampler "
            f"option, but got batch_sampler={batch_sampler}"
        )


def _check_batching(
    batch_size: int | None, shuffle: bool | None, sampler: Any, batch_sampler: Any, drop_last: bool
) -> tuple:
    """The sampling options that exclude each other; returns ``(batch_size, drop_last)`` as a
    ``batch_sampler`` leaves them (None and False)."""
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                "sampler, and drop_last"
            )
        return None, False
    if batch_size is None and drop_last:
        raise ValueError(
            "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
        )
    return batch_size, drop_last
