"""im2col (windows of an image copied into a column matrix) and col2im (columns summed back).

Three column layouts, all for a ``ConvGeometry`` ``geo`` with ``G`` groups of ``Cg`` channels,
``K = prod(k)`` kernel taps and ``P = prod(out)`` output positions per image:

- channels-last, ``im2col_cl``: padded image ``(N, *Sp, C)`` (channels innermost) -> columns
  ``(G, N*P, K*Cg)``: row ``(n, *o)``, column ``(*j, cg)``. The window view has shape
  ``(G, N, *out, *k, Cg)`` and strides ``(Cg*sC, sN, *(s_i*stride_i), *(s_i*dil_i), sC)``, so
  each copied run is ``Cg`` contiguous floats. For many channels; a GEMM with ``(K*Cg, OCg)``
  weights then yields channels-last output rows.
- K-major, ``im2col_km``: padded image ``(N, C, *Sp)`` -> columns ``(G, Cg*K, N*P)``: row
  ``(cg, *j)``, column ``(n, *o)``. The window view ``(G, Cg, *k, N, *out)`` has strides
  ``(Cg*sC, sC, *(s_i*dil_i), sN, *(s_i*stride_i))``: each copied run is an output row. For few
  channels; the rows are those of the ``(OC, Cg*K)`` weight as stored.
- unfold, ``unfold``: image ``(N, C, *S)`` -> ``(N, C*K, P)`` (``F.unfold``'s layout): the
  window view ``(N, C, *k, *out)`` with strides ``(sN, sC, *(s_i*dil_i), *(s_i*stride_i))``.

col2im is the adjoint of each: a loop over the ``K`` kernel offsets, each adding a strided block
of columns onto the image (positions that fall into the padding are dropped, see
``_offset_plan``). Big passes are cut by image across cores (``parallel_for``).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._scratch import scratch
from ._conv_geometry import CHANNELS_LAST_MIN, ConvGeometry
from ._parallel import copy_into, parallel_for

__all__ = [
    "strided_view",
    "pad_channels_last",
    "pad_channels_first",
    "im2col_cl",
    "im2col_km",
    "unfold",
    "col2im_cl",
    "col2im_km",
    "fold",
]


def strided_view(a: np.ndarray, shape: tuple, strides: tuple, writeable: bool = False):
    """``as_strided(a, shape, strides)``, cheaply: NumPy's ``as_strided`` costs ~10-18 us a call
    (it builds its view through ``__array_interface__``), ``np.ndarray`` on a contiguous
    buffer ~1-2 us, and a tiled convolution makes several views per tile. The view must stay
    inside ``a``'s memory (``np.ndarray`` checks it)."""
    if not a.flags.c_contiguous or (writeable and not a.flags.writeable):
        return as_strided(a, shape, strides, writeable=writeable)
    view = np.ndarray(shape, a.dtype, a, 0, strides)
    if not writeable:
        view.flags.writeable = False
    return view


def _inner(geo: ConvGeometry, lead: int) -> tuple:
    """Index of the unpadded image inside a padded one (``lead`` axes before the spatial)."""
    return (slice(None),) * lead + tuple(slice(a, a + s) for a, s in zip(geo.lo, geo.size))


