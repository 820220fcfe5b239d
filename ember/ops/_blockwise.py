"""Elementwise kernels of many passes run over cache-sized blocks of big arrays, on every core.

A fused activation written as NumPy passes (GELU: ~25, SiLU: 9) streams each pass over the whole
array; past the L2 cache (2 MB a core here) every pass reads and writes main memory, so a
(64, 128, 768) float32 GELU (25 MB an array) is bound by memory bandwidth, not arithmetic.
``run_blocked`` calls the kernel on blocks of ``BLOCK`` elements instead, so that the kernel's
passes over one block (and its small temporaries) stay in L2, and cuts the blocks into per-core
chunks with ``parallel_for`` (each call site measures whether the split pays).

``run_kernel`` is the activations' entry point: it allocates the outputs (pooled when big, in
the input's layout) and runs a kernel blocked or, for small inputs, in one call per pass.

Arrays are walked in memory order through flat views (any dense layout: a channels-last array
is one run of memory like a contiguous one), so the blocks never mix layouts; results are the
same bits as one whole-array call (each element is computed by the same ufunc loops).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._scratch import scratch
from ._parallel import copy_into, parallel_for
from ._util import ones_vector

__all__ = [
    "BLOCK",
    "BLAS_DTYPES",
    "MAX_BLAS_RUN",
    "each_block",
    "row_sums",
    "row_dots",
    "MIN_BLOCKED",
    "memory_flat",
    "blocked",
    "run_blocked",
    "run_kernel",
    "new_like",
]

# Elements a block. The float32 GELU forward with its derivative at (64, 128, 768), one thread,
# thread CPU time, medians of 5 (load 1.3-2): blocks of 4K 43.5 ms, 8K 35.9, 16K 26-30, 32K
# 25-27, 64K 26-32, 128K 27.0, the whole array 51.7 (its ~30 passes from main memory).
# On two threads the blocks must be big: between a block's NumPy calls each thread takes
# the GIL back, and with 32-64K-element blocks the two threads spent their time handing it
# over (a split GELU forward ran slower than one thread). Blocks of 128K elements, (64, 128,
# 768) float32 fwd+bwd, idle, two threads split / one thread: LayerNorm 25.8 / 37.9 ms, GELU
# 24.9 / 40.0, softmax 16.4 / 19.2; GroupNorm(8, 64) on (32, 64, 32, 32) 7.6 / 9.5; SiLU
# channels-last 4.0 / 6.0; with 32K-element blocks split 39.5 / 38.0 / 21.6 / 10.4 / 7.1.
# One thread measured the same within noise from 32K to 128K.
BLOCK = 1 << 17
# BLAS sums a run in a few running totals whose rounding grows with the run (see
# ops/_norm_layout.py): longer runs keep NumPy's pairwise reductions.
MAX_BLAS_RUN = 1 << 16
BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Elements from which a kernel runs blocked: below, its arrays (a few of 1 MB or less) mostly
# fit in L2 and one whole-array call per pass costs less Python (at (64, 1024) blocks of 16-32K
# lost: 242-285 us against 225-240 whole, docs/performance.md item 21). Fwd+bwd float32, one
# thread, thread CPU time, blocked against whole (medians of 9, load 3.6): 128K elements SiLU
# 0.37 vs 0.29 ms, GELU 0.66 vs 0.71; 256K SiLU 0.76 vs 0.72, GELU 1.37 vs 1.72, GELU tanh
# 1.04 vs 1.21; 512K SiLU 1.38 vs 1.60, SELU 1.84 vs 2.47; 2M SiLU 6.5 vs 8.1, SELU 8.6 vs
# 12.0, GELU tanh 9.5 vs 23.8.
MIN_BLOCKED = 1 << 18


def memory_flat(a: np.ndarray) -> np.ndarray | None:
    """``a``'s elements as a flat view in memory order (C order or any axis permutation of a
    dense block, e.g. a channels-last view), or None when ``a`` is not dense."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    t = a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


def blocked(*arrays: np.ndarray) -> bool:
    """Whether ``run_blocked`` takes these arrays: big, of one shape, dense in one layout."""
    a = arrays[0]
    if a.size < MIN_BLOCKED or a.ndim == 0:
        return False
    if not (a.flags.c_contiguous or memory_flat(a) is not None):
        return False
    steps = _steps(a)
    return all(
        type(b) is np.ndarray and b.shape == a.shape and _steps(b) == steps for b in arrays[1:]
    )


