"""Matrix products: ``matmul`` (1-D to N-D, batch broadcasting) and the fused ``linear``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out, into
from .._runtime import blas_control, follow_the_load, single_threaded_blas
from .._scratch import SCRATCH_MIN_BYTES, scratch
from .._tensor import Tensor
from . import _parallel as P
from ._util import Primitive, on_graph, ones_vector, unbroadcast


def _dims(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


def _refuse_bool(a: np.ndarray, b: np.ndarray) -> None:
    """PyTorch has no bool kernel for products; the name is that of the kernel it would use."""
    if a.ndim == 1 and b.ndim == 1:
        kernel = "dot"
    elif a.ndim <= 2 and b.ndim == 1:
        kernel = "addmv_impl_cpu"
    elif a.ndim <= 2 and b.ndim == 2:
        kernel = "addmm_impl_cpu_"
    else:
        kernel = "bmm"
    raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {D._BY_NP[a.dtype].name} != "
            f"{D._BY_NP[b.dtype].name}"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                f"[{b.shape[0]}] to have the same number of elements, but got {a.shape[0]} and "
                f"{b.shape[0]} elements respectively"
            )
        if b.ndim == 1:
            raise RuntimeError(
                f"size mismatch, got input ({a.shape[-2] if a.ndim > 1 else 1}), mat "
                f"({_dims(a.shape)}), vec ({b.shape[0]})"
            )
        rows = int(np.prod(a.shape[:-1])) if a.ndim > 1 else 1  # (no reshape: -1 fails on 0)
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_dims((rows, a.shape[-1]))} and "
            f"{_dims(b.shape[-2:])})"
        )
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"The size of tensor a ({a.shape[-3]}) must match the size of tensor b "
                f"({b.shape[-3]}) at non-singleton dimension {max(a.ndim, b.ndim) - 3}"
            ) from None


# Multiply-adds from which NumPy's OpenBLAS runs a GEMM on more than one thread.
_BLAS_THREADS_FROM = 1 << 18


def _gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays of one dtype (into ``out`` when given). A product of
    ``MIN_GEMM`` multiply-adds or more is cut into per-core one-thread GEMMs on ember's pool:
    along the longer output side, or over the inner dimension when that is the longest (weight
    gradients: a long batch, small matrices). Smaller ones big enough for OpenBLAS to thread
    first let the BLAS policy follow the machine's load (``ember/_runtime.py``)."""
    m, k = a.shape
    n = b.shape[1]
    macs = m * k * n
    if macs < P.MIN_GEMM or on_graph(a) or on_graph(b):
        if macs >= _BLAS_THREADS_FROM:
            follow_the_load()
        return a @ b if out is None else np.matmul(a, b, out=out)
    if k > 2 * max(m, n):
        r = P.matmul_reduce(a[None], b[None])[0]
        if out is None:
            return r
        out[...] = r
        return out
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))
    P.matmul(a[None], b[None], out[None])
    return out


