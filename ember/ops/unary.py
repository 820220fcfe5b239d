"""Elementwise primitives of one tensor: exp/log, trigonometric and hyperbolic functions,
sqrt, sigmoid, abs/sign/floor/round, relu, erf, and clamp."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._bfloat16 import ACTIVE as _BF16
from .._out import accepts_out, into
from .._scratch import scratch
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE
from ._bitmask import where_or_zero
from ._blockwise import MIN_BLOCKED, blocked, memory_flat, new_like, run_blocked
from ._kernels import refuse
from ._parallel import MIN_WORK, binary_into, unary_into
from ._util import Primitive, broadcast_error, grad_where, on_graph
from .elementwise import cast
from .unary_grads import sigmoid_grad, tanh_backward


def _unary(name: str, fwd, bwd, save: str = "x", float_only: bool = True) -> tuple:
    """Make a unary primitive class and its function. ``bwd(g, x, out)`` gives the input grad."""

    if save == "x":

        def forward(ctx, x):
            ctx.save_for_backward(x)
            return fwd(x)

        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return bwd(g, x, None)

    elif save == "out":

        def forward(ctx, x):
            out = fwd(x)
            ctx.save_for_backward(out)
            return out

        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return bwd(g, None, out)

    else:

        def forward(ctx, x):
            return fwd(x)

        def backward(ctx, g):
            return bwd(g, None, None)

    cls = type(
        name,
        (Primitive,),
        {
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            # Every `bwd` below is written with operations GraphArray translates.
            "twice_differentiable": True,
        },
    )

    if float_only:

        def fn(input: Tensor, *, out: Any = None) -> Tensor:
            if out is not None:
                return into(out, fn.__name__, fn, input)
            if input.dtype.kind not in "fc":
                input = cast(input, D.get_default_dtype())
            if (input._rg and STATE.enabled) or (_BF16[0] and input.dtype is D.bfloat16):
                return cls.apply(input)  # (bfloat16: computed in float32, ember/_bfloat16.py)
            return _wrap(fwd(input._data))  # inference: no graph machinery

    else:

        def fn(input: Tensor, *, out: Any = None) -> Tensor:
            if out is not None:
                return into(out, fn.__name__, fn, input)
            return cls.apply(input)

    fn.__name__ = name.lower()
    fn.__doc__ = f"Elementwise ``{name.lower()}`` (differentiable)."
    return cls, fn


def _zero_grad(g, x, out):
    return np.zeros_like(g)


def _sign_fwd(x):
    if x.dtype == np.bool_:
        return x.copy()
    if x.dtype.kind == "f":
        return np.where(np.isnan(x), x.dtype.type(0), np.sign(x))  # PyTorch's sign(NaN) is 0
    return np.sign(x)


Neg, _neg = _unary("Neg", np.negative, lambda g, x, o: -g, save="none", float_only=False)


@accepts_out
def neg(input: Tensor, *, out: Any = None) -> Tensor:
    """``-input`` elementwise (PyTorch refuses bool tensors)."""
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(input)


Exp, exp = _unary("Exp", np.exp, lambda g, x, o: g * o, save="out")
Exp2, exp2 = _unary("Exp2", np.exp2, lambda g, x, o: g * o * np.log(2).astype(g.dtype), save="out")
Expm1, expm1 = _unary("Expm1", np.expm1, lambda g, x, o: g * (o + 1), save="out")
Log, log = _unary("Log", np.log, lambda g, x, o: g / x)
Log2, log2 = _unary("Log2", np.log2, lambda g, x, o: g / (x * np.log(2).astype(x.dtype)))
Log10, log10 = _unary("Log10", np.log10, lambda g, x, o: g / (x * np.log(10).astype(x.dtype)))
Log1p, log1p = _unary("Log1p", np.log1p, lambda g, x, o: g / (1 + x))
Sqrt, sqrt = _unary("Sqrt", np.sqrt, lambda g, x, o: g / (2 * o), save="out")
Rsqrt, rsqrt = _unary(
    "Rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, o: -0.5 * g * o * o * o, save="out"
)
Sin, sin = _unary("Sin", np.sin, lambda g, x, o: g * np.cos(x))
Cos, cos = _unary("Cos", np.cos, lambda g, x, o: -g * np.sin(x))
Tan, tan = _unary("Tan", np.tan, lambda g, x, o: g * (1 + o * o), save="out")
Asin, asin = _unary("Asin", np.arcsin, lambda g, x, o: g / np.sqrt(1 - x * x))
Acos, acos = _unary("Acos", np.arccos, lambda g, x, o: -g / np.sqrt(1 - x * x))
Atan, atan = _unary("Atan", np.arctan, lambda g, x, o: g / (1 + x * x))
Sinh, sinh = _unary("Sinh", np.sinh, lambda g, x, o: g * np.cosh(x))
Cosh, cosh = _unary("Cosh", np.cosh, lambda g, x, o: g * np.sinh(x))


# (ops/unary_grads.py: one recorded op under create_graph, not three). NumPy's tanh itself, no
# wrapper splitting big inputs: that Python frame cost ~0.1 us on every tanh (the no_grad
# 100-op chain 251 -> 270 us), for a one-pass op that big models rarely run.
Tanh, tanh = _unary("Tanh", np.tanh, tanh_backward, save="out")
Asinh, asinh = _unary("Asinh", np.arcsinh, lambda g, x, o: g / np.sqrt(x * x + 1))
Acosh, acosh = _unary("Acosh", np.arccosh, lambda g, x, o: g / np.sqrt(x * x - 1))
Atanh, atanh = _unary("Atanh", np.arctanh, lambda g, x, o: g / (1 - x * x))
Reciprocal, reciprocal = _unary("Reciprocal", np.reciprocal, lambda g, x, o: -g * o * o, save="out")
Square, _square = _unary("Square", np.square, lambda g, x, o: 2 * g * x, float_only=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, accurate for all x: for x << 0 exp(-x) overflows to inf (warning
    silenced) and 1 / (1 + inf) is 0, the correctly rounded value."""
    if x.size >= MIN_BLOCKED and blocked(x):  # big: in L2-sized blocks, per-core chunks
        out = new_like(x)
        run_blocked(_sigmoid_into, (x,), (out,), "sigmoid", {"over": "ignore"})
        return out
    e = np.negative(x)
    if type(e) is not np.ndarray:  # a 0-d input: NumPy returned a scalar
        with np.errstate(over="ignore"):
            return np.asarray(1 / (1 + np.exp(e)), dtype=x.dtype)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.divide(1.0, e, out=e)  # (NumPy's float32 divide is ~15% faster than reciprocal)


