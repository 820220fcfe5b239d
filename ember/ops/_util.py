"""Helpers shared by the op families: operand preparation, broadcasting undo, dims."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._dtype_names import type_name  # noqa: F401 - the ops import it from here
from .._tensor import Tensor, _wrap, _wrap_dim
from ..autograd import function as _function

__all__ = [
    "unbroadcast",
    "grad_where",
    "wrap_dim",
    "dims_of",
    "Tensor",
    "Primitive",
    "_wrap",
    "as_tensor_arg",
    "broadcast_error",
    "type_name",
    "on_graph",
    "carrying",
    "constant",
]

wrap_dim = _wrap_dim


class Primitive(_function.Primitive):
    """The base of ember's built-in ops (see ``autograd.function.Primitive``).

    ``twice_differentiable = True`` declares that ``backward`` is written with operations
    ``GraphArray`` translates, and that everything it reads is a saved input or output or a
    constant: under ``create_graph=True`` the same formula then runs on ``GraphArray`` objects
    and records its own graph (docs/architecture.md, "Higher-order gradients").
    """

    @classmethod
    def _run_backward_graph(cls, ctx: Any, grads: tuple) -> tuple:
        global _run_formula
        if not cls.twice_differentiable:
            return super()._run_backward_graph(ctx, grads)
        g0 = grads[0]  # (on the graph, the usual case: the result is not a constant)
        if (g0 is None or not g0._rg) and _constant_result(ctx, grads):
            # Nothing the formula reads is on the graph (e.g. a loss's mean with the root's
            # constant gradient): its result is a constant, computed on arrays.
            res = cls.backward(ctx, *(None if g is None else g._data for g in grads))
            res = res if type(res) is tuple else (res,)
            return tuple(None if r is None else _wrap(np.asarray(r)) for r in res)
        if _run_formula is None:  # needs the op modules, which import this one
            from ._graph_array import run_formula as _run_formula
        return _run_formula(cls, ctx, grads)


_run_formula: Any = None  # _graph_array.run_formula, imported on first use


def _constant_result(ctx: Any, grads: tuple) -> bool:
    """Under create_graph: whether a formula's result cannot depend on anything on the graph,
    because the incoming gradients are constants and every saved tensor is an input that does
    not require grad (a formula reads nothing else that depends on the inputs)."""
    for g in grads:
        if g is not None and g._rg:
            return False
    vcs = ctx._saved_vc
    if vcs:
        edges = ctx.next_edges
        for entry in vcs:
            src = entry[3]
            if src is None or src < 0 or edges[src] is not None:
                return False
    return True


_SCALARS = (int, float, bool, complex, np.number, np.bool_)


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` back to ``shape``, undoing NumPy broadcasting."""
    if g.shape == shape:
        return g
    if (
        len(shape) == 1
        and not on_graph(g)
        and shape[0]
        and g.ndim >= 2
        and g.shape[-1] == shape[0]
        and g.dtype.kind == "f"
        and g.flags.c_contiguous
    ):
        # A bias-like gradient: one BLAS product (ones @ g) is several times faster than NumPy's
        # sequential float32 sum over axis 0, and more accurate.
        g2 = g.reshape(-1, shape[0])
        return ones_vector(g2.shape[0], g.dtype) @ g2
    # np.add.reduce, not ndarray.sum (a Python wrapper): NumPy's overflow warnings then name
    # ember's module, which ember's warning filter covers.
    # (A GraphArray, under create_graph, sums through its own differentiable .sum.)
    add = np.add.reduce if not on_graph(g) else type(g).sum
    nd = g.ndim - len(shape)
    if nd:
        g = add(g, axis=tuple(range(nd)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = add(g, axis=axes, keepdims=True)
    return g


def on_graph(g: Any) -> bool:
    """True for a backward formula's GraphArray operand (create_graph=True), False for an array
    or a NumPy scalar: the few formulas that write into arrays in place branch on it."""
    return not isinstance(g, _ARRAYS)


_ARRAYS = (np.ndarray, np.generic)


def constant(x: Any) -> Any:
    """The plain array of a formula operand: a GraphArray's value, an array as it is. For
    saved values a formula uses as constants (a permutation, pivots: piecewise constant, so
    their derivative is zero)."""
    return x if isinstance(x, _ARRAYS) else x.t._data


def carrying(value: np.ndarray, graph: Any) -> Any:
    """Under create_graph: ``value`` (an intermediate the forward computed accurately) with the
    derivative of ``graph``, a GraphArray of the same quantity recomputed on the graph. It is
    ``value + (graph - graph's value)``, exactly ``value``: first derivatives under
    create_graph equal the first-order ones bit for bit."""
    return graph - graph.t._data + value


def grad_where(mask: Any, g: np.ndarray, shape: tuple, *, invert: bool = False) -> np.ndarray:
    """``g`` where ``mask`` holds (where it does not, with ``invert``), 0 elsewhere, summed back
    to ``shape``: the gradient of ops that pass some elements through and not others."""
    picked = np.where(mask, 0, g) if invert else np.where(mask, g, 0)
    return unbroadcast(picked.astype(g.dtype, copy=False), shape)


def dims_of(dim: Any, ndim: int) -> tuple:
    """Normalise ``dim`` (int, tuple, list or None) to a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        d = _wrap_dim(int(dim), ndim)
        return (d,) if ndim else ()  # a 0-dim tensor accepts dim 0 / -1: nothing to reduce
    out = tuple(sorted(_wrap_dim(int(d), ndim) for d in dim))
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return out if ndim else ()


def broadcast_error(*operands: Any) -> RuntimeError | None:
    """PyTorch's error for operands whose shapes do not broadcast (None if they do)."""
    shapes = [tuple(np.shape(o._data if isinstance(o, Tensor) else o)) for o in operands]
    sa = shapes[0]
    for sb in shapes[1:]:
        n = max(len(sa), len(sb))
        a = (1,) * (n - len(sa)) + sa
        b = (1,) * (n - len(sb)) + sb
        # PyTorch checks from the last dimension and names the first clash it finds.
        for k in range(n - 1, -1, -1):
            if a[k] != b[k] and a[k] != 1 and b[k] != 1:
                return RuntimeError(
                    f"The size of tensor a ({a[k]}) must match the size of tensor b ({b[k]}) at "
                    f"non-singleton dimension {k}"
                )
        sa = tuple(y if x == 1 else x for x, y in zip(a, b))  # (1 with 0 broadcasts to 0)
    return None


def as_tensor_arg(x: Any, like: Tensor | None = None) -> Tensor:
    """Turn a number, list or array into a Tensor (for ops taking tensor arguments)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _wrap(x)
    from .._creation import tensor

    if like is not None and isinstance(x, _SCALARS):
        return _wrap(np.asarray(x, dtype=D.result_type_scalar(like.dtype, x).np))
    return tensor(x)


def is_scalar(x: Any) -> bool:
    return isinstance(x, _SCALARS)


def float_dtype_for(t: Tensor) -> D.dtype:
    """The dtype a float-valued op gives for ``t`` (ints and bools become the default float)."""
    d = t.dtype
    return d if (d.is_floating_point or d.is_complex) else D.get_default_dtype()


_ONES: dict = {}


def ones_vector(n: int, dtype: np.dtype) -> np.ndarray:
    """A cached read-only vector of ``n`` ones (for BLAS reductions)."""
    key = (n, dtype)
    o = _ONES.get(key)
    if o is None:
        o = np.ones(n, dtype)
        o.flags.writeable = False
        if len(_ONES) > 64:
            _ONES.clear()
        _ONES[key] = o
    return o


def all_finite(a: np.ndarray) -> bool:
    """Whether every element of ``a`` is finite: one BLAS dot with a ones vector when ``a`` is
    contiguous (an overflowing sum only reports False: callers then take their exact path)."""
    if a.flags.c_contiguous and a.size:
        flat = a.reshape(-1)
        return bool(np.isfinite(np.dot(flat, ones_vector(flat.size, flat.dtype))))
    return bool(np.isfinite(a).all())
