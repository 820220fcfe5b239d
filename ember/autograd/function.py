"""Graph nodes and ``Function``: the one mechanism behind every differentiable op.

A graph node is the ``ctx`` object of one op call. Built-in primitives (``Primitive``) work on raw
arrays for speed; user-defined ``Function`` subclasses get and return Tensors, exactly as in
PyTorch. Both make the same kind of node and run through the same engine (``engine.py``).

Edges (``node.next_edges``, one per positional argument of ``apply``) are ``None`` when no gradient
flows, the leaf Tensor itself when the gradient accumulates into ``.grad``, or a
``(node, output_index)`` pair.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import _bfloat16 as _BF
from .._tensor import Tensor, _wrap
from ..utils.hooks import RemovableHandle
from .anomaly_mode import ANOMALY, record_trace
from .grad_mode import STATE, no_grad

__all__ = ["Function", "FunctionCtx", "BackwardNode", "Primitive", "once_differentiable"]

_new = object.__new__
_ndarray, _generic, _asarray = np.ndarray, np.generic, np.asarray


class FunctionCtx:
    """What ``forward`` may call on ``ctx``; also the graph node that ``grad_fn`` returns.

    Rarely set fields are class-level defaults, so creating a node on every op call costs only
    the fields that op sets (``next_edges``, ``needs_input_grad`` and what it saves).
    """

    _saved: Any = None
    _saved_vc: Any = None
    _freed = False
    _n_out = 1
    _out_hooks: Any = None
    _retain: Any = None
    _hooks: Any = None
    _pre_hooks: Any = None
    _materialize = True
    _non_diff: Any = None
    _dirty: Any = None
    # False routes the node through the engine's general path (hooks, user Functions, several
    # outputs); built-in single-output primitives without hooks take the fast path.
    _fast = False

    def save_for_backward(self, *items: Any) -> None:
        self._saved = items

    def mark_non_differentiable(self, *outputs: Any) -> None:
        self._non_diff = {id(o) for o in outputs}

    def mark_dirty(self, *tensors: Any) -> None:
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    def save_for_forward(self, *tensors: Any) -> None:
        """Kept for a ``jvp`` (accepted so forward runs; ember has no forward-mode AD, and
        ``Function.jvp`` raises)."""
        self.__dict__["saved_for_forward"] = tensors

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` stored; raises if it was freed or modified in place."""
        saved = self._saved
        if saved is None:
            self._check_saved()  # raises if a backward freed them
            return ()
        vcs = self._saved_vc
        if vcs:  # (inline rather than a call to _check_saved: every backward formula gets here)
            for i, vc, version, _ in vcs:
                if vc[0] != version:
                    _raise_modified(self, saved[i], vc[0], version)
        return saved

    def _check_saved(self) -> None:
        """Raise PyTorch's errors when the saved values were freed by an earlier backward, or
        when a saved tensor was modified in place since forward (its version moved)."""
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved "
                    "tensors after they have already been freed). Saved intermediate values of the "
                    "graph are freed when you call .backward() or autograd.grad(). Specify "
                    "retain_graph=True if you need to backward through the graph a second time or "
                    "if you need to access saved tensors after calling backward."
                )
            return
        vcs = self._saved_vc
        if vcs:
            for i, vc, version, _ in vcs:
                if vc[0] != version:
                    _raise_modified(self, saved[i], vc[0], version)


def _raise_modified(node: FunctionCtx, item: Any, now: int, expected: int) -> None:
    data = item._data if isinstance(item, Tensor) else item
    dt = getattr(data, "dtype", None)
    shape = list(getattr(data, "shape", ()))
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{dt} {shape}], which is used by {type(node).__name__}, is at version {now}; "
        f"expected version {expected} instead. Hint: the operation that failed was an in-place "
        "change to a tensor saved for backward; use an out-of-place op or .clone() it first."
    )