def _sigmoid_into(x: np.ndarray, out: np.ndarray) -> None:
    """``_sigmoid`` into ``out`` (the same passes; exp's overflow to be silenced)."""
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(1.0, out, out=out)


# 1 / (1 + exp(-x)) with exp's overflow silenced (shared with the fused activations): several
# times faster than selecting between two stable branches with np.where, and exact at the tails.
Sigmoid, sigmoid = _unary("Sigmoid", _sigmoid, lambda g, x, o: sigmoid_grad(g, o), save="out")


def _abs_grad(g: Any, x: Any, o: Any) -> Any:
    if on_graph(x) and x.dtype.kind == "c":
        # sgn(z) = z / |z| (0 at 0) on the graph: np.sign would be a constant there, and the
        # second derivative of a complex abs is not zero.
        return g * (x / np.where(x == 0, 1, np.abs(x)))
    return g * np.sign(x)


Abs, _abs = _unary("Abs", np.abs, _abs_grad, float_only=False)


@accepts_out
def abs(input: Tensor, *, out: Any = None) -> Tensor:  # noqa: A001
    """``|input|`` elementwise (PyTorch has no bool kernel)."""
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    return Abs.apply(input)


Sign, sign = _unary("Sign", _sign_fwd, _zero_grad, save="none", float_only=False)
Floor, _floor = _unary("Floor", np.floor, _zero_grad, save="none", float_only=False)
Ceil, _ceil = _unary("Ceil", np.ceil, _zero_grad, save="none", float_only=False)
Trunc, _trunc = _unary("Trunc", np.trunc, _zero_grad, save="none", float_only=False)
Frac, _frac = _unary("Frac", lambda x: x - np.trunc(x), lambda g, x, o: g, save="none")


