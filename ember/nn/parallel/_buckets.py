"""Gradient buckets: which parameters share one flat buffer and one all-reduce.

As PyTorch's ``compute_bucket_assignment_by_size``: parameters in reverse registration order
(gradients of the last layers are ready first), one dtype per bucket, a bucket closed once it
holds at least its byte limit (the first limit may be smaller, so communication starts early),
buckets ordered by their first parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["assign_buckets", "Bucket"]


def assign_buckets(sizes: Sequence[int], dtypes: Sequence[np.dtype], limits: Sequence[int]) -> list:
    """Indices into the parameter list, grouped into buckets (lists of indices).

    ``sizes`` are byte sizes in the order to bucket (already reversed); ``limits`` the byte caps
    of the first buckets of each dtype, the last one repeating.
    """
    open_: dict = {}  # dtype -> (indices, bytes, number of buckets closed so far)
    done: list = []
    for i, (size, dt) in enumerate(zip(sizes, dtypes)):
        idx, total, closed = open_.get(dt, ([], 0, 0))
        idx.append(i)
        total += size
        if total >= limits[min(closed, len(limits) - 1)]:
            done.append(idx)
            idx, total, closed = [], 0, closed + 1
        open_[dt] = (idx, total, closed)
    done += [idx for idx, _, _ in open_.values() if idx]
    return sorted(done, key=lambda b: b[0])


def _reduce_dtype(dt: np.dtype) -> np.dtype:
    # MPI has no portable half-precision sum: float16 gradients are reduced in float32.
    return np.dtype(np.float32) if dt == np.float16 else dt


class Bucket:
    """One flat buffer holding the gradients of ``params`` back to back (``slots`` are views)."""

    def __init__(self, params: list, index: list[int]) -> None:
        self.params = params
        self.index = index  # position of each parameter in the reducer's list
        dt = _reduce_dtype(params[0]._data.dtype)
        total = sum(p._data.size for p in params)
        self.buffer = np.zeros(total, dt)
        self.slots = []
        off = 0
        for p in params:
            n = p._data.size
            self.slots.append(self.buffer[off : off + n].reshape(p._data.shape))
            off += n
        self.pending = len(params)
        self.request = None

    @property
    def nbytes(self) -> int:
        return self.buffer.nbytes
