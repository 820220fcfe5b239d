"""A pool of big scratch arrays reused across training steps.

Freshly allocated big arrays cost page faults every step (the largest single cost measured
before pooling, see docs/performance.md, item 3). Conv, pooling and ReLU take their
large outputs and temporaries from here.
"""

from __future__ import annotations

import sys
import threading
from math import prod

import numpy as np

__all__ = ["scratch", "SCRATCH_MIN_BYTES"]


# Scratch arrays smaller than this are plain allocations (small blocks are cheap for malloc).
SCRATCH_MIN_BYTES = 1 << 18
# The pool forgets its least recently used arrays beyond these limits.
_SCRATCH_MAX = 32
_SCRATCH_MAX_BYTES = 512 << 20


class _ScratchPool:
    """Reuses big scratch arrays across training steps (freshly allocated big arrays cost page
    faults every step: the largest single cost measured before pooling).

    An array is handed out again only when nothing but the pool refers to it (no saved tensor,
    no view, no output still alive): ``sys.getrefcount`` sees every NumPy view through its
    ``base`` reference, so reuse is safe. ``clear()`` drops every pooled array.
    """

    def __init__(self) -> None:
        self._arrays: list[np.ndarray] = []
        self._lock = threading.Lock()  # DataLoader threads may run convolutions concurrently

    def get(self, shape: tuple, dtype: np.dtype, zero: bool = False) -> np.ndarray:
        """An array of ``shape`` and ``dtype`` (zero-filled when asked) that nobody else holds."""
        dtype = np.dtype(dtype)
        n = prod(shape) * dtype.itemsize
        if n < SCRATCH_MIN_BYTES:
            return np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
        with self._lock:
            a = self._take(n)
        out = a.view(dtype).reshape(shape)
        if zero:
            out.fill(0)
        return out

    def like(self, a: np.ndarray, dtype=None) -> np.ndarray:
        """An uninitialised array shaped as ``a`` with ``a``'s memory order (axes sorted by
        stride: a channels-last view gives a channels-last array), pooled when big."""
        dtype = a.dtype if dtype is None else np.dtype(dtype)
        if a.flags.c_contiguous or a.ndim < 2:
            return self.get(a.shape, dtype)
        order = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))
        buf = self.get(tuple(a.shape[i] for i in order), dtype)
        return buf.transpose(np.argsort(order))

    def _take(self, n: int) -> np.ndarray:
        arrays = self._arrays
        for i in range(len(arrays)):
            a = arrays[i]
            # refcount 3: the list, the local ``a`` and getrefcount's own argument.
            if a.nbytes == n and sys.getrefcount(a) <= 3:
                del arrays[i]
                arrays.append(a)  # most recently used last
                return a
        a = np.empty(n, np.uint8)
        arrays.append(a)
        total = sum(x.nbytes for x in arrays)
        while len(arrays) > 1 and (len(arrays) > _SCRATCH_MAX or total > _SCRATCH_MAX_BYTES):
            total -= arrays.pop(0).nbytes
        return a

    def clear(self) -> None:
        """Forget every pooled array (memory is freed once no tensor uses it)."""
        with self._lock:
            self._arrays.clear()


scratch = _ScratchPool()
