"""Max pooling with 3x3 windows at stride 2 and padding 1 (ResNet's stem pool), as two 1-D passes.

A window's maximum is the maximum over its rows of each row's 3-wide maximum, and its first
maximum in PyTorch's scan order (row, then column) is in the first row whose 3-wide maximum
equals the window's, at that row's first column equal to it. So the forward pass reduces the
columns (``cols (N, C, H, Wo)``) then the rows, and the backward pass sends the gradient back
through the rows, then the columns: each step compares the three candidates with the reduced
value (two comparisons: the third is "neither") and sends each value to the first hit.

Padding never enters: each candidate is a strided view of the real elements, clipped at the
borders, so no padded copy of the input is made and a window of -inf picks its first real
element as PyTorch does. Masks apply through integer views of the values (``bits * hit``):
exact values or +0.0, never -0.0, as PyTorch's sums onto zeros give; inf and NaN gradients stay
where they belong. Windows holding a NaN take the general path (PyTorch sends the gradient to
the NaN).

An element reached from several windows (up to four) gets their gradients added in PyTorch's
order, windows row by row: the gradient reaching the odd rows from the windows above is
spread over the columns first, then that from the windows below is added: the same bits.

Measured on (32, 64, 32, 32) float32 channels-last, one thread, against the 9-offset sweep
(load average 2-3.5): forward 3.9 -> 2.7 ms, forward + backward 15.4 -> ~10 ms (PyTorch
1.4-1.8 and 3.9-5.5 ms); NCHW 25 -> ~20 ms (PyTorch 16-19 ms).
"""

from __future__ import annotations

import numpy as np

from .._memory_format import channels_last, suggest_format
from .._scratch import scratch
from ._parallel import in_blocks, parallel_for

__all__ = ["fits", "max_forward", "max_backward"]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_BITS = {4: np.int32, 8: np.int64}
# Work proceeds in blocks of whole images of about this many input bytes, so that the ~20
# passes of the backward over a block find it in cache (one thread, (32, 64, 32, 32)
# channels-last: 5.6 ms in one block, 4.7 ms in blocks of 1-4 images).
_BLOCK_BYTES = 1 << 20


