"""ONNX translations of the tensor operations (methods, ``ember.*``, ``ember.nn.functional.*``).

Each handler gets the graph, the call's result and the call's own arguments, and returns the
ONNX value name(s) of the result. Shapes are the traced ones, except that reshapes keep the
dimensions they copy from their input (and the caller's ``-1``) symbolic, so a dynamic batch
size still works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ._graph import ExportError, Graph
from ._tracer import OPS


def op(*names: str):
    """Register a handler under several names (method, function, dunder)."""

    def deco(fn):
        for n in names:
            OPS[n] = fn
        return fn

    return deco


def onnx_type(t: Tensor) -> int:
    import onnx

    return onnx.helper.np_dtype_to_tensor_dtype(t.detach().numpy().dtype)


def operand(g: Graph, v: Any, out: Tensor) -> str:
    """``v`` as an input of an elementwise node producing ``out`` (cast to ``out``'s type)."""
    if not isinstance(v, Tensor):
        return g.like(v, out)
    name = g.name(v)
    if v.dtype != out.dtype:
        name = g.node("Cast", [name], to=onnx_type(out))
    return name


def axis(d: int, ndim: int) -> int:
    return d + ndim if d < 0 else d


# ---- elementwise -----------------------------------------------------------------------------
def _binary(kind: str, reverse: bool = False):
    def handler(g: Graph, out: Tensor, a: Any, b: Any, *rest: Any, alpha: Any = 1, **kw: Any):
        if rest:
            alpha = rest[0]
        if kw.get("rounding_mode") is not None:
            raise ExportError("ember.onnx.export: div with rounding_mode is not supported")
        x, y = operand(g, a, out), operand(g, b, out)
        if alpha != 1:
            y = g.node("Mul", [y, g.like(alpha, out)])
        return g.node(kind, [y, x] if reverse else [x, y])

    return handler


for _names, _kind, _rev in (
    (("add", "add_", "__add__", "__iadd__", "__radd__"), "Add", False),
    (("sub", "sub_", "subtract", "__sub__", "__isub__"), "Sub", False),
    (("__rsub__", "rsub"), "Sub", True),
    (("mul", "mul_", "multiply", "__mul__", "__imul__", "__rmul__"), "Mul", False),
    (("div", "div_", "divide", "true_divide", "__truediv__", "__itruediv__"), "Div", False),
    (("__rtruediv__",), "Div", True),
    (("pow", "pow_", "__pow__"), "Pow", False),
    (("__rpow__",), "Pow", True),
    (("maximum",), "Max", False),
    (("minimum",), "Min", False),
):
    op(*_names)(_binary(_kind, _rev))


def _compare(kind: str):
    def handler(g: Graph, out: Tensor, a: Any, b: Any) -> str:
        ref = a if isinstance(a, Tensor) else b
        return g.node(kind, [operand(g, a, ref), operand(g, b, ref)])

    return handler


for _names, _kind in (
    (("gt", "greater", "__gt__"), "Greater"),
    (("lt", "less", "__lt__"), "Less"),
    (("ge", "greater_equal", "__ge__"), "GreaterOrEqual"),
    (("le", "less_equal", "__le__"), "LessOrEqual"),
    (("eq", "__eq__"), "Equal"),
):
    op(*_names)(_compare(_kind))

_UNARY = {
    "Relu": ("relu", "relu_"),
    "Sigmoid": ("sigmoid", "sigmoid_"),
    "Tanh": ("tanh", "tanh_"),
    "Exp": ("exp", "exp_"),
    "Log": ("log", "log_"),
    "Sqrt": ("sqrt", "sqrt_"),
    "Abs": ("abs", "abs_", "__abs__"),
    "Neg": ("neg", "neg_", "negative", "__neg__"),
    "Sin": ("sin",),
    "Cos": ("cos",),
    "Erf": ("erf",),
    "Floor": ("floor",),
    "Ceil": ("ceil",),
    "Reciprocal": ("reciprocal",),
    "Sign": ("sign",),
    "Identity": ("contiguous", "clone", "detach", "__pos__"),
}
for _kind, _names in _UNARY.items():
    op(*_names)(lambda g, out, x, *a, _k=_kind, **k: g.node(_k, [g.name(x)]))


@op("rsqrt")
def _rsqrt(g: Graph, out: Tensor, x: Tensor) -> str:
    return g.node("Reciprocal", [g.node("Sqrt", [g.name(x)])])


@op("square")
def _square(g: Graph, out: Tensor, x: Tensor) -> str:
    n = g.name(x)
    return g.node("Mul", [n, n])


@op("clamp", "clip", "clamp_")
def _clamp(g: Graph, out: Tensor, x: Tensor, min: Any = None, max: Any = None) -> str:
    lo = "" if min is None else operand(g, min, out)
    hi = "" if max is None else operand(g, max, out)
    return g.node("Clip", [g.name(x), lo, hi])


@op("where")
def _where(g: Graph, out: Tensor, cond: Tensor, a: Any, b: Any) -> str:
    return g.node("Where", [g.name(cond), operand(g, a, out), operand(g, b, out)])


# ---- activations (functional and method forms) -----------------------------------------------
def gelu(g: Graph, x: str, approximate: str, like: Tensor) -> str:
    """GELU: the opset-20 op, or its erf / tanh formula below opset 20."""
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    half = g.node("Mul", [x, g.like(0.5, like)])
    if approximate == "tanh":
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [x3, g.like(0.044715, like)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.like(np.sqrt(2 / np.pi), like)])])
    else:
        t = g.node("Erf", [g.node("Div", [x, g.like(np.sqrt(2.0), like)])])
    return g.node("Mul", [half, g.node("Add", [t, g.like(1.0, like)])])


