"""Activation functions of ``ember.nn.functional`` (softmax, log_softmax and softmin live in
``ember.ops.softmax`` and are re-exported by the package).

Each checks its arguments with PyTorch's errors, then calls one fused primitive from
``ember.ops.activation``. ``inplace=True`` (and the ``*_`` variants) write the result into the
input and keep autograd right: the input is re-pointed at the new graph node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype as D
from ..._dtype_names import type_name
from ..._random import rng
from ..._tensor import Tensor
from ...autograd.function import NO_CTX
from ...ops import activation as A
from ...ops import unary as U
from ...ops.inplace import apply_inplace
from ...ops.softmax import log_softmax, softmax, softmin  # noqa: F401  (documented here too)

__all__ = [
    "threshold",
    "threshold_",
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "hardtanh_",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "leaky_relu",
    "leaky_relu_",
    "prelu",
    "rrelu",
    "rrelu_",
    "glu",
    "gelu",
    "logsigmoid",
    "hardshrink",
    "tanhshrink",
    "softsign",
    "softplus",
    "softshrink",
    "silu",
    "mish",
    "hardsigmoid",
    "hardswish",
    "sigmoid",
    "tanh",
]


# ---- helpers ---------------------------------------------------------------------------------
def _check(name: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )


def _check_float(kernel: str, name: str, input: Any) -> None:
    _check(name, input)
    if input.dtype.kind not in "fc":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{type_name(input._data.dtype)}'"
        )


def _run(prim: type, input: Tensor, args: tuple, inplace: bool) -> Tensor:
    """``prim(input, *args)``, written into ``input`` when ``inplace``."""
    if not inplace:
        return prim.apply(input, *args)

    def direct(d: np.ndarray, *a: Any) -> None:
        np.copyto(d, prim.forward(NO_CTX, d, *a), casting="unsafe")

    return apply_inplace(input, prim, *args, direct=direct)


# ---- ReLU family -----------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(0, x)`` elementwise.

    >>> import ember, ember.nn.functional as F
    >>> F.relu(ember.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    _check("relu", input)
    if inplace:
        return relu_(input)
    return U.Relu.apply(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    _check("relu_", input)

    def direct(d: np.ndarray) -> None:
        np.maximum(U._zeros_for(d), d, out=d, dtype=d.dtype)  # zeros first: -0. stays -0.

    return apply_inplace(input, U.Relu, direct=direct)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    _check("threshold", input)
    return _run(A.Threshold, input, (threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    _check("threshold_", input)
    return _run(A.Threshold, input, (threshold, value), True)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to ``[min_val, max_val]``; the gradient flows strictly inside the bounds."""
    _check("hardtanh", input)
    if input.dtype is D.bool:
        raise NotImplementedError("\"hardtanh\" not implemented for 'Bool'")
    return _run(A.Hardtanh, input, (min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``: :func:`hardtanh` on ``[0, 6]``."""
    _check("relu6", input)
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    _check_float("leaky_relu_cpu", "leaky_relu", input)
    return _run(A.LeakyRelu, input, (float(negative_slope),), inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with learned slopes: ``weight`` has 1 element or one per channel (dim 1).

    Shape: ``input`` is ``(N, C, *)``, ``(C, *)`` is not special-cased (as PyTorch: channels
    are dimension 1 for 2-D and more, and a 1-D input has one channel).
    """
    _check_float("prelu_cpu", "prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(
            f"prelu(): argument 'weight' (position 2) must be Tensor, not {type(weight).__name__}"
        )
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    n = weight.numel()
    if n != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != n:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {n} and channel size = {channels}."
            )
    return A.Prelu.apply(input, weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: in training each negative element gets a slope drawn from
    ``U(lower, upper)``; in evaluation the slope is ``(lower + upper) / 2``."""
    _check_float("rrelu_with_noise_cpu", "rrelu", input)
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = input._data
    slopes = rng(None).uniform(lower, upper, x.shape).astype(x.dtype)
    noise = np.where(x <= 0, slopes, np.ones((), x.dtype))
    return _run(A.MulMask, input, (noise,), inplace)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


# ---- exponential family ----------------------------------------------------------------------
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    _check_float("elu_cpu", "elu", input)
    return _run(A.Elu, input, (float(alpha), 1.0, 1.0), inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants
    (alpha ~ 1.6733, scale ~ 1.0507)."""
    _check_float("elu_cpu", "selu", input)
    return _run(A.Elu, input, (A.SELU_ALPHA, A.SELU_SCALE, 1.0), inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    _check_float("elu_cpu", "celu", input)
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    a = float(alpha)
    return _run(A.Elu, input, (a, 1.0, 1.0 / a, 1.0 / float(np.float32(a))), inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Gaussian CDF), or with ``approximate='tanh'``
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    _check("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _check_float("GeluKernelImpl", "gelu", input)
    return A.Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    _check_float("silu_cpu", "silu", input)
    return _run(A.Silu, input, (), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _check_float("mish_cpu", "mish", input)
    return _run(A.Mish, input, (), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``; linear where ``beta x > threshold``."""
    _check_float("softplus_cpu", "softplus", input)
    return A.Softplus.apply(input, float(beta), float(threshold))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed stably."""
    _check_float("log_sigmoid_cpu", "log_sigmoid", input)
    return A.LogSigmoid.apply(input)


# ---- hard / shrink family --------------------------------------------------------------------
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``clamp(x / 6 + 1/2, 0, 1)``."""
    _check_float("hardsigmoid_cpu", "hardsigmoid", input)
    return _run(A.Hardsigmoid, input, (), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    _check_float("hardswish_cpu", "hardswish", input)
    return _run(A.Hardswish, input, (), inplace)


def _check_lambd(lambd: float, input: Tensor) -> None:
    if lambd < 0:
        limit = "3.40282e+38" if input.dtype is D.float32 else "1.79769e+308"
        raise RuntimeError(
            f"lambda must be in range [0, {limit}] for input dtype "
            f"{type_name(input._data.dtype)}, but found {lambd}"
        )


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _check_float("softshrink_cpu", "softshrink", input)
    _check_lambd(lambd, input)
    return A.Softshrink.apply(input, float(lambd))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    _check_float("hardshrink_cpu", "hardshrink", input)
    return A.Hardshrink.apply(input, float(lambd))


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    _check_float("tanh_cpu", "tanhshrink", input)
    return A.Tanhshrink.apply(input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    _check_float("softsign", "softsign", input)
    return A.Softsign.apply(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the halves of ``input`` along
    ``dim`` (whose size must be even)."""
    _check_float("glu_cpu", "glu", input)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    from ...ops._util import wrap_dim

    axis = wrap_dim(dim, input.ndim)
    n = input.shape[axis]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {n}")
    return A.Glu.apply(input, axis)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise."""
    _check("sigmoid", input)
    return U.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    _check("tanh", input)
    return U.tanh(input)