def pad_channels_last(xl: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Zero-pad the spatial dims of a channels-last ``(N, *S, C)`` array (a pooled buffer)."""
    if not geo.has_padding:
        return xl
    x_pad = scratch.get((xl.shape[0], *geo.padded, xl.shape[-1]), xl.dtype)
    inner = _inner(geo, 1)

    def run(a: int, b: int) -> None:  # one batch chunk: zero it, then copy the images in
        x_pad[a:b].fill(0)
        x_pad[a:b][inner] = xl[a:b]

    parallel_for(run, xl.shape[0], x_pad.size, whole=True)  # (copies)
    return x_pad


def pad_channels_first(x: np.ndarray, geo: ConvGeometry, pooled: bool = True) -> np.ndarray:
    """Zero-pad the spatial dims of ``(N, C, *S)`` (a pooled buffer unless ``pooled=False``)."""
    if not geo.has_padding:
        return x
    shape = (*x.shape[:2], *geo.padded)
    x_pad = scratch.get(shape, x.dtype, zero=True) if pooled else np.zeros(shape, x.dtype)
    x_pad[_inner(geo, 2)] = x
    return x_pad


def _window_strides(st: tuple, first: int, geo: ConvGeometry) -> tuple:
    """Per spatial dim, the strides of the output-position and kernel-offset window axes for an
    image whose spatial axes start at ``first`` and have strides ``st``."""
    sp = st[first : first + geo.sd]
    return (
        tuple(s * t for s, t in zip(sp, geo.stride)),
        tuple(s * d for s, d in zip(sp, geo.dilation)),
    )


def im2col_cl(x_pad: np.ndarray, geo: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """Channels-last columns ``(G, N*P, K*Cg)`` of ``x_pad (N, *Sp, C)`` (into ``out`` if given,
    else a pooled buffer)."""
    n, c = x_pad.shape[0], x_pad.shape[-1]
    g = geo.groups
    cg = c // g
    st = x_pad.strides
    o_st, k_st = _window_strides(st, 1, geo)
    shape = (g, n, *geo.out, *geo.k, cg)
    win = strided_view(x_pad, shape, (st[-1] * cg, st[0], *o_st, *k_st, st[-1]))
    if out is None:
        out = scratch.get((g, n * geo.positions, geo.taps * cg), x_pad.dtype)
    copy_into(np.reshape(out, shape, copy=False), win, 1)  # split by image
    return out


def im2col_km(x_pad: np.ndarray, geo: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """K-major columns ``(G, Cg*K, N*P)`` of ``x_pad (N, C, *Sp)`` (into ``out`` if given, which
    may be a column slice of a bigger matrix, else a pooled buffer)."""
    n, c = x_pad.shape[:2]
    g = geo.groups
    cg = c // g
    st = x_pad.strides
    o_st, k_st = _window_strides(st, 2, geo)
    shape = (g, cg, *geo.k, n, *geo.out)
    win = strided_view(x_pad, shape, (st[1] * cg, st[1], *k_st, st[0], *o_st))
    if out is None:
        out = scratch.get((g, cg * geo.taps, n * geo.positions), x_pad.dtype)
    copy_into(np.reshape(out, shape, copy=False), win, 2 + geo.sd)  # split by image
    return out


def unfold(x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``F.unfold``: ``(N, C, *S) -> (N, C*K, P)``, a fresh array."""
    x_pad = pad_channels_first(x, geo)
    n, c = x.shape[:2]
    st = x_pad.strides
    o_st, k_st = _window_strides(st, 2, geo)
    shape = (n, c, *geo.k, *geo.out)
    win = strided_view(x_pad, shape, (st[0], st[1], *k_st, *o_st))
    return win.reshape(n, c * geo.taps, geo.positions)  # the copy


@functools.lru_cache(maxsize=256)
def _offset_plan(geo: ConvGeometry) -> tuple:
    """How each kernel offset's columns land on the unpadded image (cached per geometry: a
    tiled backward asks once per tile).

    Output position ``o`` of offset ``j`` hits image position ``o*stride + j*dil - lo``; hits
    in the padding are dropped. Returns ``[(offset, out_slices, image_slices)]`` and the index
    of an offset that covers the whole image (its columns can be copied instead of added onto
    zeros), or None.
    """
    plan = []
    cover = None
    for off in itertools.product(*(range(kk) for kk in geo.k)):
        src, dst = [], []
        whole = True
        for o, m, sz, lo, st, d in zip(off, geo.out, geo.size, geo.lo, geo.stride, geo.dilation):
            shift = o * d - lo
            first = max(0, -(shift // st))
            last = min(m, (sz - 1 - shift) // st + 1) if sz - 1 - shift >= 0 else 0
            count = last - first
            if count <= 0:
                break
            h0 = first * st + shift
            src.append(slice(first, last))
            dst.append(slice(h0, h0 + (count - 1) * st + 1, st))
            whole = whole and st == 1 and count == sz
        else:
            if whole and cover is None:
                cover = len(plan)
            plan.append((off, tuple(src), tuple(dst)))
    return tuple(plan), cover


def _add_windows(img: np.ndarray, cols_at, geo: ConvGeometry, lead: int, axis: int) -> None:
    """``img[dst] += cols_at(offset)[src]`` for every offset (``lead`` axes of ``img`` before
    the spatial ones). ``img`` is zeroed first unless an offset covers it (then copied).

    Big images are cut along leading axis ``axis`` (shared by ``img`` and the columns) into one
    chunk per core: each chunk runs the whole offset loop, so chunks never touch the same
    image elements."""
    plan, cover = _offset_plan(geo)
    pre = (slice(None),) * lead

    def run(a: int, b: int) -> None:
        cut = (*pre[:axis], slice(a, b), *pre[axis + 1 :])
        if cover is None:
            img[cut].fill(0)
        else:
            off, src, dst = plan[cover]
            np.copyto(img[(*cut, *dst)], cols_at(off)[(*cut, *src)])
        for i, (off, src, dst) in enumerate(plan):
            if i != cover:
                img[(*cut, *dst)] += cols_at(off)[(*cut, *src)]

    parallel_for(run, img.shape[axis], img.size * 2, whole=True)  # (per element, fixed order)


def col2im_cl(
    gcols: np.ndarray, geo: ConvGeometry, n: int, c: int, img: np.ndarray | None = None
) -> np.ndarray:
    """Sum channels-last columns ``(G, N*P, K*Cg)`` onto an ``(N, C, *size)`` image.

    Into ``img`` if given (a channels-last ``(N, *size, C)`` buffer, returned as an NCHW view);
    else channels-last memory when channels are many, ``(C, N, *size)`` memory when few (each
    order is several times slower in the other case)."""
    g, sd = geo.groups, geo.sd
    cols = gcols.reshape(g, n, *geo.out, *geo.k, c // g)
    if img is not None or c >= CHANNELS_LAST_MIN:
        if img is None:
            img = scratch.get((n, *geo.size, c), gcols.dtype)
        cl = np.moveaxis(cols, 0, -2)  # (N, *out, *k, G, Cg)
        grouped = np.reshape(img, (*img.shape[:-1], g, c // g), copy=False)
        _add_windows(grouped, lambda off: cl[(slice(None),) * (1 + sd) + off], geo, 1, 0)
        return np.moveaxis(img, -1, 1)
    buf = scratch.get((g, c // g, n, *geo.size), gcols.dtype)
    cf = np.moveaxis(  # (*k, G, Cg, N, *out)
        cols,
        [0, 1, *range(2, 2 + sd), *range(2 + sd, 2 + 2 * sd), -1],
        [sd, sd + 2, *range(sd + 3, 2 * sd + 3), *range(sd), sd + 1],
    )
    _add_windows(buf, lambda off: cf[off], geo, 3, 2)
    return np.swapaxes(buf.reshape(c, n, *geo.size), 0, 1)


def col2im_km(gcols: np.ndarray, geo: ConvGeometry, n: int, c: int) -> np.ndarray:
    """Sum K-major, batch-last columns ``(G, Cg*K, P*N)`` onto an ``(N, C, *size)`` view
    (memory ``(C, *size, N)``): with the batch innermost every add runs over ``OW*N``
    contiguous floats instead of ``OW``, about 2x faster for few channels."""
    cols = gcols.reshape(c, *geo.k, *geo.out, n)
    img = scratch.get((c, *geo.size, n), gcols.dtype)
    _add_windows(img, lambda off: cols[(slice(None), *off)], geo, 1, 0)
    return np.moveaxis(img, -1, 0)


def fold(cols: np.ndarray, geo: ConvGeometry, c: int) -> np.ndarray:
    """``F.fold``: sum ``(N, C*K, P)`` columns onto a fresh ``(N, C, *size)`` image."""
    n = cols.shape[0]
    cv = cols.reshape(n, c, *geo.k, *geo.out)
    img = np.empty((n, c, *geo.size), cols.dtype)
    _add_windows(img, lambda off: cv[(slice(None), slice(None), *off)], geo, 2, 0)
    return img