def _refusing(fn: Any, kernel: str, kinds: str) -> Any:
    """``fn`` with PyTorch's NotImplementedError for the dtype kinds it has no kernel for."""

    @functools.wraps(fn)
    def checked(input: Tensor, *, out: Any = None) -> Tensor:
        refuse(kernel, kinds, input)
        return fn(input, out=out)

    return checked


floor = _refusing(_floor, "floor_vml_cpu", "b")
ceil = _refusing(_ceil, "ceil_vml_cpu", "b")
trunc = _refusing(_trunc, "trunc_vml_cpu", "b")
frac = _refusing(_frac, "frac_cpu", "biu")


# NumPy 2.4's maximum has no SIMD loop when one operand is a scalar (a stride-0 operand):
# against a zeros array of the same shape it runs 1.3-1.9x faster while both fit in cache
# (measured float32, 256 to 192K elements; thread CPU time), and slower beyond (1 MB: 82 vs 75
# us), so only operands up to _ZEROS_MAX_BYTES use it. One read-only flat zeros buffer per dtype,
# grown to the largest operand seen, is shared by every call.
_ZEROS_MAX_BYTES = 1 << 19
_zeros: dict = {}


def _zeros_for(x: np.ndarray) -> Any:
    """A read-only zeros array of ``x``'s shape and dtype, or 0 when ``x`` does not qualify."""
    if x.nbytes > _ZEROS_MAX_BYTES or not x.flags.c_contiguous:
        return 0
    z = _zeros.get(x.dtype)
    if z is None or z.size < x.size:
        z = np.zeros(max(x.size, 256), x.dtype)
        z.flags.writeable = False
        _zeros[x.dtype] = z
    return z[: x.size].reshape(x.shape)


# max(0, x), zeros first: NumPy returns the second operand when both compare equal, so -0.
# stays -0. as in PyTorch (which keeps x unless x < 0); NaN propagates.
def _relu_fwd(x):
    if x.nbytes <= _ZEROS_MAX_BYTES:
        # A plain allocation up to 512 KB: glibc hands back the block freed last (still in
        # cache) and faults no pages at these sizes (0 minor faults per step), where the pool
        # gives its least recently used array: fwd+bwd at (64, 1024) float32 49 -> 42 us,
        # (128, 1024) 116 -> 107 us (thread CPU time, alternating in one process).
        if x.flags.c_contiguous:
            return np.maximum(_zeros_for(x), x, dtype=x.dtype)
        return _max0(x, np.empty_like(x))  # (empty_like keeps a dense layout: channels-last)
    # Big: a pooled output (no fresh pages to fault in every step) in x's memory layout, filled
    # in per-core chunks when very big (docs/performance.md, items 3 and 4).
    return unary_into(_max0, x, scratch.like(x))