class BackwardNode(FunctionCtx):
    """Base of the per-Function node classes (``MulBackward0`` & co.)."""

    _fn: Any = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        out = []
        for e in self.next_edges:
            if e is None:
                out.append((None, 0))
            elif isinstance(e, Tensor):
                out.append((AccumulateGrad(e), 0))
            else:
                out.append(e)
        return tuple(out)

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = OrderedDict()
        self._fast = False
        return _add_hook(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = OrderedDict()
        self._fast = False
        return _add_hook(self._pre_hooks, fn)

    def _release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True


class AccumulateGrad:
    """The node that accumulates a leaf's gradient (as shown by ``next_functions``)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions: tuple = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


def _add_hook(hooks: OrderedDict, fn: Any) -> RemovableHandle:
    """Store ``fn`` in ``hooks`` under a new handle's id and return the handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    return handle


class _NoCtx:
    """The ``ctx`` given to a primitive's forward when no graph is recorded.

    Saving is a no-op and attributes land in one shared dict (cheaper than a node per call; the
    last values stay referenced until the next no-grad call overwrites them).
    """

    needs_input_grad = ()

    def save_for_backward(self, *items: Any) -> None:
        pass

    def mark_non_differentiable(self, *outputs: Any) -> None:
        pass


NO_CTX = _NoCtx()


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        raw = ns.get("_raw", getattr(cls, "_raw", False))
        # `node_name` lets a primitive print as PyTorch's node does (MulScalar -> MulBackward0).
        node_name = ns.get("node_name") or (name + "Backward" + ("0" if raw else ""))
        # Built-in primitives' nodes take the engine's fast path until a hook is added.
        node_ns = {"_fn": cls, "_fast": raw, "_bw": staticmethod(cls.backward)}
        if raw and not getattr(cls, "materialize_grads", True):
            node_ns["_materialize"] = False  # its backward takes None for outputs without one
        cls._Node = type(node_name, (BackwardNode,), node_ns)


class Function(metaclass=_FunctionMeta):
    """A differentiable operation with a hand-written backward, as ``torch.autograd.Function``.

    Subclass it with ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` static methods
    (or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``) and call ``apply``.

    >>> import ember
    >>> class Square(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = ember.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).backward()
    >>> x.grad
    tensor([6.])
    """

    _raw = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    # ember has no vmap or forward-mode AD: these raise as PyTorch's defaults do.
    generate_vmap_rule = False

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD (ember has no forward-mode AD; see docs/differences.md)."
        )

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod "
            "or set generate_vmap_rule=True (ember has no vmap for custom Functions; see "
            "docs/differences.md)."
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        return _apply_user(cls, args, kwargs)

    # -- engine side -----------------------------------------------------------------------
    @classmethod
    def _run_backward(cls, ctx: BackwardNode, grads: tuple) -> tuple:
        """First-order backward: arrays in, arrays out (the user's backward sees Tensors)."""
        res = cls._checked_backward(ctx, tuple(None if g is None else _wrap(g) for g in grads))
        return tuple(None if r is None else r._data for r in res)

    @classmethod
    def _run_backward_graph(cls, ctx: BackwardNode, grads: tuple) -> tuple:
        """create_graph: Tensors in, Tensors out; grad mode is on, so the backward records."""
        return cls._checked_backward(ctx, grads)

    @classmethod
    def _checked_backward(cls, ctx: BackwardNode, grads: tuple) -> tuple:
        res = cls.backward(ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(ctx.next_edges)
        if len(res) != n_in:
            if len(res) > n_in and all(r is None for r in res[n_in:]):
                res = res[:n_in]
            else:
                raise RuntimeError(
                    f"function {cls.__name__}Backward returned an incorrect number of gradients "
                    f"(expected {n_in}, got {len(res)})"
                )
        out = []
        for r, e in zip(res, ctx.next_edges):
            if r is None or e is None:
                out.append(None)
            elif isinstance(r, Tensor):
                out.append(r)
            else:
                raise TypeError(
                    f"function {cls.__name__}Backward returned a gradient of type "
                    f"{type(r).__name__}, expected a Tensor or None"
                )
        return tuple(out)


_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


def once_differentiable(fn):
    """Mark a custom Function's backward as not differentiable: it runs without recording, and
    under ``create_graph=True`` its results carry a node that raises if differentiated again."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *grads)
        if not STATE.enabled:  # a first-order backward (the engine turns recording off)
            return outputs
        edges = [_edge(g) for g in grads if isinstance(g, Tensor) and g._rg]
        if not edges:  # as PyTorch: nothing to differentiate through, plain results
            return outputs
        single = not isinstance(outputs, tuple)
        res = delayed_error(_ONCE_MSG, (outputs,) if single else outputs, edges)
        return res[0] if single else res

    return wrapper


class _DelayedError(Function):
    """The node put on results whose computation cannot be differentiated (again): running it
    raises ``ctx.message``. Its edges reach the inputs, so any gradient through it gets here."""

    node_name = "Error"

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise ctx.exc(ctx.message)


def delayed_error(message: str, outputs: tuple, edges: list, exc: type = RuntimeError) -> tuple:
    """``outputs`` (Tensors or None) re-issued as outputs of a node that raises ``exc(message)``
    when a gradient reaches it (PyTorch's DelayedError)."""
    node = _DelayedError._Node()
    node.message = message
    node.exc = exc
    node.next_edges = tuple(edges)
    node.needs_input_grad = (True,) * len(edges)
    node._n_out = len(outputs)
    res = []
    for k, o in enumerate(outputs):
        if isinstance(o, Tensor):
            t = _wrap(o._data)
            t._rg = True
            t._grad_fn = node
            if k:
                t.__dict__["_out_nr"] = k
            o = t
        res.append(o)
    return tuple(res)


def _apply_user(cls: type, args: tuple, kwargs: dict) -> Any:
    T = Tensor
    need = STATE.enabled and any(isinstance(a, T) and a._rg for a in args)
    ctx = cls._Node()
    with no_grad():
        if cls.setup_context is not Function.setup_context:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)  # as PyTorch: called with or without a graph
        else:
            out = cls.forward(ctx, *args, **kwargs)
    is_tuple = isinstance(out, tuple)
    outs = out if is_tuple else (out,)
    input_ids = {id(a) for a in args if isinstance(a, T)}
    dirty = ctx._dirty or ()
    if dirty:
        _check_dirty(args, outs, dirty, need)
    results = []
    if not need:
        for o in outs:
            if isinstance(o, T) and id(o) in input_ids:
                if id(o) in dirty:
                    o._vc[0] += 1
                else:
                    o = o._shallow_view()
            results.append(o)
        return tuple(results) if is_tuple else results[0]
    _, ctx.next_edges, ctx.needs_input_grad = _edges(args)
    if ANOMALY.enabled:
        record_trace(ctx)
    non_diff = ctx._non_diff or ()
    n = 0
    for o in outs:
        if isinstance(o, T):
            if id(o) in input_ids and id(o) not in dirty:
                o = o._shallow_view()
            if id(o) in non_diff or not (o.dtype.is_floating_point or o.dtype.is_complex):
                o._rg = False
            else:
                o._rg = True
                o._grad_fn = ctx
                o.__dict__["_out_nr"] = n
            if id(o) in dirty:
                o._vc[0] += 1
        results.append(o)
        n += 1
    ctx._n_out = n
    ctx.__dict__["_out_meta"] = [
        (o.shape, o._data.dtype) if isinstance(o, T) else ((), None) for o in results
    ]
    # Record versions of saved tensors so backward can detect in-place changes.
    saved = ctx._saved
    if saved:
        ctx._saved_vc = tuple(
            (i, s._vc, s._vc[0], None) for i, s in enumerate(saved) if isinstance(s, T)
        )
    return tuple(results) if is_tuple else results[0]


def _check_dirty(args: tuple, outs: tuple, dirty: set, need: bool) -> None:
    """PyTorch's errors for ``ctx.mark_dirty``: every dirty input must be returned, and (when
    a graph is recorded) none may be a leaf that requires grad, or a view of one."""
    out_ids = {id(o) for o in outs}
    if not dirty <= out_ids:
        raise RuntimeError(
            "Some elements marked as dirty during the forward method were not returned as "
            "output. The inputs that are modified inplace must all be outputs of the Function."
        )
    if not need:
        return
    for a in args:
        if not isinstance(a, Tensor) or id(a) not in dirty:
            continue
        if a._rg and a._grad_fn is None and a._base is None:
            raise RuntimeError(
                "a leaf Variable that requires grad has been used in an in-place operation."
            )
        base = a._base
        if base is not None and base._rg and base._grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )


