"""Helpers shared by the losses: reduction strings (including the legacy ``size_average`` /
``reduce`` flags), target-size warnings and broadcast checks with PyTorch's messages."""

from __future__ import annotations

import warnings
from typing import Any

__all__: list[str] = []

_VALID = ("none", "mean", "sum")


def size_str(shape: tuple) -> str:
    """A shape as PyTorch prints it in these messages: ``torch.Size([4, 1])``."""
    return f"torch.Size({list(shape)})"


def legacy_reduction(size_average: bool | None, reduce: bool | None, warn: bool = True) -> str:
    """Map the deprecated ``size_average`` / ``reduce`` flags to a reduction string."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    ret = "mean" if (size_average and reduce) else "sum" if reduce else "none"
    if warn:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{ret}' "
            "instead.",
            UserWarning,
            stacklevel=3,
        )
    return ret


def reduction_of(reduction: str, size_average: Any = None, reduce: Any = None) -> str:
    """The effective reduction: legacy flags win; an unknown string raises ValueError."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction in _VALID:
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def warn_target_size(input: Any, target: Any, stacklevel: int = 3) -> None:
    """PyTorch's UserWarning for a target whose shape differs from the input's."""
    warnings.warn(
        f"Using a target size ({size_str(target._data.shape)}) that is different to the input "
        f"size ({size_str(input._data.shape)}). This will likely lead to incorrect results due "
        "to broadcasting. Please ensure they have the same size.",
        UserWarning,
        stacklevel=stacklevel,
    )


def check_broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast shape of ``a`` and ``b``, or PyTorch's RuntimeError naming the sizes."""
    nd = max(len(a), len(b))
    out = []
    for i in range(1, nd + 1):
        sa = a[-i] if i <= len(a) else 1
        sb = b[-i] if i <= len(b) else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                f"non-singleton dimension {nd - i}"
            )
        out.append(sa if sb == 1 else sb)
    return tuple(reversed(out))


def check_weight_dtype(weight: Any, input: Any) -> None:
    """Class weights must have the input's dtype (PyTorch's kernels refuse to mix them)."""
    if weight is not None and weight._data.dtype != input._data.dtype:
        from ..._dtype_names import type_name

        raise RuntimeError(
            f"expected scalar type {type_name(input._data.dtype)} but found "
            f"{type_name(weight._data.dtype)}"
        )
