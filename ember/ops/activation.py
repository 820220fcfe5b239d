"""Fused activation primitives: one graph node each, with a hand-written backward.

Composed from exp/log/where these would cost 3-8 nodes and as many temporaries per call; fused
they cost one, and the stable forms (softplus, log-sigmoid, GELU through erfc, ELU through
expm1) neither overflow nor lose precision for large |x|. Hot paths avoid ``np.where`` on
data-dependent masks (it branches per element: ~20x slower than arithmetic on a random sign
pattern) and blend with ``max``/``min``, a multiplied mask or an integer bit mask
(``ops/_bitmask.py``: exact at NaN and infinities) instead. Scalars (slopes, bounds)
are passed as Python floats so NumPy keeps the input's dtype. Kinks follow PyTorch's side
conventions (e.g. ReLU-like ops give gradient 0 at exactly 0, hardtanh passes it only strictly
inside the bounds).

Kernels with several passes are functions writing into given outputs, run through
``_blockwise.run_kernel``: big inputs in L2-sized blocks and per-core chunks, every temporary in
the input's memory layout (a C-order temporary beside a channels-last input made every later
pass run NumPy's slow mixed-layout loop: SiLU fwd+bwd at (32, 64, 32, 32) 22.9 -> 7.5 ms).

Every primitive here is twice differentiable (docs/architecture.md, "Higher-order gradients"):
under create_graph the same backward runs on GraphArrays. Intermediates a forward saved for
speed (sigmoid, tanh, GELU's derivative) would be constants there, so the formulas recompute
them from the saved input when ``on_graph``; the first-order path is unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import NO_CTX
from . import _bitmask as bits
from ._blockwise import blocked, new_like, run_blocked, run_kernel
from ._erfc import erfc, gelu_f32, gelu_f32_into
from ._parallel import binary_into
from ._util import Primitive, carrying, on_graph, unbroadcast
from .unary import Erf, Sigmoid, Tanh, _sigmoid
from .unary import _zeros_for as _zeros_like

__all__ = [
    "LeakyRelu",
    "Elu",
    "Gelu",
    "Silu",
    "Mish",
    "Softplus",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
    "Threshold",
    "Softsign",
    "LogSigmoid",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
    "Prelu",
    "Glu",
    "MulMask",
    "AlphaMask",
    "SELU_ALPHA",
    "SELU_SCALE",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
# NumPy's error state for the blocked kernels (their chunks may run on a pool worker thread)
_QUIET = {"over": "ignore", "under": "ignore", "invalid": "ignore"}


_ONE, _TWO = (None,), (None, None)  # the dtypes of one and two outputs like the input's


def _sig(x: Any) -> Any:
    """``sigmoid(x)`` of an array, or of a GraphArray through the (differentiable) Sigmoid op."""
    return x.apply(Sigmoid) if on_graph(x) else _sigmoid(x)


def _linked(res: Any, x: Any) -> Any:
    """``res`` on the graph, connected to ``x`` with a zero derivative: PyTorch's backward of a
    piecewise-linear op reads its input, so the gradient requires grad whenever the input does
    (and a second backward gives zeros, not an error)."""
    return np.where(np.zeros(res.shape, bool), x, res)


def _softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` computed as ``max(x, 0) + log1p(exp(-|x|))``."""
    if on_graph(x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    out = np.abs(x, out=np.empty_like(x))
    out *= -1
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(_zeros_like(x), x)
    return out


class LeakyRelu(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        # x where x > 0, else slope * x, in two passes: for slope <= 1 that is max(slope x, x),
        # for slope > 1 min(slope x, x). NaN propagates and -0. stays -0. as in PyTorch.
        return run_kernel(_leaky_fwd, (x,), _ONE, "leaky", None, (slope,))[0]

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        slope = ctx.slope
        if on_graph(x) or on_graph(g):
            d = (x > 0).astype(g.dtype) * (1 - slope) + slope
            return _linked(g * d, x), None
        return run_kernel(_leaky_bwd, (x, g), (g.dtype,), "leaky_bwd", None, (slope,))[0], None


def _leaky_fwd(x: np.ndarray, out: np.ndarray, slope: float) -> None:
    out = np.multiply(x, slope, out=out)
    (np.maximum if slope <= 1 else np.minimum)(out, x, out=out)


def _leaky_bwd(x: np.ndarray, g: np.ndarray, d: np.ndarray, slope: float) -> None:
    # The 0/1 mask as a bool compare and a bool -> float copy: a compare written into a
    # float array casts in buffers (64K float32: 28.0 vs 32.6 us for this backward).
    np.copyto(d, np.greater(x, 0.0))
    d *= 1 - slope
    d += slope  # 1 where x > 0, else slope (NaN too, as PyTorch)
    d *= g


class Elu(Primitive):
    """``scale * x`` for x > 0, else ``alpha * scale * (exp(input_scale * x) - 1)``: covers
    ELU, SELU and CELU (PyTorch's ``elu`` kernel with its three coefficients)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale, grad_input_scale=None):
        # grad_input_scale: CELU's backward in PyTorch takes 1 / float32(alpha) as its input
        # scale (derivatives.yaml rounds alpha to float), the forward 1 / alpha in double.
        ctx.coefs = (alpha * scale, scale, input_scale)
        ctx.grad_in_s = grad_input_scale
        args = (alpha, scale, input_scale)
        if ctx is NO_CTX:  # (m not kept: expm1 in place in it, one array fewer)
            return run_kernel(_elu_fwd_unkept, (x,), _ONE, "elu", None, args)[0]
        # m = min(x, 0) * input_scale is kept for the backward's exp(m): one pass fewer
        # there (ELU fwd+bwd kernels 96 -> 85 us at (64, 1024) float32)
        out, m = run_kernel(_elu_fwd, (x,), _TWO, "elu", None, args)
        ctx.save_for_backward(x, m)
        return out

    @staticmethod
    def backward(ctx, g):
        x, m = ctx.saved_tensors
        a_s, scale, in_s = ctx.coefs
        if ctx.grad_in_s not in (None, in_s):
            in_s = ctx.grad_in_s
            m = np.fmin(x, 0) * in_s if not on_graph(x) else m
        # d/dx alpha*scale*(exp(k x) - 1) = alpha*scale*k*exp(k x). Taken from exp itself, not
        # from the forward's expm1 (+1 would cancel to 0 for x << 0). Elsewhere (x > 0, and NaN
        # as in PyTorch, hence fmin: exp stays finite there) the derivative is scale.
        if on_graph(x) or on_graph(g):
            d = np.exp(np.minimum(x, 0) * in_s) * (a_s * in_s)
            pos = (x > 0).astype(d.dtype) * (scale - a_s * in_s)
            return g * (d + pos), None, None, None, None
        (d,) = run_kernel(_elu_bwd, (x, m, g), (m.dtype,), "elu_bwd", None, (a_s, scale, in_s))
        return d.astype(g.dtype, copy=False), None, None, None, None


def _elu_fwd_unkept(x: np.ndarray, out: np.ndarray, alpha: float, scale: float, in_s: float):
    """Elu's forward into ``out`` alone (``m`` computed in ``out``)."""
    _elu_fwd(x, out, None, alpha, scale, in_s)


def _elu_fwd(
    x: np.ndarray, out: np.ndarray, m: np.ndarray | None, alpha: float, scale: float, in_s: float
) -> None:
    """Elu's forward into ``out``, keeping ``m = fmin(x, 0) * in_s`` (in ``out`` if None)."""
    z = _zeros_like(x)
    # zeros first: NumPy returns the second operand on ties, so -0. gives -0. as in PyTorch.
    # fmin: 0 at NaN, so that the backward's exp(m) stays finite there (PyTorch's gradient
    # at NaN is the slope); the NaN result comes from the positive part below.
    m = np.fmin(z, x, out=out if m is None else m)
    if in_s != 1:  # (1 for ELU and SELU: a pass saved)
        m *= in_s
    neg = np.expm1(m, out=out)
    if alpha * scale != 1:  # (1 for ELU's default: a pass saved)
        neg *= alpha * scale  # 0 where x > 0
    if scale == 1 and in_s == 1 and 0 < alpha <= 1:
        # alpha (e^x - 1) >= x for x <= 0 when alpha <= 1, and the negative part is 0
        # for x > 0: the result is their maximum, one pass into ``neg`` (no second array
        # and sum: the forward 57 -> 39 us at (64, 1024) float32). Ties keep the second
        # operand, so -0. stays -0. (and alpha x rounded to -0. gives -0., as in PyTorch,
        # not the former -0. + 0. = 0.); NaN propagates.
        np.maximum(neg, x, out=neg)
        return
    pos = np.maximum(z, x)
    if scale != 1:
        pos *= scale
    neg += pos


def _elu_bwd(
    x: np.ndarray,
    m: np.ndarray,
    g: np.ndarray,
    d: np.ndarray,
    a_s: float,
    scale: float,
    in_s: float,
) -> None:
    """Elu's input gradient into ``d`` from the forward's ``m = fmin(x, 0) * in_s``."""
    np.exp(m, out=d)
    if a_s * in_s != 1:
        d *= a_s * in_s
    if a_s * in_s == scale:  # ELU(alpha=1), CELU: exp(0) * coefficient is already scale
        d *= g
        return
    neg = np.empty_like(x, dtype=d.dtype)
    np.copyto(neg, np.less_equal(x, 0.0))  # (a compare cast into floats: slower)
    d *= neg
    neg -= 1
    neg *= -scale  # scale where not x <= 0, else 0: exact on both sides
    d += neg
    d *= g


def _gelu_tanh_fwd(x: np.ndarray, out: np.ndarray, t: np.ndarray) -> None:
    """``t = tanh(k (x + c x**3))`` of PyTorch's tanh GELU as ``tanh(x (k + k c x**2))``: five
    passes in place (the constants folded: one multiply fewer than the textbook form); then
    ``out = 0.5 x (1 + t)`` in three."""
    np.square(x, out=t)  # (x * x, bit for bit: a unary loop, 2x faster than multiply(x, x))
    t *= _SQRT_2_OVER_PI * _GELU_C
    t += _SQRT_2_OVER_PI
    t *= x
    np.tanh(t, out=t)
    np.add(t, 1.0, out=out)
    out *= x
    out *= 0.5


def _gelu_tanh_grad(x: np.ndarray, t: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    """``g * (0.5 (1 + t) + 0.5 x (1 - t**2) k (1 + 3 c x**2))`` into ``d`` in eleven
    in-place passes (the textbook form takes fourteen, each with its own temporary)."""
    dt = d.dtype
    np.square(x, out=d)  # 0.5 x k (1 + 3 c x^2)
    d *= 1.5 * _SQRT_2_OVER_PI * _GELU_C
    d += 0.5 * _SQRT_2_OVER_PI
    d *= x
    u = np.square(t, out=np.empty_like(t, dtype=dt))  # 1 - t^2
    np.subtract(1.0, u, out=u)
    d *= u
    np.multiply(t, 0.5, out=u)  # + 0.5 (1 + t)
    d += u
    d += 0.5
    d *= g


def _gelu_f64(x: np.ndarray, out: np.ndarray, d: np.ndarray) -> None:
    """Exact GELU computed in float64 into ``out`` and its derivative into ``d`` (stored in
    x's dtype: float64, or a float16 input). Phi(x) through the Gaussian tail, accurate in both
    tails (1 + erf(x/sqrt 2) is not for x << 0); the products in float64, rounded once."""
    cdf = 0.5 * erfc(x.astype(np.float64) * -_SQRT_HALF, x.dtype)
    pdf = np.exp(-0.5 * np.square(x, dtype=np.float64)) * _INV_SQRT_2PI
    np.add(cdf, x * pdf, out=d)
    np.multiply(x, cdf, out=out)


class Gelu(Primitive):
    """``x * Phi(x)`` (exact, through erfc) or PyTorch's tanh approximation.

    The exact form saves its derivative ``Phi(x) + x phi(x)`` (the forward has every piece of
    it), so that backward is one product."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        if approximate == "tanh":
            out, t = run_kernel(_gelu_tanh_fwd, (x,), _TWO, "gelu_tanh")
            ctx.save_for_backward(x, t)
            return out
        if x.dtype == np.float32 and blocked(x):
            out, d = new_like(x), (new_like(x) if ctx is not NO_CTX else None)
            outs = (out,) if d is None else (out, d)
            run_blocked(gelu_f32_into, (x,), outs, "gelu_f32", _QUIET)
            ctx.save_for_backward(x, d)
            return out
        if x.dtype == np.float32:
            out, d = gelu_f32(x, ctx is not NO_CTX)
            ctx.save_for_backward(x, d)
            return out
        out, d = run_kernel(_gelu_f64, (x,), _TWO, "gelu_f64", _QUIET)
        ctx.save_for_backward(x, d)
        return out

    @staticmethod
    def backward(ctx, g):
        x, aux = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = (
                aux
                if not on_graph(x)
                else carrying(aux, np.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x * x * x)))
            )
            if on_graph(x) or on_graph(g):
                dinner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x * x)
                return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner), None
            dt = np.result_type(x, t, g)
            return run_kernel(_gelu_tanh_grad, (x, t, g), (dt,), "gelu_tanh_bwd")[0], None
        if on_graph(x):  # the derivative recomputed on the graph (the cdf through erf)
            pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
            aux = carrying(aux, (x * _SQRT_HALF).apply(Erf) * 0.5 + x * pdf)
        if not on_graph(g) and blocked(aux, g):  # one pass, memory-bound: per-core chunks
            return binary_into(np.multiply, g, aux, new_like(aux)), None
        return g * aux, None


class Silu(Primitive):
    """``x * sigmoid(x)``, computed as PyTorch's kernel does: ``x / (1 + exp(-x))``.

    The forward keeps ``t = 1 + exp(-x)`` (four passes, no sigmoid array); backward is
    ``g * s * (1 + x (1 - s))`` with ``s = 1 / t``, i.e. ``g * (1 + x - x / t) / t``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        # exp(-x) = inf for x << 0: x / inf = 0 (PyTorch's)
        out, t = run_kernel(_silu_fwd, (x,), _TWO, "silu", {"over": "ignore"})
        ctx.save_for_backward(x, t)
        return out

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        if on_graph(x) or on_graph(g):
            s = _sig(x)
            return g * (s * (1 + x * (1 - s)))
        return run_kernel(_silu_bwd, (x, t, g), (np.result_type(x, g),), "silu_bwd")[0]


def _silu_fwd(x: np.ndarray, out: np.ndarray, t: np.ndarray) -> None:
    """``t = 1 + exp(-x)``, ``out = x / t`` (four passes; exp's overflow to be silenced)."""
    np.negative(x, out=t)
    np.exp(t, out=t)
    t += 1
    np.divide(x, t, out=out)


def _silu_bwd(x: np.ndarray, t: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    """``d = g * (1 + x - x / t) / t``, in place: five passes."""
    np.divide(x, t, out=d)
    np.subtract(x, d, out=d)
    d += 1
    d *= g
    d /= t


class Mish(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        out, t = run_kernel(_mish_fwd, (x,), _TWO, "mish")
        ctx.save_for_backward(x, t)
        return out

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        if on_graph(x):
            t = _softplus(x).apply(Tanh)
        if on_graph(x) or on_graph(g) or x.ndim == 0:
            return g * (t + x * _sig(x) * (1 - t * t))
        return run_kernel(_mish_bwd, (x, t, g), (np.result_type(x, t, g),), "mish_bwd")[0]


def _mish_fwd(x: np.ndarray, out: np.ndarray, t: np.ndarray) -> None:
    """``t = tanh(softplus(x))``, ``out = x t``."""
    np.tanh(_softplus(x), out=t)
    np.multiply(x, t, out=out)


def _mish_bwd(x: np.ndarray, t: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    """``g (t + x sigmoid(x) (1 - t**2))`` into ``d``, in place with two temporaries (the
    same roundings, in the same order, as the expression)."""
    s = _sigmoid(x)
    np.multiply(x, s, out=s)
    u = np.square(t)
    np.subtract(1, u, out=u)
    s *= u
    np.add(t, s, out=d)
    d *= g


class Softplus(Primitive):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``: PyTorch's kernel.

    ``log1p(exp(z))`` is accurate for every ``z`` up to the threshold (for ``z << 0`` it is
    ``exp(z)`` itself; ``exp`` overflows only past 88, where PyTorch's float32 kernel gives inf
    too), so the forward is three passes. It keeps ``e = exp(beta x)``: the derivative is
    ``sigmoid(beta x) = e / (1 + e)``, three passes in backward. The linear part is patched in
    only when some element is past the threshold (rare: a data-dependent select costs several
    arithmetic passes)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, beta, threshold):
        dts = (None, None, np.bool_)
        args = (beta, threshold)
        out, e, lin = run_kernel(_softplus_fwd, (x,), dts, "softplus", {"over": "ignore"}, args)
        ctx.save_for_backward(e, lin, x)  # x: for create_graph (e is an intermediate)
        ctx.beta = beta
        return out

    @staticmethod
    def backward(ctx, g):
        e, lin, x = ctx.saved_tensors
        if on_graph(x) or on_graph(g):
            return np.where(lin, g, g * _sig(x * ctx.beta)), None, None
        dt = np.result_type(e, g)
        quiet = {"invalid": "ignore"}
        return run_kernel(_softplus_bwd, (e, lin, g), (dt,), "softplus_bwd", quiet)[0], None, None


def _softplus_fwd(
    x: np.ndarray, out: np.ndarray, e: np.ndarray, lin: np.ndarray, beta: float, threshold: float
) -> None:
    """``e = exp(beta x)``, ``lin = beta x > threshold`` and ``out = log1p(e) / beta`` (``x``
    where ``lin``; exp's overflow to be silenced)."""
    bx = x if beta == 1 else x * beta
    np.greater(bx, threshold, out=lin)
    np.exp(bx, out=e)
    np.log1p(e, out=out)
    if beta != 1:
        out /= beta
    if lin.any():
        np.copyto(out, x, where=lin)


def _softplus_bwd(e: np.ndarray, lin: np.ndarray, g: np.ndarray, gx: np.ndarray) -> None:
    """``g * e / (1 + e)`` (``g`` where ``lin``); e = inf past the threshold, or PyTorch's NaN
    beyond exp's range (invalid to be silenced)."""
    np.add(e, 1.0, out=gx)
    np.divide(g, gx, out=gx)
    gx *= e
    if lin.any():
        np.copyto(gx, g, where=lin)


class Hardtanh(Primitive):
    """Clamp to ``[min_val, max_val]``; the gradient passes strictly inside the bounds."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        if on_graph(x) or on_graph(g):
            gx = g * ((x > lo) & (x < hi))
            return (_linked(gx, x) if on_graph(x) else gx), None, None
        return bits.where_or_zero(g, (x > lo) & (x < hi)), None, None


def _hardsigmoid(x: np.ndarray, out: np.ndarray, sixth: np.ndarray | None = None) -> None:
    """``clip(x / 6, -1/2, 1/2) + 1/2`` (that is ``clip(x / 6 + 1/2, 0, 1)``) into ``out`` in
    three passes; ``clip(x / 6, -1/2, 1/2)`` is left in ``sixth`` if given."""
    t = np.multiply(x, 1 / 6, out=out if sixth is None else sixth)
    np.clip(t, -0.5, 0.5, out=t)
    np.add(t, 0.5, out=out)


def _hardsigmoid_bwd(x: np.ndarray, g: np.ndarray, gx: np.ndarray) -> None:
    """``g / 6`` strictly between -3 and 3, else 0 (selected: an inf/NaN ``g`` stops at 0)."""
    bits.where_or_zero(g, (x > -3) & (x < 3), out=gx)
    gx *= 1 / 6


def _hardswish_fwd(x: np.ndarray, out: np.ndarray, w: np.ndarray) -> None:
    """``out = x * hardsigmoid(x)`` and its derivative ``w`` (see ``Hardswish``)."""
    _hardsigmoid(x, out, sixth=w)
    # w = clip(x / 6, -1/2, 1/2) is finite unless x is NaN, so the bool mask multiplies
    # it to 0 outside (-3, 3) (x / 6 itself would give inf * 0 = NaN at infinities).
    w *= ((x > -3) & (x < 3)).astype(w.dtype)  # (w * bool casts in buffers: slower)
    w += out  # NaN at NaN: PyTorch's vectorised loop too (its scalar loop gives 1)
    out *= x


def _mul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    np.multiply(a, b, out=out)


class Hardsigmoid(Primitive):
    # PyTorch has no double backward for hardsigmoid (it raises): neither has ember.
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        if x.ndim == 0:
            return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)
        return run_kernel(_hardsigmoid, (x,), _ONE, "hardsigmoid")[0]

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if g.dtype.kind != "f" or x.ndim == 0:
            gx = bits.where_or_zero(g, (x > -3) & (x < 3))
            gx *= 1 / 6
            return gx
        return run_kernel(_hardsigmoid_bwd, (x, g), (g.dtype,), "hardsigmoid_bwd")[0]


class Hardswish(Primitive):
    """``x * hardsigmoid(x)``; the forward saves the derivative (it has both pieces of it):
    ``hardsigmoid(x) + x / 6`` strictly between -3 and 3, else ``hardsigmoid(x)`` (0 or 1)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        if x.ndim == 0 or ctx is NO_CTX:
            ctx.save_for_backward(x, None)
            out = np.add(x, 3.0, out=np.empty_like(x))
            np.clip(out, 0, 6, out=out)
            out *= x
            out *= 1 / 6
            return out
        hs, w = run_kernel(_hardswish_fwd, (x,), _TWO, "hardswish")
        ctx.save_for_backward(x, w)
        return hs

    @staticmethod
    def backward(ctx, g):
        x, d = ctx.saved_tensors
        # 0 up to -3, x/3 + 1/2 strictly between -3 and 3, 1 from 3 on (PyTorch's sides)
        if on_graph(x) or on_graph(g) or d is None:
            d = x / 3 + 0.5
            d *= (x > -3) & (x < 3)
            d += ~(x < 3) if not on_graph(x) else x >= 3
            return d * g
        return run_kernel(_mul, (d, g), (np.result_type(d, g),), "hardswish_bwd")[0]


class Threshold(Primitive):
    """``x`` where ``x > threshold``, else ``value``.

    Floating inputs select through bit masks (``ops/_bitmask.py``): a data-dependent
    ``np.where`` costs ~40 passes."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, threshold, value):
        drop = np.less_equal(x, threshold, out=np.empty_like(x, dtype=bool))  # NaN is kept (torch)
        if x.dtype.kind != "f":
            ctx.save_for_backward(~drop, x)
            return np.where(drop, value, x).astype(x.dtype, copy=False)
        mask = bits.bit_mask(drop, x.dtype, invert=True)
        ctx.save_for_backward(mask, x)  # x: for create_graph
        return bits.select(mask, x, value, np.empty_like(x))

    @staticmethod
    def backward(ctx, g):
        keep, x = ctx.saved_tensors
        if on_graph(x) or on_graph(g):
            return _linked(g * (keep != 0), x), None, None
        if keep.dtype == bool or g.dtype.itemsize != keep.dtype.itemsize:
            return g * keep.astype(bool, copy=False), None, None
        return bits.keep(g, keep), None, None  # 0 where dropped, even for a NaN gradient


class Softsign(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        d = 1 + np.abs(x)
        ctx.save_for_backward(d, x)  # x: for create_graph (d is an intermediate)
        return x / d

    @staticmethod
    def backward(ctx, g):
        d, x = ctx.saved_tensors
        if on_graph(x):
            d = 1 + np.abs(x)
        return g / (d * d)


class LogSigmoid(Primitive):
    """``-softplus(-x)``; the gradient is ``sigmoid(-x)``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        (out,) = run_kernel(_logsigmoid_fwd, (x,), _ONE, "logsigmoid")
        # PyTorch's log_sigmoid returns a contiguous (NCHW) tensor for any input layout: the
        # passes above run in x's layout (one pass each), then one copy
        return out if out.flags.c_contiguous else np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if on_graph(x) or on_graph(g) or x.ndim == 0:
            return g * _sig(-x)
        # (its gradient comes in NCHW order for a channels-last x, as its output: copied into
        # x's layout for the blocked kernel when big)
        quiet = {"over": "ignore", "invalid": "ignore"}
        dt = np.result_type(x, g)
        return run_kernel(_logsigmoid_bwd, (x, g), (dt,), "logsigmoid_bwd", quiet)[0]


def _logsigmoid_fwd(x: np.ndarray, out: np.ndarray) -> None:
    """``min(x, 0) - log1p(exp(-|x|))`` into ``out``, in place."""
    np.abs(x, out=out)
    out *= -1
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.subtract(np.minimum(_zeros_like(x), x), out, out=out)


def _logsigmoid_bwd(x: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
    """``g * sigmoid(-x)`` as ``g / (1 + exp(x))`` (no two negations): exp overflows to inf
    for x >> 0 and g / inf is 0, the correctly rounded value (inf / inf: NaN, as inf * 0)."""
    np.exp(x, out=d)
    d += 1
    np.divide(g, d, out=d)


class Tanhshrink(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t, x)  # x: for create_graph (t is an intermediate)
        return x - t

    @staticmethod
    def backward(ctx, g):
        t, x = ctx.saved_tensors
        if on_graph(x):
            t = x.apply(Tanh)
        return g * (t * t)


def _inside(x: np.ndarray, lambd: float) -> np.ndarray:
    """``-lambd <= x <= lambd`` as a bool array (also for a 0-d ``x``); false at NaN."""
    if on_graph(x):
        return (x >= -lambd) & (x <= lambd)
    inside = np.greater_equal(x, -lambd, out=np.empty_like(x, dtype=bool))
    inside &= x <= lambd
    return inside


class Softshrink(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, lambd):
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        # x - clip(x, -lambd, lambd): 0 inside [-lambd, lambd] (x - x, +0 as PyTorch's
        # vectorised loop), else x -/+ lambd; NaN stays NaN. Two passes, no data-dependent
        # select.
        out = np.clip(x, -lambd, lambd, out=np.empty_like(x))
        return np.subtract(x, out, out=out)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lambd = ctx.lambd
        inside = _inside(x, lambd)  # NaN passes its gradient, as in PyTorch
        if on_graph(x) or on_graph(g) or g.dtype != x.dtype:
            gx = np.where(inside, 0, g).astype(g.dtype, copy=False)
            return (_linked(gx, x) if on_graph(x) else gx), None
        return bits.keep(g, bits.bit_mask(inside, g.dtype, invert=True)), None


class Hardshrink(Primitive):
    """``x`` where ``|x| > lambd`` (and at NaN), else 0: selected through bit masks."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, lambd):
        keep = bits.bit_mask(_inside(x, lambd), x.dtype, invert=True)
        ctx.save_for_backward(keep, x)  # x: for create_graph
        return bits.keep(x, keep)

    @staticmethod
    def backward(ctx, g):
        keep, x = ctx.saved_tensors
        if on_graph(x) or on_graph(g) or g.dtype != x.dtype:
            gx = np.where(keep != 0, g, 0).astype(g.dtype, copy=False)
            return (_linked(gx, x) if on_graph(x) else gx), None
        return bits.keep(g, keep), None


class Prelu(Primitive):
    """Leaky ReLU with a learned slope per channel (dimension 1 of ``x``) or one shared slope.

    ``w`` keeps its own shape ``(C,)`` / ``(1,)`` / ``()``; forward views it as ``(C, 1, ...)``.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, w):
        if w.size == 1:
            wb = w.reshape(())
        else:
            wb = w.reshape((w.size,) + (1,) * (x.ndim - 2))
        ctx.save_for_backward(x, w)  # w itself, not its view: create_graph tracks inputs
        ctx.w_shape = w.shape
        z = _zeros_like(x)  # zeros first: -0. stays -0. (NumPy returns the second on ties)
        return np.maximum(z, x) + np.minimum(z, x) * wb

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        wb = w.reshape(()) if w.size == 1 else w.reshape((w.size,) + (1,) * (x.ndim - 2))
        nig = ctx.needs_input_grad
        gx = gw = None
        if nig[0]:
            gx = g * ((x > 0) * (1 - wb) + wb)  # 1 where x > 0, else the slope
        if nig[1]:
            if on_graph(x) or on_graph(g):
                xg = np.minimum(x, 0) * g
            else:  # selected, as PyTorch: an inf gradient at x > 0 adds 0, not inf * 0 = NaN
                xg = bits.where_or_zero(x * g, x <= 0)
            gw = unbroadcast(xg, wb.shape).reshape(ctx.w_shape)
            gw = gw.astype(wb.dtype, copy=False)
        return gx, gw


def _halves(x: Any, axis: int) -> tuple:
    """The two halves of ``x`` along ``axis`` as views (np.split costs ~4 us of Python)."""
    h = x.shape[axis] // 2
    pre = (slice(None),) * axis
    return x[pre + (slice(None, h),)], x[pre + (slice(h, None),)]


class Glu(Primitive):
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``axis``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, axis):
        a, b = _halves(x, axis)
        s = _sigmoid(b)
        ctx.save_for_backward(a, s, x)  # x: for create_graph (a, s are intermediates)
        ctx.axis = axis
        return a * s

    @staticmethod
    def backward(ctx, g):
        a, s, x = ctx.saved_tensors
        if on_graph(x):
            a, b = _halves(x, ctx.axis)
            s = _sig(b)
        ga = g * s
        if on_graph(ga):
            gb = ga * a * (1 - s)
        else:
            gb = np.subtract(1.0, s, out=np.empty_like(ga))  # in place: one temporary
            gb *= ga
            gb *= a
        return np.concatenate([ga, gb], axis=ctx.axis), None


class MulMask(Primitive):
    """``x * noise`` for a fixed noise array (dropout): the gradient is ``g * noise``.

    ``noise`` broadcasts against ``x`` (per-element for dropout, ``(N, C, 1, ...)`` for the
    channel-wise variants)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, noise):
        ctx.save_for_backward(noise)
        return x * noise

    @staticmethod
    def backward(ctx, g):
        (noise,) = ctx.saved_tensors
        return g * noise, None


class AlphaMask(Primitive):
    """``x * noise + shift`` (alpha dropout); the gradient is ``g * noise``."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, noise, shift):
        ctx.save_for_backward(noise)
        out = x * noise
        out += shift
        return out

    @staticmethod
    def backward(ctx, g):
        (noise,) = ctx.saved_tensors
        gx = g * noise
        return gx, None, None
