"""The pooling family's backward formulas under ``create_graph=True``.

Every pooling gradient is linear in the incoming gradient ``g`` with a structure fixed by the
forward (which element won each max window, which windows overlap): on the graph it is one
recorded scatter-add (max pooling), a ``Fold`` (average pooling: each window spreads its
share evenly) or a gather (max unpooling). Their second derivative in the input is zero, as
in PyTorch; in ``g`` it is the same linear map. Inputs are GraphArrays
(docs/architecture.md, "Higher-order gradients").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .indexing import add_into_zeros

__all__ = ["scatter_planes", "gather_planes", "avg_pool_backward"]


def _plane_rows(ind: np.ndarray, xshape: tuple) -> tuple:
    nc = xshape[0] * xshape[1]
    flat = ind.reshape(nc, -1)
    return np.broadcast_to(np.arange(nc)[:, None], flat.shape), flat


def scatter_planes(g: Any, ind: np.ndarray, xshape: tuple) -> Any:
    """``g`` summed into ``(N, C, *S)`` at flat per-plane indices ``ind`` (recorded)."""
    rows, flat = _plane_rows(ind, xshape)
    plane = int(np.prod(xshape[2:], dtype=np.int64))
    nc = xshape[0] * xshape[1]
    return add_into_zeros((nc, plane), (rows, flat), g.reshape(flat.shape)).reshape(xshape)


def gather_planes(g: Any, ind: np.ndarray, xshape: tuple) -> Any:
    """``g``'s elements at flat per-plane indices ``ind``, shaped ``xshape`` (recorded)."""
    rows, flat = _plane_rows(ind, xshape)
    return g.reshape(rows.shape[0], -1)[rows, flat].reshape(xshape)


def avg_pool_backward(g: Any, div: Any, xshape: tuple, k: tuple, stride: tuple, pads: tuple):
    """Average pooling's input gradient: each window's ``g / div`` spread over its elements,
    a ``Fold`` of the repeated share, cropped to the unpadded input."""
    from .conv import Fold

    n, c = xshape[:2]
    kk = int(np.prod(k, dtype=np.int64))
    out = g.shape[2:]
    share = (g / div).reshape(n, c, 1, -1)
    cols = np.broadcast_to(share, (n, c, kk, share.shape[-1])).reshape(n, c * kk, -1)
    full = tuple(s + lo + hi for s, (lo, hi) in zip(xshape[2:], pads))
    ones = (1,) * len(k)
    gx = cols.apply(Fold, c, full, k, stride, (0,) * len(k), ones, out)
    crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(xshape[2:], pads))
    return gx[(slice(None), slice(None), *crop)]