@op("F.gelu")
def _gelu(g: Graph, out: Tensor, x: Tensor, approximate: str = "none") -> str:
    return gelu(g, g.name(x), approximate, out)


@op("F.relu", "F.relu_")
def _f_relu(g: Graph, out: Tensor, x: Tensor, inplace: bool = False) -> str:
    return g.node("Relu", [g.name(x)])


OPS["F.sigmoid"] = lambda g, out, x: g.node("Sigmoid", [g.name(x)])
OPS["F.tanh"] = lambda g, out, x: g.node("Tanh", [g.name(x)])


@op("F.silu")
def _silu(g: Graph, out: Tensor, x: Tensor, inplace: bool = False) -> str:
    n = g.name(x)
    return g.node("Mul", [n, g.node("Sigmoid", [n])])


@op("F.leaky_relu")
def _leaky(g: Graph, out: Tensor, x: Tensor, negative_slope: float = 0.01, inplace: bool = False):
    return g.node("LeakyRelu", [g.name(x)], alpha=float(negative_slope))


@op("F.elu")
def _elu(g: Graph, out: Tensor, x: Tensor, alpha: float = 1.0, inplace: bool = False) -> str:
    return g.node("Elu", [g.name(x)], alpha=float(alpha))


def _softmax(kind: str):
    def handler(g: Graph, out: Tensor, x: Tensor, dim: Any = None, *a: Any, **k: Any) -> str:
        if k.get("dtype") is not None or (a and a[-1] is not None and not isinstance(a[-1], int)):
            raise ExportError(f"ember.onnx.export: {kind} with a dtype is not supported")
        if dim is None:
            raise ExportError(f"ember.onnx.export: {kind} needs an explicit dim")
        return g.node(kind, [g.name(x)], axis=axis(dim, x.ndim))

    return handler


op("softmax", "F.softmax")(_softmax("Softmax"))
op("log_softmax", "F.log_softmax")(_softmax("LogSoftmax"))


@op("F.dropout", "dropout")
def _dropout(g: Graph, out: Tensor, x: Tensor, p: float = 0.5, training: bool = True, *a, **k):
    if training and p > 0:
        raise ExportError("ember.onnx.export: dropout in training mode cannot be exported")
    return g.node("Identity", [g.name(x)])


@op("F.linear")
def _f_linear(g: Graph, out: Tensor, x: Tensor, weight: Tensor, bias: Any = None) -> str:
    return linear(g, g.name(x), weight, bias)


def linear(g: Graph, x: str, weight: Tensor, bias: Any) -> str:
    """``x @ weight.T + bias`` for an input of any rank."""
    wt = g.const(weight.detach().numpy().T, "weight")
    y = g.node("MatMul", [x, wt])
    return y if bias is None else g.node("Add", [y, g.name(bias)])


@op("F.layer_norm")
def _f_layer_norm(g, out, x, normalized_shape, weight=None, bias=None, eps=1e-5) -> str:
    return layer_norm(g, g.name(x), x, tuple(normalized_shape), weight, bias, eps)


def layer_norm(g: Graph, x: str, t: Tensor, shape: tuple, weight: Any, bias: Any, eps: float):
    """LayerNormalization over the last ``len(shape)`` dims (ones/zeros when not affine)."""
    w = g.name(weight) if weight is not None else g.const(np.ones(shape, t.numpy().dtype))
    b = g.name(bias) if bias is not None else g.const(np.zeros(shape, t.numpy().dtype))
    return g.node("LayerNormalization", [x, w, b], axis=-len(shape), epsilon=float(eps))


