"""PyTorch's scalar-type names (``Long``, ``Float``, ``ComplexFloat``...), the names its error
messages print for a dtype. Every ember message that names a dtype that way uses
:func:`type_name`."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D

__all__ = ["type_name"]

_NAMES = {
    "bool": "Bool",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "float16": "Half",
    "bfloat16": "BFloat16",
    "float32": "Float",
    "float64": "Double",
    "complex32": "ComplexHalf",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
}


def type_name(dt: Any) -> str:
    """PyTorch's scalar-type name of an ember dtype or a NumPy dtype (``int64`` -> ``Long``)."""
    if isinstance(dt, D.dtype):
        name = dt.name
    else:
        npd = np.dtype(dt)
        known = D._BY_NP.get(npd)
        name = known.name if known is not None else npd.name
    return _NAMES.get(name, name.capitalize())
