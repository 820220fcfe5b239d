"""Products and distances: ``einsum``, ``tensordot``, ``inner``, ``kron``, ``cross``, ``cdist``,
``block_diag``, ``vander``, and ``cosine_similarity``/``pairwise_distance`` at top level.

``einsum`` is one primitive (NumPy's einsum both ways); the others are compositions of
differentiable ops (reshape, permute, matmul, mul, pad), which give their gradients.
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from .. import _dtype as D
from .._dtype_names import type_name
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ._util import Primitive, on_graph, wrap_dim
from .elementwise import add, cast, div, mul, sub, where
from .join import cat, stack
from .linalg import matmul
from .shape import constant_pad, permute, reshape, unsqueeze

__all__ = [
    "einsum",
    "tensordot",
    "inner",
    "kron",
    "cross",
    "cdist",
    "block_diag",
    "vander",
    "cosine_similarity",
    "pairwise_distance",
    "renorm",
]


# ---- einsum ------------------------------------------------------------------------------------
def _parse_einsum(equation: str, shapes: list) -> tuple:
    """``(input subscripts, output subscripts)`` with spaces removed and an implicit output made
    explicit (NumPy's and PyTorch's rule: the letters seen once, sorted; '...' first)."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace("...", "").replace(",", "")
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        rhs = ("..." if "..." in lhs else "") + "".join(once)
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(shapes) > len(ins)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    for sub_, shape in zip(ins, shapes):
        n = len(sub_.replace("...", ""))
        if ("..." not in sub_ and n != len(shape)) or n > len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({n}) does not match the "
                f"number of dimensions ({len(shape)}) for operand {shapes.index(shape)}"
                + ("" if "..." in sub_ else " and no ellipsis was given")
            )
    return ins, rhs


class Einsum(Primitive):
    twice_differentiable = True  # the gradient is an einsum again (on the graph: this op)

    @staticmethod
    def forward(ctx, ins, rhs, *arrays):
        eq = ",".join(ins) + "->" + rhs
        ctx.meta = (ins, rhs)
        ctx.save_for_backward(*arrays)
        optimize = len(arrays) > 2
        return np.asarray(np.einsum(eq, *arrays, optimize=optimize))

    @staticmethod
    def backward(ctx, g):
        ins, rhs = ctx.meta
        arrays = ctx.saved_tensors
        grads = [None, None]
        for i in range(len(arrays)):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            grads.append(_einsum_grad(i, ins, rhs, arrays, g))
        return tuple(grads)


def _einsum_grad(i: int, ins: list, rhs: str, arrays: tuple, g: np.ndarray) -> np.ndarray:
    """The gradient of operand ``i``: ``g`` contracted with the other operands onto operand
    ``i``'s letters. Letters only operand ``i`` has (summed away) are broadcast back, letters
    broadcast from size 1 are summed, repeated letters (a diagonal) are written on the diagonal."""
    target, shape = ins[i], arrays[i].shape
    sizes = dict(zip(target, shape))
    others = [s for k, s in enumerate(ins) if k != i]
    seen = set(rhs + "".join(others))
    uniq = "".join(dict.fromkeys(target))
    keep = "".join(c for c in uniq if c in seen)
    operands = [g, *(a for k, a in enumerate(arrays) if k != i)]
    r = _contract([rhs, *others], keep, operands, len(arrays) > 2)
    for k, c in enumerate(keep):
        if r.shape[k] != sizes[c]:  # operand i broadcast this letter from size 1
            r = r.sum(axis=k, keepdims=True)
    r = r.reshape([sizes[c] if c in keep else 1 for c in uniq])
    r = np.broadcast_to(r, [sizes[c] for c in uniq])
    if len(uniq) == len(target):
        out = _contract([uniq], target, [r], False)
        return out if on_graph(out) else np.ascontiguousarray(out)
    if on_graph(r):
        return _onto_diagonal(r, uniq, target, sizes)
    out = np.zeros(shape, g.dtype)
    np.einsum(target + "->" + uniq, out)[...] = r  # a writeable view of the diagonal
    return out


def _contract(ins: list, rhs: str, operands: list, optimize: bool) -> Any:
    """``np.einsum`` of ``operands``; under create_graph (GraphArray operands) the Einsum op
    itself, so that the gradient records its own graph."""
    if not any(on_graph(o) for o in operands):
        eq = ",".join(ins) + "->" + rhs
        return np.asarray(np.einsum(eq, *operands, optimize=optimize))
    from ._graph_array import GraphArray  # imports the op modules, which import this one

    ts = [o.t if on_graph(o) else _wrap(np.asarray(o)) for o in operands]
    return GraphArray(Einsum.apply(list(ins), rhs, *ts))