class Primitive(Function):
    """A built-in op: ``forward(ctx, *arrays_and_args) -> array`` and
    ``backward(ctx, grad) -> array | tuple`` on raw arrays (docs/architecture.md, "How an op is
    written").

    ``view = True`` marks ops whose output shares memory with input 0 (it then shares the input's
    version counter). ``n_outputs`` > 1 returns a tuple; ``non_differentiable`` lists outputs
    (by index) that never require grad.
    """

    _raw = True
    view = False
    non_differentiable: tuple = ()
    # True when `backward` also runs under create_graph=True (see docs/architecture.md,
    # "Higher-order gradients"); False: differentiating its gradient raises, naming the op.
    twice_differentiable = False
    # For ops PyTorch cannot differentiate twice either: (exception type, PyTorch's message),
    # raised instead of ember's "cannot differentiate X twice" when that is tried.
    double_backward_error: tuple | None = None
    # False for a primitive with several outputs whose backward takes None for the outputs
    # that got no gradient (instead of arrays of zeros: no work on them).
    materialize_grads = True
    # True for primitives whose backward follows PyTorch's convention for complex numbers
    # (gradient = dL/dRe + i dL/dIm); others refuse to record a graph with complex results.
    complex_grad = False
    # True for ops that work on bfloat16 arrays as they are (views, casts, data movement);
    # others meeting a bfloat16 input compute in float32 and round (ember/_bfloat16.py).
    bf16_native = False
    # True where PyTorch rounds a Python-number operand to bfloat16 first (add, sub, pow; mul
    # and div keep it in float32).
    bf16_round_scalars = False

    @classmethod
    def apply(cls, *args: Any) -> Any:
        T = Tensor
        if _BF_ACTIVE[0] and not (cls.view or cls.bf16_native) and _BF.has_bf16(args):
            return _BF.apply_in_float32(cls, args)
        if STATE.enabled:
            for a in args:
                if isinstance(a, T) and a._rg:
                    return _apply_graph(cls, args)
        if len(args) == 1:
            out = cls.forward(NO_CTX, args[0]._data)
        else:
            out = cls.forward(NO_CTX, *[a._data if isinstance(a, T) else a for a in args])
        if type(out) is tuple:
            return tuple(_wrap(o) for o in out)
        res = _wrap(out)
        if cls.view:
            src = args[0]
            res._vc = src._vc
            res.__dict__["_base"] = src._base if src._base is not None else src
        return res

    @classmethod
    def _run_backward(cls, ctx: BackwardNode, grads: tuple) -> Any:
        return cls.backward(ctx, *grads)

    @classmethod
    def _run_backward_graph(cls, ctx: BackwardNode, grads: tuple) -> tuple:
        """create_graph without a differentiable backward: the first-order gradients, as
        outputs of a node that raises, naming this op, if they are differentiated again
        (never a silently zero second derivative). ``ember.ops`` overrides this for the
        primitives marked ``twice_differentiable``."""
        res = cls._run_backward(ctx, tuple(None if g is None else g._data for g in grads))
        if type(res) is not tuple:
            res = (res,)
        edges = [_edge(g) for g in grads if g is not None and g._rg]
        edges += [e for e in ctx.next_edges if e is not None]
        name = type(ctx).__name__
        exc, message = cls.double_backward_error or (
            RuntimeError,
            f"the derivative of {name}'s backward is not implemented: ember cannot "
            f"differentiate {cls.__name__} twice (create_graph=True, then backward again)",
        )
        outs = tuple(None if r is None else _wrap(r) for r in res)
        return delayed_error(message, outs, edges, exc)