def _max0(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``max(0, x)`` into ``out`` (returned), against the cached zeros array in memory order
    when both are dense in the same layout."""
    same = x.strides == out.strides and x.dtype == out.dtype
    xf, of = (memory_flat(x), memory_flat(out)) if same else (None, None)
    if xf is None or of is None:
        np.maximum(_zeros_for(x), x, out=out, dtype=x.dtype)  # (a scalar 0 unless C order)
        return out
    if x.nbytes <= _ZEROS_MAX_BYTES:
        # A dense layout other than C order (channels-last) in memory order against the zeros
        # array: 8x32x16x16 channels-last float32 25 -> 13.5 us (a pooled output and a scalar 0
        # before).
        np.maximum(_zeros_for(xf), xf, out=of, dtype=x.dtype)
        return out
    # Big: blocks of the cached zeros array's size, so that it stays in cache (LeNet's first
    # ReLU, 64x6x24x24 channels-last float32: 101 us with a scalar 0, 40 us in 512 KB blocks).
    step = _ZEROS_MAX_BYTES // x.itemsize
    zeros = _zeros_for(xf[:step])
    for a in range(0, xf.size, step):
        b = min(a + step, xf.size)
        np.maximum(zeros[: b - a], xf[a:b], out=of[a:b], dtype=x.dtype)
    return out


def _relu_bwd(g, x, o):
    # A pooled gradient only when it is cut into per-core chunks: a pooled array is a view, which
    # a leaf's .grad would have to copy (one more pass over fresh memory).
    if on_graph(o) or on_graph(g):
        return g * (o != 0)  # o >= 0 or NaN: a NaN output passes its gradient, as PyTorch's
    if o.size < MIN_WORK:
        return where_or_zero(g, o != 0)  # (an inf or NaN gradient stops at 0, as PyTorch's)
    return binary_into(_mask_grad, g, o, scratch.like(o, np.result_type(g.dtype, np.bool_)))


def _mask_grad(g, o, out):
    # ``o`` is relu's output (>= 0, or NaN): ``o != 0`` is ``~(o <= 0)`` in one pass, so a NaN
    # output passes its gradient as in PyTorch's threshold_backward.
    where_or_zero(g, o != 0, out)


Relu, _relu = _unary("Relu", _relu_fwd, _relu_bwd, save="out", float_only=False)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)`` elementwise."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


absolute = abs
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
negative = neg
fix = trunc


def square(input: Tensor) -> Tensor:
    if input.dtype is D.bool:
        input = cast(input, D.int64)
    return Square.apply(input)


class Round(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, decimals):
        return np.asarray(x.round(decimals))

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), None


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, as PyTorch does."""
    refuse("round_vml_cpu" if not decimals else "round_cpu", "b", input)
    return Round.apply(input, decimals)


def _erf_np(x: np.ndarray) -> np.ndarray:
    # Abramowitz-Stegun is too coarse for parity; use math.erf through a vectorised ufunc.
    # A 0-d input comes back from the object ufunc as a Python float: make it an array again.
    return np.asarray(_ERF(x)).astype(x.dtype, copy=False)


_ERF = np.frompyfunc(math.erf, 1, 1)


class Erf(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.asarray(_erf_np(x), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * np.exp(-x * x)  # a Python float keeps the dtype


def erf(input: Tensor) -> Tensor:
    if input.dtype.kind not in "fc":
        input = cast(input, D.get_default_dtype())
    return Erf.apply(input)


# ---- clamp -------------------------------------------------------------------------------
class Clamp(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        if out is x:
            out = x.copy()
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        # PyTorch's rule: input gets the gradient where lo <= x <= hi (ties included), a tensor
        # bound where x lies beyond it.
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        nig = ctx.needs_input_grad
        mask = True
        if lo is not None:
            mask = mask & (x >= lo)
        if hi is not None:
            mask = mask & (x <= hi)
        gx = grad_where(mask, g, x.shape)
        glo = ghi = None
        if isinstance(lo, np.ndarray) and nig[1]:
            glo = grad_where(x < lo, g, lo.shape)
        if isinstance(hi, np.ndarray) and nig[2]:
            ghi = grad_where(x > hi, g, hi.shape)
        return gx, glo, ghi


@accepts_out
def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Any = None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]`` (either bound may be None or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Tensor bounds: one Clamp node on the promoted dtype (not maximum/minimum, whose ties
        # split the gradient where PyTorch's clamp gives it all to the input).
        bounds = [v for v in (min, max) if isinstance(v, Tensor)]
        dt = input.dtype
        for v in bounds:
            dt = D.result_type_dims(dt, input.ndim, v.dtype, v.ndim)
        lo = cast(min, dt) if isinstance(min, Tensor) else _scalar_like(min, dt)
        hi = cast(max, dt) if isinstance(max, Tensor) else _scalar_like(max, dt)
        try:
            return Clamp.apply(cast(input, dt), lo, hi)
        except ValueError as e:
            raise (broadcast_error(*(v for v in (input, lo, hi) if v is not None)) or e) from None
    dt = input.dtype
    for v in (min, max):
        if v is not None:
            dt = D.result_type_scalar(dt, v)  # clamp(int tensor, 0.5) is a float tensor
    return Clamp.apply(cast(input, dt), min, max)


def _scalar_like(v: Any, dt: D.dtype) -> Tensor | None:
    return None if v is None else _wrap(np.asarray(v, dtype=dt.np))


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)