def fits(x: np.ndarray, k: tuple, stride: tuple, pads: tuple, dil: tuple, out: tuple) -> bool:
    """Whether ``x (N, C, H, W)`` is pooled by 3x3 windows at stride 2 with one element of
    padding before each dim and the usual output size (no window centred on a pad)."""
    return (
        k == (3, 3)
        and stride == (2, 2)
        and dil == (1, 1)
        and all(lo == 1 for lo, _ in pads)
        and x.ndim == 4
        and x.dtype in _DTYPES
        and x.size > 0
        and all(o == (s - 1) // 2 + 1 for s, o in zip(x.shape[2:], out))
    )


def _along(a: np.ndarray, axis: int, index) -> np.ndarray:
    return a[(slice(None),) * axis + (index,)]


def _reduce(src: np.ndarray, out: np.ndarray, axis: int) -> None:
    """``out[o] = max(src[2o-1], src[2o], src[2o+1])`` along ``axis`` over the real elements."""
    n_out, n_src = out.shape[axis], src.shape[axis]
    nr = n_src // 2  # windows with a real right element
    centre = _along(src, axis, slice(0, None, 2))
    np.maximum(
        _along(centre, axis, slice(0, nr)),
        _along(src, axis, slice(1, None, 2)),
        out=_along(out, axis, slice(0, nr)),
    )
    if nr < n_out:
        np.copyto(_along(out, axis, slice(nr, None)), _along(centre, axis, slice(nr, None)))
    if n_out > 1:
        rest = _along(out, axis, slice(1, None))
        np.maximum(rest, _along(src, axis, slice(1, 2 * n_out - 2, 2)), out=rest)


def _masks(red: np.ndarray, src: np.ndarray, axis: int) -> tuple:
    """Which candidate of each window of ``red = _reduce(src)`` along ``axis`` is its first
    maximum: ``(centre[o], left[o - 1], right[o])`` booleans (``src[2o]``, ``src[2o - 1]`` for
    o >= 1, ``src[2o + 1]``; exactly one is set per window)."""
    n_out = red.shape[axis]
    centre = _along(src, axis, slice(0, None, 2)) == red
    left = _along(src, axis, slice(1, 2 * n_out - 2, 2)) == _along(red, axis, slice(1, None))
    later = _along(centre, axis, slice(1, None))
    np.greater(later, left, out=later)
    right = np.logical_not(centre)  # neither earlier candidate
    if n_out > 1:
        tail = _along(right, axis, slice(1, None))
        np.greater(tail, left, out=tail)
    return centre, left, right


def _rows(masks: tuple, index) -> tuple:
    """Column masks (windows along W) of the input rows ``index`` picks."""
    return tuple(_along(k, 2, index) for k in masks)


def _parts(v: np.ndarray, masks: tuple, n_src: int, axis: int, out: tuple = (None, None)) -> tuple:
    """The gradient ``v`` of each window as it reaches its centre, right and left candidates:
    ``v * centre`` (for ``src[2o]``), ``v[o] * right[o]`` (``src[2o + 1]``, o < n_src // 2)
    and ``v[o + 1] * left[o]`` (``src[2o + 1]`` as the next window's left element); exact
    values or +0.0 (the masks apply through integer views). The first two go into ``out``'s
    arrays when given."""
    centre, left, right = masks
    n_out = v.shape[axis]
    nr = n_src // 2
    m = min(nr, n_out - 1)
    bits = _BITS[v.itemsize]
    vb = v.view(bits)
    oc, orr = (None if o is None else o.view(bits) for o in out)
    c = np.multiply(vb, centre, out=oc)
    r = np.multiply(_along(vb, axis, slice(0, nr)), _along(right, axis, slice(0, nr)), out=orr)
    n = np.multiply(_along(vb, axis, slice(1, m + 1)), _along(left, axis, slice(0, m)))
    return c.view(v.dtype), r.view(v.dtype), n.view(v.dtype)


def _scatter(v: np.ndarray, masks: tuple, gx: np.ndarray, axis: int, add: bool) -> None:
    """``v``'s parts written (or, if ``add``, added) into ``gx`` (shaped as the source along
    ``axis``): into an element reached from two windows the earlier one's part goes first."""
    even = _along(gx, axis, slice(0, None, 2))
    odd = _along(gx, axis, slice(1, None, 2))
    if add:
        c, r, n = _parts(v, masks, gx.shape[axis], axis)
        np.add(even, c, out=even)
        np.add(odd, r, out=odd)
    else:  # (the products straight into place)
        _, _, n = _parts(v, masks, gx.shape[axis], axis, (even, odd))
    head = _along(odd, axis, slice(0, n.shape[axis]))
    np.add(head, n, out=head)


def _like(x: np.ndarray, shape: tuple) -> np.ndarray:
    """A pooled ``(N, C, h, w)`` buffer in the memory format PyTorch reads from ``x``'s strides
    (NCHW or channels-last)."""
    if suggest_format(x) is channels_last:
        n, c, h, w = shape
        return np.moveaxis(scratch.get((n, h, w, c), x.dtype), -1, 1)
    return scratch.get(shape, x.dtype)


def max_forward(x: np.ndarray, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The window maxima ``(N, C, Ho, Wo)`` and the column maxima ``(N, C, H, Wo)`` the
    backward pass reads, both in ``x``'s memory layout (NaN propagates)."""
    n, c, h, _ = x.shape
    cols = _like(x, (n, c, h, out[1]))
    res = _like(x, (n, c, *out))

    def block(a: int, b: int) -> None:
        _reduce(x[a:b], cols[a:b], 3)
        _reduce(cols[a:b], res[a:b], 2)

    run = in_blocks(block, x.nbytes // n, _BLOCK_BYTES)
    parallel_for(run, n, 3 * x.size // 2, block.__code__, whole=True)
    return res, cols


def max_backward(x: np.ndarray, cols: np.ndarray, res: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g`` sent to each window's first maximum (no NaN in ``res``), shaped and laid out as
    ``x``; elements that are no window's first maximum get +0.0."""
    n = x.shape[0]
    gx = _like(x, x.shape)
    zero = g.dtype.type(0)

    def block(a: int, b: int) -> None:
        v = np.add(g[a:b], zero)  # (0 + g: a -0.0 gradient gives +0.0, as PyTorch's sums)
        xa, ca, ga = x[a:b], cols[a:b], gx[a:b]
        h = xa.shape[2]
        # Rows: each window's gradient reaching its centre row (2o), its bottom row (2o + 1)
        # and, from the window below, that same row as its top one.
        centre, bottom, below = _parts(v, _masks(res[a:b], ca, 2), h, 2)
        # Columns, in PyTorch's order for an element reached from several windows (windows
        # row by row): the even rows (one window row each), then the odd rows from the
        # windows above, then from those below.
        masks = _masks(ca, xa, 3)
        even, odd = slice(0, None, 2), slice(1, None, 2)
        _scatter(centre, _rows(masks, even), _along(ga, 2, even), 3, add=False)
        if h > 1:
            gx_odd = _along(ga, 2, odd)
            _scatter(bottom, _rows(masks, odd), gx_odd, 3, add=False)
            m = below.shape[2]
            top_rows = _rows(masks, slice(1, 2 * m, 2))
            _scatter(below, top_rows, _along(gx_odd, 2, slice(0, m)), 3, add=True)

    parallel_for(
        in_blocks(block, x.nbytes // n, _BLOCK_BYTES), n, 10 * x.size, block.__code__, whole=True
    )
    return gx