# ---- products --------------------------------------------------------------------------------
op("matmul", "mm", "bmm", "__matmul__")(
    lambda g, out, a, b: g.node("MatMul", [g.name(a), g.name(b)])
)
op("__rmatmul__")(lambda g, out, a, b: g.node("MatMul", [g.name(b), g.name(a)]))


# ---- reductions ------------------------------------------------------------------------------
def _reduce(kind: str):
    def handler(g: Graph, out: Tensor, x: Tensor, dim: Any = None, keepdim: bool = False, *a, **k):
        if a or k.get("dtype") is not None or out.dtype != x.dtype:
            raise ExportError(f"ember.onnx.export: {kind} with a dtype change is not supported")
        if isinstance(dim, int):
            dim = (dim,)
        dims = range(x.ndim) if dim is None else [axis(d, x.ndim) for d in dim]
        if g.opset < 18 and kind != "ReduceSum":  # axes became an input in opset 18
            return g.node(kind, [g.name(x)], axes=list(dims), keepdims=int(bool(keepdim)))
        return g.node(kind, [g.name(x), g.ints(dims)], keepdims=int(bool(keepdim)))

    return handler


op("mean")(_reduce("ReduceMean"))
op("sum")(_reduce("ReduceSum"))
op("amax")(_reduce("ReduceMax"))
op("amin")(_reduce("ReduceMin"))


def _arg(kind: str):
    def handler(g: Graph, out: Tensor, x: Tensor, dim: Any = None, keepdim: bool = False) -> str:
        if dim is None:
            flat = g.node("Reshape", [g.name(x), g.ints([-1])])
            return g.node(kind, [flat], axis=0, keepdims=0)
        return g.node(kind, [g.name(x)], axis=axis(dim, x.ndim), keepdims=int(keepdim))

    return handler


op("argmax")(_arg("ArgMax"))
op("argmin")(_arg("ArgMin"))


# ---- shapes ----------------------------------------------------------------------------------
def reshape_target(x: Tensor, out: Tensor, requested: Any = ()) -> list:
    """The Reshape shape: the caller's -1, 0 where a leading dim is copied, else the size."""
    req = list(requested)
    if len(req) == 1 and isinstance(req[0], (tuple, list)):
        req = list(req[0])
    target = list(out.shape)
    for i, (a, b) in enumerate(zip(x.shape, target)):
        if a != b:
            break
        target[i] = 0
    if len(req) == len(target) and -1 in req:
        target[req.index(-1)] = -1
    return target


@op("view", "reshape")
def _reshape(g: Graph, out: Tensor, x: Tensor, *shape: Any, **k: Any) -> str:
    shape = shape or (k.get("shape") or k.get("size"),)
    if shape and isinstance(shape[0], type):
        raise ExportError("ember.onnx.export: view(dtype) is not supported")
    return g.node("Reshape", [g.name(x), g.ints(reshape_target(x, out, shape))])


@op("flatten")
def _flatten(g: Graph, out: Tensor, x: Tensor, start_dim: int = 0, end_dim: int = -1) -> str:
    return flatten(g, g.name(x), x, out, start_dim, end_dim)


def flatten(g: Graph, name: str, x: Tensor, out: Tensor, start: int, end: int) -> str:
    """ONNX Flatten when it means the same (everything from dim 1 into one), else a Reshape."""
    if x.ndim > 1 and axis(start, x.ndim) == 1 and axis(end, x.ndim) == x.ndim - 1:
        return g.node("Flatten", [name], axis=1)
    if x.ndim > 0 and axis(start, x.ndim) == 0 and axis(end, x.ndim) == x.ndim - 1:
        return g.node("Reshape", [name, g.ints([-1])])
    return g.node("Reshape", [name, g.ints(reshape_target(x, out))])


@op("permute")
def _permute(g: Graph, out: Tensor, x: Tensor, *dims: Any) -> str:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return g.node("Transpose", [g.name(x)], perm=[axis(d, x.ndim) for d in dims])


@op("transpose", "swapaxes", "t")
def _transpose(g: Graph, out: Tensor, x: Tensor, d0: int = 0, d1: int = 1) -> str:
    perm = list(range(x.ndim))
    if x.ndim >= 2:
        a, b = axis(d0, x.ndim), axis(d1, x.ndim)
        perm[a], perm[b] = perm[b], perm[a]
    return g.node("Transpose", [g.name(x)], perm=perm)