def _onto_diagonal(r: Any, uniq: str, target: str, sizes: dict) -> Any:
    """``r`` (letters ``uniq``) written on the diagonal that ``target``'s repeated letters name,
    zero elsewhere, as an einsum with identity matrices (differentiable, unlike a write into a
    diagonal view): each repeat of a letter gets a fresh letter tied to the first by an eye."""
    fresh = iter(c for c in string.ascii_letters if c not in target)
    out, deltas = "", []
    for c in target:
        if c in out:
            f = next(fresh)
            out += f
            deltas.append(c + f)
        else:
            out += c
    eyes = [np.eye(sizes[d[0]], dtype=r.dtype) for d in deltas]
    return _contract([uniq, *deltas], out, [r, *eyes], False)


def einsum(*args: Any) -> Tensor:
    """Sum of products over the subscripts of ``equation`` (NumPy's einsum, differentiable)."""
    if not args or not isinstance(args[0], str):
        raise NotImplementedError(
            "ember's einsum takes an equation string first (the sublist format is not supported)"
        )
    equation, ops = args[0], args[1:]
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = tuple(ops[0])
    if not ops:
        raise RuntimeError("einsum(): must provide at least one operand")
    for t in ops:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(t).__name__}")
    dt = ops[0].dtype
    for t in ops[1:]:
        if t.dtype is not dt:
            raise RuntimeError(
                f"expected scalar type {type_name(dt)} but found {type_name(t.dtype)}"
            )
    ins, rhs = _parse_einsum(equation, [tuple(t.shape) for t in ops])
    ins, rhs = _explicit_letters(ins, rhs, [t.ndim for t in ops])
    _check_sizes(ins, [tuple(t.shape) for t in ops])
    try:
        return Einsum.apply(ins, rhs, *ops)
    except ValueError as e:
        raise RuntimeError(f"einsum(): {e}") from None


def _check_sizes(ins: list, shapes: list) -> None:
    """Each letter has one size (or 1, which broadcasts) across the operands."""
    seen: dict = {}
    for k, (sub_, shape) in enumerate(zip(ins, shapes)):
        for c, n in zip(sub_, shape):
            m = seen.get(c, 1)
            if n != m and n != 1 and m != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                    f"broadcast with previously seen size {m}"
                )
            if n != 1:
                seen[c] = n


def _explicit_letters(ins: list, rhs: str, ndims: list) -> tuple:
    """Replace every '...' by explicit letters (right-aligned, as broadcasting), so the
    backward pass never meets an ellipsis."""
    if not any("..." in s for s in ins):
        return ins, rhs
    used = set("".join(ins) + rhs)
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max(nd - len(s.replace("...", "")) for s, nd in zip(ins, ndims) if "..." in s)
    ell_letters = "".join(free[:n_ell])
    out = []
    for s, nd in zip(ins, ndims):
        if "..." in s:
            k = nd - len(s.replace("...", ""))
            s = s.replace("...", ell_letters[n_ell - k :])
        out.append(s)
    return out, rhs.replace("...", ell_letters)


