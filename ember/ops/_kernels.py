"""PyTorch's refusals of dtypes its CPU kernels do not have (``floor`` of a bool tensor,
``frac`` of an integer one...): NumPy would compute something, PyTorch raises, so ember does."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ._util import type_name

__all__ = ["refuse", "kind_of"]


def kind_of(x: Any) -> str:
    """NumPy's kind letter of a tensor's dtype ('b', 'i', 'u', 'f', 'c'); '' for a number."""
    return x.dtype.kind if isinstance(x, Tensor) else ""


def refuse(kernel: str, kinds: str, *operands: Any) -> None:
    """NotImplementedError naming ``kernel`` when the first tensor operand's dtype kind is in
    ``kinds`` (PyTorch dispatches on the common dtype, which the first tensor stands for here
    once the operands are promoted)."""
    for x in operands:
        if isinstance(x, Tensor):
            if x.dtype.kind in kinds:
                raise NotImplementedError(
                    f"\"{kernel}\" not implemented for '{type_name(x._data.dtype)}'"
                )
            return


_C_TYPES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "float16": "c10::Half", "float32": "float", "float64": "double",
            "bfloat16": "c10::BFloat16"}  # fmt: skip


def fit_scalar(value: Any, dtype: Any) -> Any:
    """A Python number converted for a tensor of ``dtype`` as PyTorch converts it (floats
    truncate toward zero for integer types, negative numbers wrap for unsigned ones), or
    PyTorch's RuntimeError when it does not fit."""
    import math

    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, float)) or dtype.name == "bool":
        return value
    kind = dtype.np.kind
    if kind in "iu":
        info = np.iinfo(dtype.np)
        v = value
        # Python ints may wrap into an unsigned type (-1 -> 255); floats must lie in range.
        low = -int(info.max) if kind == "u" and isinstance(value, int) else int(info.min)
        if isinstance(value, float):
            ok = math.isfinite(value) and low <= value <= int(info.max)
            v = math.trunc(value) if ok else None
        if v is None or not low <= v <= int(info.max):
            raise RuntimeError(
                f"value cannot be converted to type {_C_TYPES[dtype.name]} without overflow"
            )
        return v % (int(info.max) + 1) if v < 0 and kind == "u" else v
    if kind == "f" and isinstance(value, (int, float)) and math.isfinite(value):
        top = float(np.finfo(np.float32 if dtype.name == "bfloat16" else dtype.np).max)
        if abs(value) > top:
            raise RuntimeError(
                f"value cannot be converted to type {_C_TYPES[dtype.name]} without overflow"
            )
    return value
