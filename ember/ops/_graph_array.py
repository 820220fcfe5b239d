"""``GraphArray``: an ember Tensor seen through NumPy's array API, for higher-order gradients.

A primitive's backward formula is written once, against NumPy (``g * np.cos(x)``,
``unbroadcast(g, shape)``, ``g.sum(axis=0, keepdims=True)``...). First order it runs on arrays.
Under ``create_graph=True`` the engine hands the same formula ``GraphArray`` objects instead:
NumPy's dispatch protocols (``__array_ufunc__``, ``__array_function__``) and the array methods
below send every operation to the differentiable ember op, so the formula records a graph.

Anything this class does not translate fails loudly (NumPy's TypeError, or ``__array__``
refusing to become a plain array): a formula can never silently drop out of the graph.
Values that are not GraphArrays (masks, indices, constants a forward kept) stay constants.
See docs/architecture.md, "Higher-order gradients".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from . import elementwise as E
from . import indexing as X
from . import join as J
from . import linalg as L
from . import linalg_solve as LS
from . import reduction as R
from . import shape as S
from . import unary as U

__all__ = ["GraphArray", "run_formula"]


class GraphArray:
    """A Tensor that answers to NumPy: ``np.exp(a)``, ``a.sum(axis=0)``, ``a @ b``, ``a[key]``."""

    __slots__ = ("t",)
    __array_priority__ = 2000  # `ndarray op GraphArray` comes here, not to NumPy

    def __init__(self, t: Tensor) -> None:
        self.t = t

    # -- array attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.t._data.shape

    @property
    def ndim(self) -> int:
        return self.t._data.ndim

    @property
    def size(self) -> int:
        return self.t._data.size

    @property
    def dtype(self) -> np.dtype:
        return self.t._data.dtype

    @property
    def T(self) -> GraphArray:  # noqa: N802
        return GraphArray(S.Permute.apply(self.t, tuple(range(self.ndim))[::-1]))

    def __len__(self) -> int:
        return len(self.t._data)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "a backward formula turned a recorded gradient into a plain NumPy array "
            "(create_graph=True would lose its graph): that op's backward is not twice "
            "differentiable"
        )

    # -- methods with NumPy's meaning ---------------------------------------------------------
    def reshape(self, *shape: Any, order: str = "C") -> GraphArray:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return GraphArray(S.reshape(self.t, tuple(int(s) for s in shape)))

    def transpose(self, *axes: Any) -> GraphArray:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list, np.ndarray)):
            axes = tuple(axes[0])
        if not axes or axes == (None,):
            axes = tuple(range(self.ndim - 1, -1, -1))
        return GraphArray(S.permute(self.t, *(int(a) for a in axes)))

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> GraphArray:
        r = self if dtype is None else self.astype(dtype)
        if axis == ():  # NumPy: reduce over no axis
            return r
        if axis is None:
            axis = tuple(range(self.ndim))
            if not keepdims:
                return GraphArray(R.sum(r.t))
        return GraphArray(R.sum(r.t, axis, keepdim=keepdims))

    def astype(self, dtype: Any, copy: bool = True) -> GraphArray:
        from .. import _dtype as D

        dt = np.dtype(dtype)
        if dt == self.dtype:
            return self
        return GraphArray(E.cast(self.t, D._BY_NP[dt]))

    def copy(self) -> GraphArray:
        return GraphArray(S.clone(self.t))

    def cumsum(self, axis: Any = None, dtype: Any = None) -> GraphArray:
        return _cumsum(self, axis, dtype)

    def cumprod(self, axis: Any = None) -> GraphArray:
        return _cumprod(self, axis)

    # Complex parts through ember._complex's ops (a real array is its own real part and
    # conjugate, and its imaginary part a constant zero).
    @property
    def real(self) -> GraphArray:
        return GraphArray(_cx().Real.apply(self.t)) if self.dtype.kind == "c" else self

    @property
    def imag(self) -> Any:
        if self.dtype.kind != "c":
            return np.zeros(self.shape, self.dtype)
        return GraphArray(_cx().Imag.apply(self.t))

    def conj(self) -> GraphArray:
        return GraphArray(_cx().Conj.apply(self.t)) if self.dtype.kind == "c" else self

    conjugate = conj

    def apply(self, prim: type, *args: Any) -> Any:
        """``prim`` applied to this array's tensor (for formulas with no NumPy spelling); a
        tuple of GraphArrays for a primitive with several outputs."""
        out = prim.apply(self.t, *args)
        return tuple(GraphArray(o) for o in out) if type(out) is tuple else GraphArray(out)

    def __getitem__(self, key: Any) -> GraphArray:
        key = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, (np.ndarray, list)) for k in key):
            return GraphArray(X.Index.apply(self.t, key))
        return GraphArray(X.Slice.apply(self.t, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        # A formula writes into an array it just made (``gx = g.copy(); gx[key] = 0``): the
        # recorded write replaces this holder's tensor (NumPy would mutate; nothing else sees it).
        key = key if isinstance(key, tuple) else (key,)
        v = value.t if isinstance(value, GraphArray) else np.asarray(value, self.dtype)
        self.t = X.IndexPut.apply(self.t, key, v, False)

    # -- operators ------------------------------------------------------------------------------
    def __neg__(self) -> GraphArray:
        return GraphArray(U.neg(self.t))

    def __pos__(self) -> GraphArray:
        return self

    def __add__(self, o: Any) -> Any:
        return _binary(np.add, self, o)

    def __radd__(self, o: Any) -> Any:
        return _binary(np.add, o, self)

    def __sub__(self, o: Any) -> Any:
        return _binary(np.subtract, self, o)

    def __rsub__(self, o: Any) -> Any:
        return _binary(np.subtract, o, self)

    def __mul__(self, o: Any) -> Any:
        return _binary(np.multiply, self, o)

    def __rmul__(self, o: Any) -> Any:
        return _binary(np.multiply, o, self)

    def __truediv__(self, o: Any) -> Any:
        return _binary(np.true_divide, self, o)

    def __rtruediv__(self, o: Any) -> Any:
        return _binary(np.true_divide, o, self)

    def __pow__(self, o: Any) -> Any:
        return _binary(np.power, self, o)

    def __rpow__(self, o: Any) -> Any:
        return _binary(np.power, o, self)

    def __matmul__(self, o: Any) -> Any:
        return _binary(np.matmul, self, o)

    def __rmatmul__(self, o: Any) -> Any:
        return _binary(np.matmul, o, self)

    # Comparisons give constant masks (their derivative is zero).
    def __gt__(self, o: Any) -> np.ndarray:
        return self.t._data > _value(o)

    def __ge__(self, o: Any) -> np.ndarray:
        return self.t._data >= _value(o)

    def __lt__(self, o: Any) -> np.ndarray:
        return self.t._data < _value(o)

    def __le__(self, o: Any) -> np.ndarray:
        return self.t._data <= _value(o)

    def __eq__(self, o: Any) -> np.ndarray:  # type: ignore[override]
        return self.t._data == _value(o)

    def __ne__(self, o: Any) -> np.ndarray:  # type: ignore[override]
        return self.t._data != _value(o)

    __hash__ = None  # type: ignore[assignment]

    # -- NumPy's dispatch ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented  # in-place and ufunc.at writes: NumPy raises TypeError
        dtype = kwargs.pop("dtype", None)
        if kwargs:
            return NotImplemented
        if ufunc in _CONSTANT_UFUNCS:  # piecewise constant: a constant result
            return ufunc(*(_value(i) for i in inputs))
        if ufunc in _BINARY:
            out = _binary(ufunc, *inputs)
        else:
            fn = _UNARY.get(ufunc)
            if fn is None:
                return NotImplemented
            out = fn(*inputs)
        return out if dtype is None else out.astype(dtype)

    def __array_function__(self, func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
        fn = _FUNCTIONS.get(func)
        if fn is None:
            return NotImplemented
        return fn(*args, **kwargs)


def _cx() -> Any:
    from .. import _complex  # imports the op modules, as this one does

    return _complex


def _value(x: Any) -> Any:
    """The plain value of an operand (a GraphArray's data)."""
    return x.t._data if isinstance(x, GraphArray) else x


def _tensor(x: Any) -> Any:
    """An operand for an ember op: a GraphArray's tensor, an array as a constant tensor, a
    NumPy scalar as a Python number (so it does not change the tensor's dtype)."""
    if isinstance(x, GraphArray):
        return x.t
    if isinstance(x, np.ndarray):
        return _wrap(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


_BINARY = {
    np.add: E.add,
    np.subtract: E.sub,
    np.multiply: E.mul,
    np.true_divide: E.div,
    np.power: E.pow,
    np.maximum: E.maximum,
    np.minimum: E.minimum,
    np.arctan2: E.atan2,
    np.matmul: L.matmul,
}


# The common case of a formula, two float arrays of one dtype (``g * y``, ``g - t``): straight
# to the primitive, past the public function's operand checks (nothing for them to do).
_SAME_DTYPE = {np.add: E.Add, np.subtract: E.Sub, np.multiply: E.Mul, np.true_divide: E.Div}


def _binary(ufunc: Any, a: Any, b: Any) -> Any:
    if type(a) is GraphArray and type(b) is GraphArray:
        prim = _SAME_DTYPE.get(ufunc)
        ta, tb = a.t, b.t
        dt = ta._data.dtype
        if prim is not None and dt.kind == "f" and dt == tb._data.dtype:
            return GraphArray(prim.apply(ta, tb))
    fn = _BINARY.get(ufunc)
    if fn is None:
        return NotImplemented
    ta, tb = _tensor(a), _tensor(b)
    if not isinstance(ta, Tensor):  # a number first: keep the tensor's dtype (weak scalar)
        if ufunc is np.add or ufunc is np.multiply:
            ta, tb = tb, ta
        elif ufunc is np.subtract:
            return GraphArray(E.rsub(tb, ta))
        elif ufunc is np.true_divide:
            return GraphArray(E.mul(U.reciprocal(tb), ta))
        else:
            ta = _wrap(np.asarray(ta, tb._data.dtype))
    elif not isinstance(tb, Tensor) and ufunc not in _TAKES_NUMBERS:
        tb = _wrap(np.asarray(tb, ta._data.dtype))
    return GraphArray(fn(ta, tb))


_TAKES_NUMBERS = {np.add, np.subtract, np.multiply, np.true_divide, np.power}


def _unary(fn: Any) -> Any:
    return lambda a: GraphArray(fn(_tensor(a)))


_UNARY = {
    np.negative: _unary(U.neg),
    np.exp: _unary(U.exp),
    np.exp2: _unary(U.exp2),
    np.expm1: _unary(U.expm1),
    np.log: _unary(U.log),
    np.log2: _unary(U.log2),
    np.log10: _unary(U.log10),
    np.log1p: _unary(U.log1p),
    np.sqrt: _unary(U.sqrt),
    np.sin: _unary(U.sin),
    np.cos: _unary(U.cos),
    np.tan: _unary(U.tan),
    np.arcsin: _unary(U.asin),
    np.arccos: _unary(U.acos),
    np.arctan: _unary(U.atan),
    np.sinh: _unary(U.sinh),
    np.cosh: _unary(U.cosh),
    np.tanh: _unary(U.tanh),
    np.arcsinh: _unary(U.asinh),
    np.arccosh: _unary(U.acosh),
    np.arctanh: _unary(U.atanh),
    np.reciprocal: _unary(U.reciprocal),
    np.square: _unary(U.square),
    np.absolute: _unary(U.abs),
    np.conjugate: lambda a: a.conj(),
}
_CONSTANT_UFUNCS = {
    np.sign,
    np.floor,
    np.ceil,
    np.trunc,
    np.rint,
    np.floor_divide,
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.invert,
    np.bitwise_and,
    np.bitwise_or,
    np.isnan,
    np.isinf,
    np.isfinite,
}


# -- NumPy functions ------------------------------------------------------------------------------
def _where(cond: Any, a: Any, b: Any) -> GraphArray:
    c = _wrap(np.asarray(_value(cond), bool))
    ta, tb = _tensor(a), _tensor(b)
    if not isinstance(ta, Tensor) and not isinstance(tb, Tensor):
        return np.where(_value(cond), ta, tb)
    return GraphArray(E.where(c, ta, tb))


def _axes(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    return tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)


def _flip(a: Any, axis: Any = None) -> GraphArray:
    return GraphArray(S.flip(_tensor(a), _axes(axis, a.ndim)))


def _roll(a: Any, shift: Any, axis: Any = None) -> GraphArray:
    return GraphArray(S.roll(_tensor(a), shift, axis))


def _pad(a: Any, pad_width: Any, mode: str = "constant", **kw: Any) -> GraphArray:
    if mode != "constant" or kw.get("constant_values", 0) != 0:
        return NotImplemented
    widths = [tuple(w) for w in np.broadcast_to(np.asarray(pad_width), (a.ndim, 2))]
    flat = [int(v) for lo, hi in reversed(widths) for v in (lo, hi)]  # last dim first
    return GraphArray(S.constant_pad(_tensor(a), flat))


def _split(a: Any, indices: Any, axis: int = 0) -> list:
    n = a.shape[axis]
    if isinstance(indices, (int, np.integer)):  # NumPy: that many equal sections
        indices = range(n // int(indices), n, n // int(indices))
    bounds = [0, *(int(i) for i in indices), n]
    pre = (slice(None),) * axis
    return [a[(*pre, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:])]


def _concatenate(arrays: Any, axis: int = 0, **kw: Any) -> GraphArray:
    return GraphArray(J.cat([_tensor_of(x) for x in arrays], axis))


def _stack(arrays: Any, axis: int = 0, **kw: Any) -> GraphArray:
    return GraphArray(J.stack([_tensor_of(x) for x in arrays], axis))


def _tensor_of(x: Any) -> Tensor:
    t = _tensor(x)
    return t if isinstance(t, Tensor) else _wrap(np.asarray(t))


def _cumsum(a: Any, axis: Any = None, dtype: Any = None) -> GraphArray:
    t = _tensor_of(a)
    if axis is None:
        t, axis = S.reshape(t, (-1,)), 0
    r = GraphArray(R.cumsum(t, axis))
    return r if dtype is None else r.astype(dtype)


def _cumprod(a: Any, axis: Any = None) -> GraphArray:
    t = _tensor_of(a)
    if axis is None:
        t, axis = S.reshape(t, (-1,)), 0
    return GraphArray(R.cumprod(t, axis))


def _take(a: Any, indices: Any, axis: Any = None) -> GraphArray:
    idx = np.asarray(list(indices) if isinstance(indices, range) else indices, np.int64)
    if axis is None:
        return GraphArray(X.Index.apply(S.reshape(_tensor(a), (-1,)), (idx,)))
    return a[(slice(None),) * (axis % a.ndim) + (idx,)]


def _zeros_like(a: Any, dtype: Any = None, **kw: Any) -> np.ndarray:
    return np.zeros(a.shape, dtype or a.dtype)


def _ones_like(a: Any, dtype: Any = None, **kw: Any) -> np.ndarray:
    return np.ones(a.shape, dtype or a.dtype)


def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> GraphArray:
    return GraphArray(S.expand(_tensor(a), tuple(shape)))


def _expand_dims(a: Any, axis: Any) -> GraphArray:
    t = _tensor(a)
    for ax in sorted(_axes(axis, 0)):
        t = S.unsqueeze(t, ax)
    return GraphArray(t)


def _moveaxis(a: Any, source: Any, destination: Any) -> GraphArray:
    return GraphArray(S.movedim(_tensor(a), source, destination))


def _swapaxes(a: Any, axis1: int, axis2: int) -> GraphArray:
    return GraphArray(S.transpose(_tensor(a), axis1, axis2))


def _clip(a: Any, a_min: Any = None, a_max: Any = None, **kw: Any) -> Any:
    if kw or isinstance(a_min, GraphArray) or isinstance(a_max, GraphArray):
        return NotImplemented  # bounds on the graph: NumPy raises TypeError
    return GraphArray(U.clamp(_tensor(a), a_min, a_max))


def _tri(upper: bool) -> Any:
    return lambda m, k=0: GraphArray(S.Tri.apply(_tensor_of(m), int(k), upper))


def _solve(a: Any, b: Any) -> GraphArray:
    # NaN where ``a`` is singular (a backward's solve_or_nan), not LinAlgError.
    return GraphArray(LS.Solve.apply(_tensor_of(a), _tensor_of(b), True))


def _cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None):
    if axis is None and not axisa == axisb == axisc:
        return NotImplemented
    return GraphArray(LS.Cross.apply(_tensor_of(a), _tensor_of(b), -1 if axis is None else axis))


def _sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    return a.sum(axis=axis, dtype=dtype, keepdims=keepdims)


_FUNCTIONS = {
    np.where: _where,
    np.flip: _flip,
    np.roll: _roll,
    np.pad: _pad,
    np.split: _split,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.cumsum: _cumsum,
    np.cumprod: _cumprod,
    np.take: _take,
    np.zeros_like: _zeros_like,
    np.ones_like: _ones_like,
    np.broadcast_to: _broadcast_to,
    np.expand_dims: _expand_dims,
    np.moveaxis: _moveaxis,
    np.swapaxes: _swapaxes,
    np.sum: _sum,
    np.clip: _clip,
    np.tril: _tri(False),
    np.triu: _tri(True),
    np.linalg.solve: _solve,
    np.cross: _cross,
    # Tests of a value (is a gradient all zeros?): constants.
    np.any: lambda a, *args, **kw: np.any(_value(a), *args, **kw),
    np.all: lambda a, *args, **kw: np.all(_value(a), *args, **kw),
    np.reshape: lambda a, shape, **kw: a.reshape(shape),
    np.transpose: lambda a, axes=None: a.transpose(axes),
    np.matmul: lambda a, b, **kw: _binary(np.matmul, a, b),
    np.real: lambda a: a.real,
    np.imag: lambda a: a.imag,
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
}


# -- running a formula on the graph ---------------------------------------------------------------
class _GraphCtx:
    """The ``ctx`` a formula sees under create_graph: ``saved_tensors`` gives GraphArrays for
    the saved inputs and outputs (connected to the graph where the originals were); every other
    field is the node's own (``needs_input_grad``, which every formula reads, copied into a slot:
    no ``__getattr__`` call)."""

    __slots__ = ("_node", "needs_input_grad")

    def __init__(self, node: Any) -> None:
        self._node = node
        self.needs_input_grad = node.needs_input_grad

    def __getattr__(self, name: str) -> Any:
        return getattr(self._node, name)

    @property
    def saved_tensors(self) -> tuple:
        node = self._node
        saved = node.saved_tensors  # (raises if freed or modified in place)
        vcs = node._saved_vc
        if not vcs:
            return saved
        saved = list(saved)
        for i, _, _, src in vcs:
            saved[i] = GraphArray(_saved_tensor(node, saved[i], src))
        return tuple(saved)


def _saved_tensor(node: Any, data: np.ndarray, src: int) -> Tensor:
    """A tensor for saved ``data``: the input leaf itself, or a handle on the graph position
    (``(node, output_nr)``) of the input or output it was; a constant for inputs that did
    not require grad."""
    if src >= 0:
        edge = node.next_edges[src]
        if edge is None:
            return _wrap(data)
        if isinstance(edge, Tensor):
            return edge
        fn, nr = edge
    else:
        fn, nr = node, ~src
    t = _wrap(data)
    t._rg = True
    t._grad_fn = fn
    if nr:
        t.__dict__["_out_nr"] = nr
    return t


def run_formula(cls: type, node: Any, grads: tuple) -> tuple:
    """Run ``cls.backward`` on GraphArrays (create_graph): Tensors in, Tensors out."""
    if len(grads) == 1:  # the common case, without the generators
        g = grads[0]
        res = cls.backward(_GraphCtx(node), None if g is None else GraphArray(g))
    else:
        res = cls.backward(_GraphCtx(node), *(None if g is None else GraphArray(g) for g in grads))
    if type(res) is not tuple:
        return (res.t if type(res) is GraphArray else _result(res),)
    return tuple([r.t if type(r) is GraphArray else _result(r) for r in res])


def _result(r: Any) -> Any:
    if r is None or isinstance(r, Tensor):
        return r
    if isinstance(r, GraphArray):
        return r.t
    return _wrap(np.asarray(r))  # a constant gradient (zeros of a piecewise-constant op)
