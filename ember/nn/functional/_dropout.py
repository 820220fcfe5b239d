"""Dropout functions of ``ember.nn.functional``.

``F.dropout`` follows only its own ``training`` argument (default True): ``model.eval()`` does not
switch it off; ``nn.Dropout`` passes ``self.training`` (as the torch.nn tutorial ember grew from
teaches). Survivors are scaled by ``1 / (1 - p)`` so the expected value is unchanged; the
gradient is the same scaled mask. The mask comes from ember's default generator (its stream is not
PyTorch's).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..._dtype_names import type_name
from ..._random import rng
from ..._tensor import Tensor
from ...ops import activation as A
from ._activation import _check, _run

__all__ = [
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]

# The SELU saturation value -scale * alpha: what alpha dropout sets dropped units to.
_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_shape(shape: tuple) -> tuple:
    """Noise shape of channel-wise dropout: one draw per (sample, channel)."""
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return (shape[0], shape[1]) + (1,) * (len(shape) - 2)


def _keep_mask(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """1 where a unit survives (probability ``1 - p``), else 0, in ``dtype``."""
    return (rng(None).random(shape) < 1.0 - p).astype(dtype)


def _apply(
    input: Tensor, p: float, training: bool, inplace: bool, noise_shape: tuple, alpha: bool
) -> Tensor:
    if not training or p == 0 or input.numel() == 0:
        return input
    x = input._data
    if x.dtype.kind not in "fc":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {type_name(x.dtype)}"
        )
    dt = x.dtype
    if p == 1:
        return _run(A.MulMask, input, (np.zeros((), dt),), inplace)
    keep = _keep_mask(noise_shape, p, dt)
    if not alpha:
        keep /= np.asarray(1.0 - p, dt)  # in the input's dtype, as PyTorch scales
        return _run(A.MulMask, input, (keep,), inplace)
    # Alpha dropout keeps mean 0 and variance 1 of SELU activations: dropped units go to the
    # saturation value, then everything is rescaled by a and shifted by b.
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    shift = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    keep *= np.asarray(a, dt)
    return _run(A.AlphaMask, input, (keep, shift.astype(dt, copy=False)), inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Not affected by ``Module.eval()``: pass ``training=self.training`` from a module, or use
    ``nn.Dropout``. With ``training=False`` (or ``p=0``) the input is returned as is.

    >>> import ember, ember.nn.functional as F
    >>> F.dropout(ember.ones(4), p=0.5, training=False)
    tensor([1., 1., 1., 1.])
    """
    _check("dropout", input)
    _check_p(p)
    return _apply(input, p, training, inplace, input.shape, alpha=False)


def _unbatched_feature_shape(shape: tuple) -> tuple:
    # An unbatched input is handled as a batch of one: channels are then dimension 0.
    return (shape[0],) + (1,) * (len(shape) - 1)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    _check("dropout1d", input)
    _check_p(p)
    nd = input.ndim
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that dropout1d "
            "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
            "dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    shape = _feature_shape(input.shape) if nd == 3 else _unbatched_feature_shape(input.shape)
    return _apply(input, p, training, inplace, shape, alpha=False)


def _warn_unexpected_dims(nd: int, sd: int) -> None:
    """dropout2d/3d's deprecation warning for an input that is neither ``sd + 1``-D nor
    ``sd + 2``-D (stacklevel points at the public function's caller)."""
    if nd not in (sd + 1, sd + 2):
        warnings.warn(
            f"dropout{sd}d: Received a {nd}-D input to dropout{sd}d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            f"warning, please use dropout instead. Note that dropout{sd}d exists to provide "
            f"channel-wise dropout on inputs with {sd} spatial dimensions, a channel dimension, "
            f"and an optional batch dimension (i.e. {sd + 1}D or {sd + 2}D inputs).",
            stacklevel=3,
        )


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``.

    As in PyTorch, a 3-D input is taken as ``(N, C, L)`` (with a warning), not as unbatched.
    """
    _check("dropout2d", input)
    _check_p(p)
    nd = input.ndim
    _warn_unexpected_dims(nd, 2)
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _apply(input, p, training, inplace, _feature_shape(input.shape), alpha=False)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with
    probability ``p``."""
    _check("dropout3d", input)
    _check_p(p)
    nd = input.ndim
    _warn_unexpected_dims(nd, 3)
    shape = _feature_shape(input.shape) if nd == 5 else _unbatched_feature_shape(input.shape)
    return _apply(input, p, training, inplace, shape, alpha=False)


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance (default
    ``training=False``, as PyTorch)."""
    _check("alpha_dropout", input)
    _check_p(p)
    return _apply(input, p, training, inplace, input.shape, alpha=True)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Channel-wise :func:`alpha_dropout` (one draw per sample and channel)."""
    _check("feature_alpha_dropout", input)
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, p, training, inplace, _feature_shape(input.shape), alpha=True)