def _steps(a: np.ndarray) -> tuple:
    """``a``'s strides in elements over its axes longer than 1 (a bool mask and a float array
    of one layout match; a length-1 axis's stride is arbitrary)."""
    return tuple(s // a.itemsize for s, n in zip(a.strides, a.shape) if n > 1)


def new_like(a: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """An uninitialised array in ``a``'s layout, from the scratch pool (a fresh 25 MB array
    faults in ~6000 pages, ~3 ms, on every call)."""
    return scratch.like(a, dtype)


def run_blocked(
    kernel: Callable[..., None],
    ins: tuple[np.ndarray, ...],
    outs: tuple[np.ndarray, ...],
    site: object,
    errstate: dict | None = None,
    args: tuple = (),
) -> None:
    """``kernel(*in_blocks, *out_blocks, *args)`` over blocks of ``BLOCK`` elements of the flat
    memory-order views of ``ins`` and ``outs`` (all of one shape and layout: see ``blocked``;
    itemsizes may differ), the blocks in per-core chunks. ``kernel`` writes each output block
    from the input blocks alone. ``errstate`` (np.errstate's keywords) holds in every chunk:
    NumPy's error state is per thread, so the caller's does not reach a pool worker."""
    flat_in = [memory_flat(a) for a in ins]
    flat_out = [memory_flat(a) for a in outs]
    n = flat_in[0].size
    state = errstate or {}

    def chunk(lo: int, hi: int) -> None:
        with np.errstate(**state):
            for a in range(lo, hi, BLOCK):
                b = min(a + BLOCK, hi)
                kernel(*[f[a:b] for f in flat_in], *[f[a:b] for f in flat_out], *args)

    parallel_for(chunk, n, n, site=site, whole=True)


def run_kernel(
    kernel: Callable[..., None],
    ins: tuple,
    dts: tuple,
    site: str,
    errstate: dict | None = None,
    args: tuple = (),
) -> list:
    """New arrays in ``ins[0]``'s layout, one per dtype of ``dts`` (None: ``ins[0]``'s), filled
    by ``kernel(*ins, *outs, *args)`` under ``errstate`` (the fused activations' entry point).

    Big inputs, dense and of one layout, run over cache-sized blocks in per-core chunks into
    pooled arrays (another input of the same shape dense in another layout is copied into the
    first's first); anything else runs in one call per pass (a 0-d input too: ``out=`` keeps
    it an array). Scalars go positionally in ``args`` and the small path has no errstate
    context unless asked: a ``partial`` and a context cost ~1-2 us each, a few % of a
    (64, 1024) call."""
    x = ins[0]
    if x.size >= MIN_BLOCKED and blocked(x):
        if not blocked(*ins):
            ins = _in_layout(ins)
        if blocked(*ins):
            outs = [new_like(x, dt) for dt in dts]
            run_blocked(kernel, ins, outs, site, errstate, args)
            return outs
    outs = [np.empty_like(x, dtype=dt) for dt in dts]
    if errstate is None:
        kernel(*ins, *outs, *args)
        return outs
    with np.errstate(**errstate):
        kernel(*ins, *outs, *args)
    return outs


def _in_layout(ins: tuple) -> tuple:
    """``ins`` with every other input of ``ins[0]``'s shape copied into ``ins[0]``'s layout
    (pooled) when it is dense in another one: a gradient in NCHW order for a channels-last
    input (after a reshape, say) would run every pass of the kernel in NumPy's mixed-layout
    loops. One transposing copy, then blocks: fwd+bwd on (32, 64, 32, 32) float32
    with an NCHW gradient, one thread, SiLU 14.6 -> 10.6 ms, SELU 18.4 -> 11.3 ms."""
    x = ins[0]
    out = [x]
    for a in ins[1:]:
        if a.shape == x.shape and not blocked(x, a) and memory_flat(a) is not None:
            b = new_like(x, a.dtype)
            copy_into(b, a)
            a = b
        out.append(a)
    return tuple(out)


def each_block(
    fn: Callable[[int, int, int], None], n: int, item: int, block: int, site: object = None
) -> None:
    """``fn(i, lo, hi)`` for every block ``i`` of items ``lo:hi`` (rows, samples) of ``item``
    elements each, about ``block`` elements a block (at least one item), in per-core runs of
    consecutive blocks when big (``parallel_for``; ``site`` defaults to ``fn``'s code)."""
    step = max(1, block // max(1, item))
    nblocks = -(-n // step) if n else 0

    def run(first: int, last: int) -> None:
        for i in range(first, last):
            fn(i, i * step, min((i + 1) * step, n))

    parallel_for(run, nblocks, n * item, site=fn.__code__ if site is None else site)


def row_sums(a: np.ndarray) -> np.ndarray:
    """Sums of the rows of a 2-D block, ``(m, 1)``: a BLAS product with ones when it may
    (~0.05 ns an element against ~0.2 for ``np.add.reduce``)."""
    if a.dtype in BLAS_DTYPES and 0 < a.shape[1] <= MAX_BLAS_RUN:
        return (a @ ones_vector(a.shape[1], a.dtype))[:, None]
    return np.add.reduce(a, axis=1, keepdims=True)


def row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row sums of ``a * b`` of two 2-D blocks, ``(m, 1)``, without the product array."""
    if a.dtype in BLAS_DTYPES and 0 < a.shape[1] <= MAX_BLAS_RUN:
        return np.vecdot(a, b)[:, None]
    return np.einsum("mk,mk->m", a, b)[:, None]