def _gemm_rows(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` for an N-D ``x`` and a 2-D ``w`` as one GEMM over the rows of all batch
    dimensions: NumPy's matmul broadcasts a 3-D ``x`` into one small GEMM per leading index
    (measured (16, 64, 128) @ (128, 384): 0.81 ms as 16 GEMMs, 0.54 ms as one; 1.75 ms vs
    0.58 ms when ``x`` is a transposed view, which the reshape copies once).

    A big result is written into a pooled buffer (no fresh pages to fault in every step)."""
    nd = x.ndim
    if nd == 2:  # the common case, without the reshapes
        x2 = x
        rows = x.shape[0]
    elif nd < 2:
        return x @ w
    else:
        rows = math.prod(x.shape[:-1])
        x2 = x.reshape(rows, x.shape[-1])
    # (Callers have checked that both operands share one dtype.) Small results skip the pool.
    # An inner size of 1 is an outer product: one multiply pass, 3-5x faster than BLAS's GEMM
    # with k=1 (a one-output layer's input gradient; measured (128, 1) @ (1, 64): 27-36 us vs
    # 7.5 us); each element is one product either way, so the values are the same.
    if on_graph(x2):
        out = x2 @ w
    else:
        product = np.multiply if x2.shape[1] == 1 else _gemm
        if rows * w.shape[-1] * x2.itemsize < SCRATCH_MIN_BYTES:
            out = product(x2, w)
        else:
            out = product(x2, w, scratch.get((rows, w.shape[-1]), x2.dtype))
    return out if nd == 2 else out.reshape(*x.shape[:-1], w.shape[-1])


class Matmul(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if b.ndim == 2 and a.ndim >= 2:
            return _gemm_rows(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            # The hot path (every Linear-like layer): plain transposes, no broadcasting to undo.
            return (_gemm(g, b.T) if nig[0] else None), (_gemm(a.T, g) if nig[1] else None)
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if nig[0] else None), (g * a if nig[1] else None)
        if b.ndim == 1:
            # (..., n, k) @ (k,) -> (..., n)
            if nig[0]:
                ga = g[..., None] * b
            if nig[1]:
                gb = (g[..., None] * a).reshape(-1, a.shape[-1]).sum(0)
            return ga, gb
        if a.ndim == 1:
            # (k,) @ (..., k, m) -> (..., m)
            if nig[0]:
                ga = (np.matmul(b, g[..., None])[..., 0]).reshape(-1, a.shape[0]).sum(0)
            if nig[1]:
                gb = a[:, None] * g[..., None, :]
                gb = unbroadcast(gb, b.shape)
            return ga, gb
        if nig[0]:
            ga = _gemm_rows(g, b.T) if b.ndim == 2 else np.matmul(g, np.swapaxes(b, -1, -2))
            if ga.shape != a.shape:
                ga = unbroadcast(ga, a.shape)
        if nig[1]:
            if a.ndim > 2 and b.ndim == 2:
                # Fold the batch into one big GEMM instead of summing per-batch products.
                a2 = a.reshape(-1, a.shape[-1])
                gb = _gemm(a2.T, g.reshape(-1, g.shape[-1]))
            else:
                gb = np.matmul(np.swapaxes(a, -1, -2), g)
                if gb.shape != b.shape:
                    gb = unbroadcast(gb, b.shape)
        return ga, gb


def matmul(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics for 1-D to N-D operands."""
    if out is not None:
        return into(out, "matmul", matmul, input, other)
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(
            f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}"
            if isinstance(input, Tensor)
            else f"matmul(): argument 'input' must be Tensor, not {type(input).__name__}"
        )
    a, b = input._data, other._data
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0] and a.dtype == b.dtype:
        if a.dtype == np.bool_ and a.size and b.size:
            _refuse_bool(a, b)
        return Matmul.apply(input, other)
    if a.dtype == np.bool_ and a.ndim and b.ndim and ((a.size and b.size) or a.ndim == b.ndim == 1):
        _refuse_bool(a, b)  # before the dtype check, as PyTorch (no kernel on empty operands)
    _check_matmul(a, b)
    return Matmul.apply(input, other)


@accepts_out
def mm(input: Tensor, mat2: Tensor, *, out: Any = None) -> Tensor:
    """2-D matrix product."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2)


@accepts_out
def bmm(input: Tensor, mat2: Tensor, *, out: Any = None) -> Tensor:
    """Batched 3-D matrix product (no broadcasting)."""
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    return matmul(input, mat2)


@accepts_out
def dot(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return matmul(input, other)


@accepts_out
def mv(input: Tensor, vec: Tensor, *, out: Any = None) -> Tensor:
    return matmul(input, vec)


@accepts_out
def outer(input: Tensor, vec2: Tensor, *, out: Any = None) -> Tensor:
    from .shape import unsqueeze

    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


ger = outer


@accepts_out
def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1, out: Any = None
) -> Tensor:
    r = mm(mat1, mat2)
    if alpha != 1:
        r = r * alpha
    return (input * beta if beta != 1 else input) + r


class Linear(Primitive):
    """``x @ W.T + b`` in one node: the bias gradient is one BLAS product (``ones @ g``),
    several times faster and more accurate than NumPy's float32 ``sum(0)``."""

    twice_differentiable = True

    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        out = _gemm_rows(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        wanted = (nig[0], nig[1], len(nig) > 2 and nig[2])
        if on_graph(g):  # create_graph: one recorded LinearBackward op (ops/_linear_graph.py)
            return _on_graph_grads()(g, x, w, wanted)
        return linear_grads(g, x, w, wanted)


def _on_graph_grads() -> Any:
    global _ON_GRAPH_GRADS
    if _ON_GRAPH_GRADS is None:  # _linear_graph imports this module
        from ._linear_graph import linear_grads_on_graph as _ON_GRAPH_GRADS
    return _ON_GRAPH_GRADS


_ON_GRAPH_GRADS: Any = None


def linear_grads(g: np.ndarray, x: Any, w: Any, wanted: tuple) -> tuple:
    """``(gx, gw, gb)`` of ``x @ w.T + b`` for the output gradient ``g`` (arrays); None where
    ``wanted`` says no. ``x`` or ``w`` may be None when the gradient that reads it is not
    wanted."""
    gx = gw = gb = None
    g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
    if wanted[0] and wanted[1] and _side_by_side(g2, w):
        return _grads_side_by_side(g, g2, x, w, wanted[2])
    if wanted[0]:
        gx = _gemm_rows(g, w)
    if wanted[1]:
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        gw = _gemm(g2.T, x2)
    if wanted[2]:
        gb = ones_vector(g2.shape[0], g2.dtype) @ g2
    return gx, gw, gb


def _side_by_side(g2: np.ndarray, w: np.ndarray) -> bool:
    """Whether a linear layer's input and weight gradients run as two whole GEMMs side by side
    (one per core): on two threads, when each is big enough to be split anyway."""
    return (
        P.SETTINGS.threads == 2
        and g2.shape[0] * g2.shape[1] * w.shape[1] >= P.MIN_GEMM
        and not getattr(P._in_task, "active", False)
        and blas_control() is not None
        and not on_graph(g2)
    )


def _grads_side_by_side(g, g2, x, w, want_b: bool) -> tuple:
    """``(gx, gw, gb)`` with ``gx = g @ w`` on one core and ``gw = g2.T @ x2`` (and the bias
    gradient) on the other: the two GEMMs have the same multiply-adds, and one pool hand-off
    (~80 us on this VM) replaces two, with no partial sums to add."""
    x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    res: list = [None, None, None]
    gx_out = scratch.get((g2.shape[0], w.shape[1]), g2.dtype)

    def run(lo: int, hi: int) -> None:
        if lo == 0:
            np.matmul(g2, w, out=gx_out)
        else:
            res[1] = g2.T @ x2
            if want_b:
                res[2] = ones_vector(g2.shape[0], g2.dtype) @ g2

    with single_threaded_blas():
        P.parallel_for(run, 2, 1 << 62)
    gx = gx_out if g.ndim == 2 else gx_out.reshape(*g.shape[:-1], w.shape[1])
    return gx, res[1], res[2]


def linear_shape_error(x_shape: tuple, w_shape: tuple) -> RuntimeError:
    """The error for a linear input whose last dimension does not match the weight: PyTorch's
    matrix message, then the sizes in the layer's terms."""
    got = x_shape[-1] if x_shape else 1
    rows = math.prod(x_shape[:-1]) if x_shape else 1
    out_f, in_f = w_shape
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({rows}x{got} and {in_f}x{out_f}): linear "
        f"expected input with {in_f} features in its last dimension, got {got}"
    )


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension of ``input``."""
    x, w = input._data, weight._data
    if x.ndim == 0 or x.shape[-1] != w.shape[-1] or w.ndim != 2:
        if w.ndim == 1:
            from .shape import t as _t  # noqa: F401

            r = matmul(input, weight)
            return r + bias if bias is not None else r
        raise linear_shape_error(x.shape, w.shape)
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != w.dtype):
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {D._BY_NP[x.dtype].name} and "
            f"{D._BY_NP[w.dtype].name}"
        )
    if bias is None:
        return Linear.apply(input, weight, None)
    return Linear.apply(input, weight, bias)
