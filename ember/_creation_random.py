"""Random tensor creation: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``multinomial`` and the ``*_like`` forms."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D
from . import _random_checks as RC
from ._creation import _check_device, _leaf, _size, relayout
from ._dtype_names import type_name
from ._out import accepts_out
from ._random import Generator, rng
from ._tensor import Size, Tensor, _wrap

__all__ = [
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "rand_like",
    "randn_like",
    "randint_like",
    "bernoulli",
    "multinomial",
]


def _float_dtype(dtype: D.dtype | None, fn: str) -> D.dtype:
    d = dtype or D.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"\"{fn}\" not implemented for '{type_name(d)}'")
    return d


@accepts_out(creation=True)
def rand(
    *size: Any,
    generator: Generator | None = None,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """Uniform samples on [0, 1)."""
    _check_device(device)
    d = _float_dtype(dtype, "check_uniform_bounds")
    arr = rng(generator).random(_size(size), dtype=np.float64).astype(d.np)
    return _leaf(arr, requires_grad)


@accepts_out(creation=True)
def randn(
    *size: Any,
    generator: Generator | None = None,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """Standard normal samples."""
    _check_device(device)
    d = _float_dtype(dtype, "normal_kernel_cpu")
    g = rng(generator)
    arr = g.standard_normal(_size(size), dtype=np.float32 if d.np == np.float32 else np.float64)
    return _leaf(arr.astype(d.np, copy=False), requires_grad)


@accepts_out(creation=True)
def randint(
    low: int = 0,
    high: int | None = None,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` and ``randint(low, high, size)``."""
    _check_device(device)
    if size is None:
        if high is None:
            raise TypeError("randint() missing required argument 'size'")
        if isinstance(high, (tuple, list, Size)):
            low, high, size = 0, low, high
    if high is None:  # randint(high, size=...): the one bound given is the upper one
        low, high = 0, low
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    arr = rng(generator).integers(low, high, size=_size((size,)), dtype=np.int64)
    return _wrap(arr.astype((dtype or D.int64).np))


@accepts_out(creation=True)
def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: D.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
    layout: Any = None,
) -> Tensor:
    """A random permutation of ``0..n-1``."""
    _check_device(device)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    return _wrap(rng(generator).permutation(n).astype((dtype or D.int64).np))


@accepts_out(creation=True)
def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: D.dtype | None = None,
    out: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast) or floats with ``size``."""
    _check_device(device)
    g = rng(generator)
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    RC.check_std(s)
    if size is None:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        shape = _size((size,))
    d = dtype
    if d is None:
        d = next((x.dtype for x in (mean, std) if isinstance(x, Tensor)), D.get_default_dtype())
    arr = (m + s * g.standard_normal(shape)).astype(d.np)
    return _leaf(arr, requires_grad)


def rand_like(
    input: Tensor,
    *,
    dtype: D.dtype | None = None,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    out = rand(input.shape, dtype=dtype or input.dtype, generator=generator, device=device)
    out._data = relayout(out._data, input, memory_format, "rand_like")
    return out.requires_grad_(requires_grad)


def randn_like(
    input: Tensor,
    *,
    dtype: D.dtype | None = None,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    layout: Any = None,
) -> Tensor:
    out = randn(input.shape, dtype=dtype or input.dtype, generator=generator, device=device)
    out._data = relayout(out._data, input, memory_format, "randn_like")
    return out.requires_grad_(requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    dtype: D.dtype | None = None,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(
        low, high, input.shape, dtype=dtype or input.dtype, generator=generator, device=device
    )


@accepts_out
def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Generator | None = None, out: Any = None
) -> Tensor:
    """Samples 1 with probability ``input`` (or ``p``), else 0."""
    if p is None:
        if not input.dtype.is_floating_point:
            raise NotImplementedError(
                f"\"bernoulli_tensor_cpu_p_\" not implemented for '{type_name(input.dtype)}'"
            )
        RC.check_probabilities(input._data)
    else:
        RC.check_probability(p, "bernoulli_")
    prob = input._data if p is None else p
    u = rng(generator).random(input._data.shape)
    return _wrap((u < prob).astype(input._data.dtype))


@accepts_out
def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
    out: Any = None,
) -> Tensor:
    """Indices sampled from the rows of ``input`` (non-negative weights)."""
    w = np.asarray(input._data, dtype=np.float64)
    g = rng(generator)
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    res = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, r in enumerate(rows):
        if (r < 0).any() or not np.isfinite(r).all() or r.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        res[i] = g.choice(r.size, size=num_samples, replace=replacement, p=r / r.sum())
    return _wrap(res.reshape(w.shape[:-1] + (num_samples,)))