_BF_ACTIVE = _BF.ACTIVE
_ONE_TRUE = (True,)
_TRUE_FALSE = (True, False)


def _edge(t: Tensor) -> Any:
    """The edge to a tensor that requires grad: the leaf itself, or ``(node, output_nr)``."""
    fn = t._grad_fn
    return t if fn is None else (fn, t._out_nr)


def _edges(args: tuple) -> tuple:
    """The general case: ``(arrays, next_edges, needs_input_grad)`` for any arguments."""
    arrays = []
    edges = []
    nig = []
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            if a._rg:
                edges.append(_edge(a))
                nig.append(True)
                continue
        else:
            arrays.append(a)
        edges.append(None)
        nig.append(False)
    return arrays, tuple(edges), tuple(nig)


def _any_tensor(args: tuple, start: int) -> bool:
    for k in range(start, len(args)):
        if isinstance(args[k], Tensor):
            return True
    return False


def _apply_graph(cls: type, args: tuple) -> Any:
    """Run ``cls.forward`` with a new node as ``ctx`` and connect its output(s) to the graph.

    The common arities skip the per-argument lists of ``_edges`` (the only difference: they
    know which arguments are tensors); ``test_engine_structure`` checks that they build the
    same node as the general path.
    """
    ctx = cls._Node()
    n = len(args)
    if n == 1:
        # One input, and it requires grad (that is why we are here): the unary ops.
        a = args[0]
        ctx.next_edges = (_edge(a),)
        ctx.needs_input_grad = _ONE_TRUE
        out = cls.forward(ctx, a._data)
    elif n == 2 and not isinstance(args[1], Tensor):
        # A tensor that requires grad and a constant: the scalar ops.
        a = args[0]
        ctx.next_edges = (_edge(a), None)
        ctx.needs_input_grad = _TRUE_FALSE
        out = cls.forward(ctx, a._data, args[1])
    elif n == 2 and isinstance(args[0], Tensor):
        # Two tensors (matmul, tensor + tensor).
        a, b = args
        ea = _edge(a) if a._rg else None
        eb = _edge(b) if b._rg else None
        ctx.next_edges = (ea, eb)
        ctx.needs_input_grad = (ea is not None, eb is not None)
        out = cls.forward(ctx, a._data, b._data)
    elif isinstance(args[0], Tensor) and args[0]._rg and not _any_tensor(args, 1):
        # A tensor that requires grad and constants: reductions, shape ops (sum, reshape...).
        a = args[0]
        ctx.next_edges = (_edge(a),) + (None,) * (n - 1)
        ctx.needs_input_grad = (True,) + (False,) * (n - 1)
        out = cls.forward(ctx, a._data, *args[1:])
    else:
        arrays, ctx.next_edges, ctx.needs_input_grad = _edges(args)
        out = cls.forward(ctx, *arrays)
    if ANOMALY.enabled:
        record_trace(ctx)
    if type(out) is tuple:
        res = []
        nd = cls.non_differentiable
        for o in out:
            if o.dtype.kind == "c" and not cls.complex_grad:
                _refuse_complex(cls)
        for i, o in enumerate(out):
            t = _wrap(o)
            if i not in nd:
                t._rg = True
                t._grad_fn = ctx
                if i:
                    t.__dict__["_out_nr"] = i
            res.append(t)
        ctx._n_out = len(out)
        ctx._fast = False
        ctx.__dict__["_out_meta"] = [(o.shape, o.dtype) for o in out]
        result = tuple(res)
        saved = ctx._saved
        if saved:
            _record_versions(ctx, saved, args, res)
        return result
    if out.dtype.kind == "c" and not cls.complex_grad:
        _refuse_complex(cls)
    result = _new(Tensor)
    if type(out) is not _ndarray and isinstance(out, _generic):
        out = _as_array_output(ctx, out)  # a 0-d result comes back from NumPy as a scalar
    result._data = out
    result._rg = True
    result._grad_fn = ctx
    if cls.view:
        src = args[0]
        result._vc = src._vc
        result.__dict__["_base"] = src._base if src._base is not None else src
    else:
        result._vc = [0]
    saved = ctx._saved
    if saved:
        if len(saved) == 1 and saved[0] is out:
            vc = result._vc  # saved its own output (tanh, exp...)
            ctx._saved_vc = ((0, vc, vc[0], ~0),)
        else:
            _record_versions(ctx, saved, args, (result,))
    return result


