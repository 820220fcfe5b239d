"""bfloat16 tensors over ``ml_dtypes`` (an optional dependency, loaded on first use).

A bfloat16 tensor holds an ``ml_dtypes.bfloat16`` NumPy array: two bytes an element, bit-exact
in checkpoints. ``ml_dtypes`` is imported the first time a bfloat16 array is needed (creating a
tensor, casting, reading a checkpoint), never at ``import ember``: its import costs seconds on a
busy machine. Without it, bfloat16 raises an ImportError naming ``pip install 'ember[bfloat16]'``.

Arithmetic follows PyTorch's CPU kernels: every built-in primitive that meets a bfloat16 input
computes in float32 and rounds its result to bfloat16 (round to nearest even), and its gradients
are rounded back to bfloat16 (``apply_in_float32``, called from ``Primitive.apply``). Views,
casts and pure data movement (``bf16_native``) work on the bfloat16 arrays directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D

__all__ = ["numpy_dtype", "ACTIVE", "apply_in_float32", "has_bf16"]

# ACTIVE[0] turns True once a bfloat16 array exists: until then Primitive.apply pays one list
# look-up for bfloat16 support.
ACTIVE = [False]
_NP: list = []

INSTALL_HINT = (
    "bfloat16 tensors need the optional package ml_dtypes: pip install 'ember[bfloat16]' "
    "(or pip install ml_dtypes)"
)


def numpy_dtype() -> np.dtype:
    """The NumPy dtype of bfloat16 tensors (imports ``ml_dtypes`` the first time)."""
    if _NP:
        return _NP[0]
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    nd = np.dtype(ml_dtypes.bfloat16)
    _NP.append(nd)
    D._BY_NP[nd] = D.bfloat16  # Tensor.dtype now names it
    ACTIVE[0] = True
    return nd


def has_bf16(args: tuple) -> bool:
    """Whether a primitive's arguments include a bfloat16 tensor."""
    from ._tensor import Tensor

    nd = _NP[0]
    return any(isinstance(a, Tensor) and a._data.dtype == nd for a in args)


def _rounds_to_bf16(args: tuple, nd: np.dtype) -> bool:
    """PyTorch's result dtype is bfloat16 unless another floating tensor of at least as many
    dimensions widens it (a 0-dim tensor only lifts the category)."""
    from ._tensor import Tensor

    bf_dims = max(a._data.ndim for a in args if isinstance(a, Tensor) and a._data.dtype == nd)
    for a in args:
        if isinstance(a, Tensor) and a._data.dtype != nd and a._data.dtype.kind in "fc":
            if a._data.ndim > 0 or bf_dims == 0:
                return False
    return True


def apply_in_float32(cls: type, args: tuple) -> Any:
    """Run primitive ``cls`` on ``args`` with bfloat16 tensors widened to float32 (exact), and
    round its floating results to bfloat16. The widening and rounding are recorded casts, so the
    gradients flowing back are rounded to bfloat16 as PyTorch's are."""
    from ._tensor import Tensor
    from .ops.elementwise import Cast

    nd = _NP[0]
    f32 = D.float32
    rnd = cls.bf16_round_scalars
    wide = tuple(
        Cast.apply(a, f32)
        if isinstance(a, Tensor) and a._data.dtype == nd
        else (_round(a, nd) if rnd and type(a) in (float, int) else a)
        for a in args
    )
    out = cls.apply(*wide)
    if not _rounds_to_bf16(args, nd):
        return out
    bf = D.bfloat16
    if isinstance(out, tuple):
        return tuple(_narrow(o, bf) for o in out)
    return _narrow(out, bf)


def widened(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with bfloat16 tensor arguments widened to float32 and a float32
    result rounded to bfloat16 once: for composite ops PyTorch runs as one fused kernel
    (``add`` with ``alpha``, ``addcmul``, ``addcdiv``, ``lerp``)."""
    from ._tensor import Tensor
    from .ops.elementwise import cast

    f32 = D.float32
    wide = [cast(a, f32) if isinstance(a, Tensor) and a.dtype is D.bfloat16 else a for a in args]
    out = fn(*wide, **kwargs)
    return cast(out, D.bfloat16) if out.dtype is f32 else out


def any_bf16(*args: Any) -> bool:
    """Whether bfloat16 is in use and one of ``args`` is a bfloat16 tensor."""
    from ._tensor import Tensor

    return ACTIVE[0] and any(isinstance(a, Tensor) and a.dtype is D.bfloat16 for a in args)


def _round(c: float, nd: np.dtype) -> float:
    """A Python float rounded to bfloat16 (nearest even), as a Python float."""
    return float(np.float32(c).astype(nd))


def round_scalar(c: Any) -> Any:
    """A Python number as PyTorch's bfloat16 kernels see it (``alpha`` of add/sub): rounded."""
    return _round(c, _NP[0]) if type(c) in (float, int) else c


def _narrow(o: Any, bf: D.dtype) -> Any:
    from ._tensor import Tensor
    from .ops.elementwise import Cast

    if isinstance(o, Tensor) and o._data.dtype == np.float32:
        return Cast.apply(o, bf)
    return o