# the properties: .T reverses every dim, .mT swaps the last two
op("T")(lambda g, out, x: g.node("Transpose", [g.name(x)], perm=list(range(x.ndim))[::-1]))
op("mT")(
    lambda g, out, x: g.node(
        "Transpose", [g.name(x)], perm=[*range(x.ndim - 2), x.ndim - 1, x.ndim - 2]
    )
)


@op("unsqueeze")
def _unsqueeze(g: Graph, out: Tensor, x: Tensor, dim: int) -> str:
    return g.node("Unsqueeze", [g.name(x), g.ints([axis(dim, x.ndim + 1)])])


@op("squeeze")
def _squeeze(g: Graph, out: Tensor, x: Tensor, dim: Any = None) -> str:
    if dim is None:
        dims = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        dims = [axis(d, x.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        dims = [d for d in dims if x.shape[d] == 1]
    return g.node("Squeeze", [g.name(x), g.ints(dims)]) if dims else g.node("Identity", [g.name(x)])


@op("cat", "concat", "concatenate")
def _cat(g: Graph, out: Tensor, tensors: Any, dim: int = 0, **k: Any) -> str:
    names = [operand(g, t, out) for t in tensors if t.numel() or t.ndim != 1]
    return g.node("Concat", names, axis=axis(k.get("axis", dim), out.ndim))


@op("stack")
def _stack(g: Graph, out: Tensor, tensors: Any, dim: int = 0) -> str:
    d = g.ints([axis(dim, out.ndim)])
    return g.node(
        "Concat",
        [g.node("Unsqueeze", [operand(g, t, out), d]) for t in tensors],
        axis=axis(dim, out.ndim),
    )


@op("split", "chunk", "unbind")
def _split(g: Graph, out: Any, x: Tensor, arg: Any = None, dim: int = 0) -> list:
    sizes = [t.shape[axis(dim, x.ndim)] for t in out]
    parts = g.node("Split", [g.name(x), g.ints(sizes)], n_out=len(out), axis=axis(dim, x.ndim))
    parts = [parts] if isinstance(parts, str) else parts
    if len(out) and out[0].ndim < x.ndim:  # unbind drops the axis
        parts = [g.node("Squeeze", [p, g.ints([axis(dim, x.ndim)])]) for p in parts]
    return parts


@op("expand")
def _expand(g: Graph, out: Tensor, x: Tensor, *sizes: Any) -> str:
    return g.node("Expand", [g.name(x), g.ints(out.shape)])


@op("to", "float", "double", "long", "int", "half", "bool", "type_as")
def _cast(g: Graph, out: Tensor, x: Tensor, *a: Any, **k: Any) -> str:
    if out.dtype == x.dtype:
        return g.node("Identity", [g.name(x)])
    return g.node("Cast", [g.name(x)], to=onnx_type(out))


@op("__getitem__")
def _getitem(g: Graph, out: Tensor, x: Tensor, key: Any) -> str:
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        fill = x.ndim - (len(key) - 1 - sum(k is None for k in key))
        key = key[:i] + (slice(None),) * fill + key[i + 1 :]
    name, dim, drop, add = g.name(x), 0, [], []
    for k in key:
        if k is None:
            add.append(dim + len(add) - len(drop))
            continue
        if isinstance(k, slice):
            if k != slice(None):
                start, stop, step = k.indices(x.shape[dim])
                if step < 0:
                    raise ExportError("ember.onnx.export: negative slice steps are not supported")
                end = stop if k.stop is not None else np.iinfo(np.int64).max
                name = g.node(
                    "Slice", [name, g.ints([start]), g.ints([end]), g.ints([dim]), g.ints([step])]
                )
        elif isinstance(k, int):
            name = g.node("Gather", [name, g.const(np.asarray(k, np.int64))], axis=dim)
            drop.append(dim)
            dim -= 1
        elif (
            isinstance(k, Tensor)
            and k.ndim <= 1
            and not k.dtype.is_floating_point
            and str(k.dtype) != "torch.bool"
        ):
            name = g.node("Gather", [name, operand_index(g, k)], axis=dim)
        else:
            raise ExportError(
                f"ember.onnx.export: indexing with {type(k).__name__} is not supported"
            )
        dim += 1
    for a in add:
        name = g.node("Unsqueeze", [name, g.ints([a])])
    return name


def operand_index(g: Graph, k: Tensor) -> str:
    name = g.name(k)
    return name if k.dtype == D.int64 else g.node("Cast", [name], to=7)  # 7 = INT64