# ---- contractions ---------------------------------------------------------------------------
def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the listed pairs)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        if len(dims) != 2:
            raise RuntimeError("tensordot expects dims to be a pair of lists or an int")
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
        da = [wrap_dim(d, a.ndim) for d in da]
        db = [wrap_dim(d, b.ndim) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[x]} in dim "
                f"{x} and second has size {b.shape[y]} in dim {y}"
            )
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected scalar type {type_name(a.dtype)} but found {type_name(b.dtype)}"
        )
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = reshape(
        permute(a, free_a + da), -1 if not free_a else math.prod(a.shape[d] for d in free_a), k
    )
    bm = reshape(permute(b, db + free_b), k, math.prod(b.shape[d] for d in free_b))
    res = matmul(am, bm)
    return reshape(res, tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def inner(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Sum of products over the last dim of both (a product when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, ([-1], [-1]))


def kron(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The Kronecker product (block ``input[i, j] * other``)."""
    n = max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (n - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (n - other.ndim) + tuple(other.shape))
    a2 = reshape(a, tuple(s for d in a.shape for s in (d, 1)))
    b2 = reshape(b, tuple(s for d in b.shape for s in (1, d)))
    return reshape(mul(a2, b2), tuple(x * y for x, y in zip(a.shape, b.shape)))


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Any = None) -> Tensor:
    """The 3-vector cross product along ``dim`` (the first dim of size 3 when None)."""
    from .indexing import getitem
    from .shape import broadcast_tensors

    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        a, b = broadcast_tensors(input, other)
    except (RuntimeError, ValueError):
        raise RuntimeError(
            f"linalg.cross: input and other must have the same shape or be broadcastable, got "
            f"{list(input.shape)} and {list(other.shape)}"
        ) from None
    if dim is None:
        threes = [d for d, s in enumerate(a.shape) if s == 3]
        if not threes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = threes[0]
    axis = wrap_dim(dim, a.ndim)
    if a.shape[axis] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {axis} must have length 3. Got {input.shape[axis]} "
            f"and {other.shape[axis]}"
        )
    if a.dtype is not b.dtype:
        dt = D.promote_types(a.dtype, b.dtype)
        a, b = cast(a, dt), cast(b, dt)
    head = (slice(None),) * axis
    ai = [getitem(a, head + (k,)) for k in range(3)]
    bi = [getitem(b, head + (k,)) for k in range(3)]
    parts = [
        sub(mul(ai[1], bi[2]), mul(ai[2], bi[1])),
        sub(mul(ai[2], bi[0]), mul(ai[0], bi[2])),
        sub(mul(ai[0], bi[1]), mul(ai[1], bi[0])),
    ]
    return stack(parts, axis)


# ---- distances ------------------------------------------------------------------------------
def cdist(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    compute_mode: str = "use_mm_for_euclid_dist_if_necessary",
) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M)
    (computed directly for every p: no matrix-product shortcut)."""
    from .reduction import amax, norm
    from .reduction import sum as _sum
    from .unary import abs as _abs

    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D"
            if x1.ndim < 2
            else f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    diff = sub(unsqueeze(x1, -2), unsqueeze(x2, -3))
    if p == 0:
        # A count of differing coordinates: its gradient is zero, and PyTorch records it.
        count = _wrap(np.count_nonzero(diff._data, axis=-1).astype(diff._data.dtype))
        return _sum(mul(diff, 0), -1) + count
    if math.isinf(p):
        return amax(_abs(diff), -1)
    return norm(diff, p, dim=-1)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``torch.cosine_similarity`` (the same as ``nn.functional.cosine_similarity``)."""
    from ..nn.functional import cosine_similarity as f

    return f(x1, x2, dim, eps)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``torch.pairwise_distance`` (the same as ``nn.functional.pairwise_distance``)."""
    from ..nn.functional import pairwise_distance as f

    return f(x1, x2, p, eps, keepdim)


# ---- structured matrices --------------------------------------------------------------------
def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of the given 0-, 1- or 2-d tensors."""
    mats = []
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError("block_diag(): argument 'tensors' must be tuple of Tensors")
        if t.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                f"{t.ndim} dimensions"
            )
        mats.append(reshape(t, (1, 1) if t.ndim == 0 else (1, -1) if t.ndim == 1 else t.shape))
    if not mats:
        return _wrap(np.zeros((1, 0), D.get_default_dtype().np))  # PyTorch's shape for none
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = D.promote_types(dt, m.dtype)
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        c = m.shape[1]
        rows.append(constant_pad(cast(m, dt), (left, width - left - c)))
        left += c
    return cat(rows, 0)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """Columns ``x**0 ... x**(N-1)`` (decreasing powers unless ``increasing``)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x.dtype if x.dtype._kind > D._BOOL else D.int64
    if x.dtype.name in ("int8", "int16", "int32", "uint8"):
        dt = D.int64  # PyTorch computes integer powers in int64
    xs = cast(x, dt)
    cols = []
    if n:
        col = _wrap(np.ones(x.shape, dt.np))
        cols.append(col)
        for _ in range(n - 1):
            col = mul(col, xs)  # repeated products: no 0 ** -1 in the gradient at x = 0
            cols.append(col)
    if not cols:
        return _wrap(np.zeros((x.shape[0], 0), dt.np))
    if not increasing:
        cols = cols[::-1]
    return stack(cols, 1)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` scaled down to ``p``-norm ``maxnorm`` if its norm is larger
    (PyTorch's factor ``maxnorm / (norm + 1e-7)``; the gradient flows through the norm too)."""
    from .reduction import norm

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.ndim <= 1:
        raise RuntimeError(
            f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions"
        )
    axis = wrap_dim(dim, input.ndim)
    others = tuple(d for d in range(input.ndim) if d != axis)
    norms = norm(input, p, dim=others, keepdim=True)
    factor = where(_wrap(norms._data > maxnorm), div(maxnorm, add(norms, 1e-7)), 1.0)
    return mul(input, factor)


# ``out=``: every function here that takes it writes into it (ember/_out.py).
accepts_out_in(globals(), __all__)
