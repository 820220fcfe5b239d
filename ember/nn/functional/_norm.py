"""nn.functional, normalisation family: batch_norm, instance_norm, layer_norm, group_norm,
rms_norm, local_response_norm, normalize.

The normalisations are fused primitives (``ember.ops.norm``). Running statistics are updated
here, in place and outside the graph, as PyTorch does: ``(1 - momentum) * running + momentum *
batch_stat``, with the unbiased batch variance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor
from ...ops.norm import BatchNormEval, BatchNormTrain, GroupNorm, LayerNorm, RMSNorm

__all__ = [
    "batch_norm",
    "instance_norm",
    "layer_norm",
    "group_norm",
    "rms_norm",
    "local_response_norm",
    "normalize",
]


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _check_len(t: Tensor | None, name: str, c: int) -> None:
    if t is not None and t._data.size != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t._data.size}")


def _arr(t: Tensor | None, dtype: np.dtype) -> Any:
    """The array of an optional constant tensor, in the input's dtype."""
    if t is None:
        return None
    a = t._data.reshape(-1)
    return a if a.dtype == dtype else a.astype(dtype)


def _affine(t: Tensor | None, dtype: np.dtype) -> Any:
    """An optional weight/bias: the Tensor itself when it may need a gradient."""
    if t is None:
        return None
    if t._data.dtype != dtype:
        from ...ops.elementwise import cast

        t = cast(t, D._BY_NP[dtype])
    return t


def _update_running(running: Tensor, stat: np.ndarray, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * stat``, in place."""
    r = running._data
    r *= 1.0 - momentum
    r += (momentum * stat.reshape(r.shape)).astype(r.dtype, copy=False)
    running._vc[0] += 1


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over every dim but the channel dim 1 of an (N, C, *) input.

    In training the batch statistics normalise the input and, when running buffers are given,
    update them in place (the variance unbiased); otherwise the running statistics are used.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.batch_norm(ember.tensor([[1.0], [3.0]]), None, None, training=True)
    tensor([[-1.0000],
            [ 1.0000]])
    """
    x = input._data
    shape = x.shape
    c = shape[1] if x.ndim > 1 else 0
    _check_len(running_mean, "running_mean", c)
    _check_len(running_var, "running_var", c)
    _check_len(weight, "weight", c)
    _check_len(bias, "bias", c)
    if training:
        count = shape[0] * int(np.prod(shape[2:]))
        if count == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{_size(shape)}"
            )
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    dt = x.dtype
    w, b = _affine(weight, dt), _affine(bias, dt)
    if training:
        y, mean, var = BatchNormTrain.apply(input, w, b, float(eps))
        if running_mean is not None and momentum:
            _update_running(running_mean, mean._data, momentum)
        if running_var is not None and momentum:
            _update_running(running_var, var._data * (count / (count - 1)), momentum)
        return y
    if running_mean is None or running_var is None:
        raise RuntimeError(
            f"running_{'mean' if running_mean is None else 'var'} must be defined in "
            "evaluation mode"
        )
    return BatchNormEval.apply(
        input, _arr(running_mean, dt), _arr(running_var, dt), w, b, float(eps)
    )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation: each (sample, channel) plane normalised on its own.

    With running buffers and ``use_input_stats`` they are updated with the batch average of the
    per-instance statistics; ``use_input_stats=False`` normalises with them instead.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.instance_norm(ember.tensor([[[1.0, 3.0]]]))
    tensor([[[-1.0000,  1.0000]]])
    """
    x = input._data
    shape = x.shape
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    n, c = shape[0], shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var")):
        if t is not None and t._data.size != c:
            # PyTorch repeats the buffers per sample, hence the sizes in its message.
            raise RuntimeError(f"{name} should contain {n * c} elements not {n * t._data.size}")
    _check_len(weight, "weight", c)
    _check_len(bias, "bias", c)
    dt = x.dtype
    w, b = _affine(weight, dt), _affine(bias, dt)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is false"
            )
        return BatchNormEval.apply(
            input, _arr(running_mean, dt), _arr(running_var, dt), w, b, float(eps)
        )
    spatial = int(np.prod(shape[2:]))
    if spatial == 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {_size(shape)}"
        )
    y, mean, var = GroupNorm.apply(input, w, b, c, float(eps))
    if running_mean is not None and momentum:
        _update_running(running_mean, mean._data.mean(axis=0), momentum)
    if running_var is not None and momentum:
        unbiased = var._data * (spatial / (spatial - 1))
        _update_running(running_var, unbiased.mean(axis=0), momentum)
    return y


def _normalized_dims(normalized_shape: Any) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized(x: np.ndarray, dims: tuple, weight: Any, bias: Any) -> None:
    k = len(dims)
    if k == 0:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., "
            f"containing at least one element, but got normalized_shape = {[]}"
        )
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != dims:
        raise RuntimeError(
            f"Given normalized_shape={list(dims)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in dims)}], but got input of size{list(x.shape)}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t._data.shape) != dims:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t._data.shape)} and normalized_shape = {list(dims)}"
            )


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation over the trailing ``normalized_shape`` dims.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    dims = _normalized_dims(normalized_shape)
    x = input._data
    _check_normalized(x, dims, weight, bias)
    dt = x.dtype
    return LayerNorm.apply(input, _affine(weight, dt), _affine(bias, dt), len(dims), float(eps))


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims.

    ``eps`` defaults to the machine epsilon of the input's dtype, as PyTorch.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.rms_norm(ember.tensor([[3.0, 4.0]]), (2,), eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    dims = _normalized_dims(normalized_shape)
    x = input._data
    _check_normalized(x, dims, weight, None)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    return RMSNorm.apply(input, _affine(weight, x.dtype), len(dims), float(eps))


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation: channels split into ``num_groups`` groups, each normalised per sample.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.group_norm(ember.tensor([[1.0, 3.0]]), 1)
    tensor([[-1.0000,  1.0000]])
    """
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    n, c = x.shape[0], x.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(x.shape)} and num_groups={num_groups}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t._data.ndim != 1 or t._data.size != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t._data.shape)} and input of shape "
                f"{list(x.shape)}"
            )
    if (c // num_groups) * int(np.prod(x.shape[2:])) == 1:
        size = [n * c // num_groups, num_groups, *x.shape[2:]]
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )
    dt = x.dtype
    y, _, _ = GroupNorm.apply(input, _affine(weight, dt), _affine(bias, dt), num_groups, float(eps))
    return y


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Local response normalisation across channels (dim 1) over a window of ``size``.

    ``input / (k + alpha * mean of squares over the window) ** beta``; the window is
    zero-padded by ``size // 2`` before and ``(size - 1) // 2`` after, as PyTorch.
    """
    from ..._creation import zeros
    from ...ops.join import cat

    dim = input._data.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input._data.size == 0:
        return input
    sq = input * input
    shape = list(input._data.shape)
    before, after = size // 2, (size - 1) // 2
    parts = []
    if before:
        parts.append(zeros(*([shape[0], before] + shape[2:]), dtype=input.dtype))
    parts.append(sq)
    if after:
        parts.append(zeros(*([shape[0], after] + shape[2:]), dtype=input.dtype))
    padded = cat(parts, 1) if len(parts) > 1 else sq
    c = shape[1]
    window = padded[:, 0:c]
    for j in range(1, size):  # a loop over the window offsets, not over elements
        window = window + padded[:, j : j + c]
    div = (window * (alpha / size) + k) ** beta
    return input / div


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.normalize(ember.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    from ...ops.reduction import norm

    denom = norm(input, p, dim, True).clamp_min(eps)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res