def _as_array_output(ctx: BackwardNode, scalar: Any) -> np.ndarray:
    """A 0-d array for a NumPy scalar result; what the op saved of it is that array too, so an
    in-place write into the result is seen by the saved-tensor version check (as in torch)."""
    out = _asarray(scalar)
    saved = ctx._saved
    if saved and any(s is scalar for s in saved):
        ctx._saved = tuple(out if s is scalar else s for s in saved)
    return out


def _refuse_complex(cls: type) -> None:
    """A complex result of a primitive whose backward is not written for complex numbers: a
    gradient through it would be silently wrong, so refuse to record it (ember._complex lists the
    primitives that are complex-aware)."""
    raise NotImplementedError(
        f"ember cannot differentiate {cls.__name__} on complex tensors (complex autograd covers "
        "the FFTs, real/imag/abs/angle/conj, view_as_real/view_as_complex, +, -, *, /, sums and "
        "shape ops; see docs/differences.md). Detach the input or compute under no_grad()."
    )


def _saved_leading_args(ctx: BackwardNode, saved: tuple, args: tuple) -> bool:
    """The saved arrays are the first inputs' data in order (None for a None input, e.g.
    ``LinearBackward``): record their versions without the search; False if not so."""
    rec = []
    for i, s in enumerate(saved):
        a = args[i]
        if s is None and a is None:
            continue
        if not isinstance(a, Tensor) or a._data is not s:
            return False
        rec.append((i, a._vc, a._vc[0], i))
    ctx._saved_vc = tuple(rec) or None
    return True


