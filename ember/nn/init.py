"""``nn.init``: fill tensors in place with PyTorch's initialisation distributions.

Every function works without recording autograd (as under ``no_grad``), bumps the tensor's
version, and returns the tensor. ``generator=`` picks an ``ember.Generator``; the numbers come
from ember's own stream (same distributions and bounds as PyTorch, not the same samples).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._random import Generator, rng
from .._tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
]


def _write(tensor: Tensor, values: Any) -> Tensor:
    """Store ``values`` into ``tensor`` in place (cast to its dtype) and bump its version."""
    tensor._data[...] = values
    tensor._vc[0] += 1
    return tensor


def _check(name: str, tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}(): argument 'tensor' must be Tensor, not {type(tensor).__name__}")


def _float_kind(tensor: Tensor) -> np.dtype:
    # Draw in float32 for float32/16 tensors (cheaper), float64 otherwise.
    return np.float32 if tensor._data.dtype.itemsize <= 4 else np.float64


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (scales the std of xavier/kaiming init).

    ======== ==========================
    linear, conv*, sigmoid  1
    tanh     5/3
    relu     sqrt(2)
    leaky_relu  sqrt(2 / (1 + negative_slope^2)) (``param``, default 0.01)
    selu     3/4
    ======== ==========================

    >>> from ember import nn
    >>> nn.init.calculate_gain('tanh')
    1.6666666666666667
    """
    linear_fns = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with samples from ``U(a, b)``."""
    _check("uniform_", tensor)
    return _write(tensor, rng(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with samples from ``N(mean, std^2)``."""
    _check("normal_", tensor)
    z = rng(generator).standard_normal(tensor.shape, dtype=_float_kind(tensor))
    return _write(tensor, z * std + mean)


def _phi(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with ``N(mean, std^2)`` samples truncated to ``[a, b]`` (absolute bounds)."""
    _check("trunc_normal_", tensor)
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of "
            "values may be incorrect.",
            stacklevel=2,
        )
    z = _truncated_standard_normal(
        rng(generator), tensor.numel(), (a - mean) / std, (b - mean) / std
    )
    return _write(tensor, np.clip(z * std + mean, a, b).reshape(tensor.shape))


def _rejection(g: np.random.Generator, n: int, propose: Any, accept: Any) -> np.ndarray:
    """``n`` samples: draw from ``propose(g, k)``, keep each with probability ``accept(z)``;
    only the rejected ones are drawn again."""
    z = propose(g, n)
    bad = np.flatnonzero(g.random(n) >= accept(z))
    while bad.size:
        z[bad] = propose(g, bad.size)
        bad = bad[g.random(bad.size) >= accept(z[bad])]
    return z


def _truncated_standard_normal(g: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Standard normal samples conditioned on ``[lo, hi]``, by rejection from a proposal that
    keeps the acceptance rate high wherever the interval lies."""
    if _phi(hi) - _phi(lo) > 0.2:  # plain normal draws, out-of-range ones redrawn
        return _rejection(g, n, lambda g, k: g.standard_normal(k), lambda z: (z >= lo) & (z <= hi))
    if lo < 0 < hi:  # a narrow interval around 0: uniform proposal, density >= 0.88 of peak
        return _rejection(g, n, lambda g, k: g.uniform(lo, hi, k), lambda z: np.exp(-0.5 * z * z))
    # One tail: mirror to [l, h] with 0 <= l, sample there, mirror back.
    sign = 1.0 if lo >= 0 else -1.0
    l, h = (lo, hi) if sign > 0 else (-hi, -lo)
    rate = (l + math.sqrt(l * l + 4)) / 2  # optimal exponential proposal (Robert, 1995)
    if (h - l) * rate < 1:  # short interval: uniform proposal against the peak at l
        z = _rejection(
            g, n, lambda g, k: g.uniform(l, h, k), lambda z: np.exp(-0.5 * (z * z - l * l))
        )
    else:
        z = _rejection(
            g,
            n,
            lambda g, k: l + g.exponential(1 / rate, k),
            lambda z: np.exp(-0.5 * (z - rate) ** 2) * (z <= h),
        )
    return sign * z


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check("constant_", tensor)
    tensor._data.fill(val)
    tensor._vc[0] += 1
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the main diagonal)."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution then
    copies (per group) as many input channels as it can."""
    _check("dirac_", tensor)
    d = tensor.ndim
    if d not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    n = min(out_per_group, sizes[1])
    w = np.zeros(sizes, tensor._data.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    k = np.arange(n)
    for g in range(groups):
        w[(g * out_per_group + k, k) + centre] = 1
    return _write(tensor, w)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)``: ``size(1) * receptive field`` and ``size(0) * receptive field``."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He uniform: ``U(-bound, bound)`` with ``bound = gain * sqrt(3 / fan)``.

    ``a`` is the negative slope of the following leaky ReLU (used when ``nonlinearity`` is
    'leaky_relu'); ``mode`` 'fan_in' keeps the forward variance, 'fan_out' the backward one.
    """
    _check("kaiming_uniform_", tensor)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He normal: ``N(0, std^2)`` with ``std = gain / sqrt(fan)``."""
    _check("kaiming_normal_", tensor)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix;
    dimensions past the first are flattened."""
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # Make Q unique (and uniformly distributed) by fixing the signs of R's diagonal.
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))


def sparse_(
    tensor: Tensor, sparsity: float, std: float = 0.01, generator: Generator | None = None
) -> Tensor:
    """Fill a 2-D tensor with ``N(0, std^2)`` values, then zero a fraction ``sparsity`` of the
    rows in every column."""
    _check("sparse_", tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    g = rng(generator)
    w = g.standard_normal((rows, cols)) * std
    if num_zeros:
        # An independent random permutation of the rows per column, all columns at once.
        order = np.argsort(g.random((rows, cols)), axis=0)[:num_zeros]
        w[order, np.arange(cols)] = 0
    return _write(tensor, w)


def _deprecated(new: Any) -> Any:
    old_name = new.__name__[:-1]

    def fn(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    fn.__name__ = old_name
    fn.__doc__ = f"Deprecated alias of :func:`{new.__name__}`."
    return fn


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