def _record_versions(ctx: BackwardNode, saved: tuple, args: tuple, outs: Any) -> None:
    """Remember the version of every saved array that is a tensor's data, and whose data it is
    (``j`` for input ``j``, ``~k`` for output ``k``: create_graph turns it back into a tensor)."""
    if len(saved) == 2 and len(args) == 2:
        # Saved its two inputs (matmul, mul, div): the common case, without the search below.
        a, b = args
        if (
            isinstance(a, Tensor)
            and isinstance(b, Tensor)
            and saved[0] is a._data
            and saved[1] is b._data
        ):
            va, vb = a._vc, b._vc
            ctx._saved_vc = ((0, va, va[0], 0), (1, vb, vb[0], 1))
            return
    elif len(saved) <= len(args) and _saved_leading_args(ctx, saved, args):
        return
    rec = []
    for i, s in enumerate(saved):
        if s is None:  # ctx.save_for_backward(None, ...) is allowed, as in PyTorch
            continue
        for j, a in enumerate(args):
            if getattr(a, "_data", None) is s:
                rec.append((i, a._vc, a._vc[0], j))
                break
        else:
            for k, o in enumerate(outs):
                if o._data is s:
                    rec.append((i, o._vc, o._vc[0], ~k))
                    break
    if rec:
        ctx._saved_vc = rec
