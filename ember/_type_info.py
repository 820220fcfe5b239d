"""``ember.finfo`` and ``ember.iinfo``: the numerical limits of a dtype, as PyTorch reports them.

Programs reach for these constantly (``finfo(x.dtype).eps`` as a stabiliser, ``.min`` as a mask
fill value, ``iinfo(int64).max`` as a sentinel), so the values are PyTorch's, as Python ``float``
and ``int``. bfloat16's constants are written out: reading them from ml_dtypes would import it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype
from ._dtype import dtype

__all__ = ["finfo", "iinfo"]

# bfloat16: float32's exponent range with an 8-bit significand (7 stored bits).
_BFLOAT16 = {
    "bits": 16,
    "eps": 2.0**-7,
    "max": float.fromhex("0x1.fep127"),
    "smallest_normal": 2.0**-126,
    "resolution": 0.01,
}


class _Info:
    """Read-only attributes set once; equal when they describe the same dtype."""

    __slots__ = ()
    __hash__ = None  # unhashable, as PyTorch's

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"attribute '{name}' of '{type(self).__name__}' objects is not writable"
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)


def _check_dtype(fn: str, type_: object) -> dtype:
    if not isinstance(type_, dtype):
        raise TypeError(
            f"{fn}(): argument 'type' (position 1) must be torch.dtype, not {type(type_).__name__}"
        )
    return type_


class finfo(_Info):  # noqa: N801 - PyTorch's name
    """Limits of a floating-point (or complex: its real part's) dtype.

    ``bits``, ``eps`` (1.0's gap to the next number), ``max``, ``min`` (= -max), ``tiny`` and
    ``smallest_normal`` (the smallest positive normal number), ``resolution`` (10**-digits)
    and ``dtype`` (the name, a string). ``finfo()`` describes the default dtype.

    >>> import ember
    >>> ember.finfo(ember.float32).eps
    1.1920928955078125e-07
    """

    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type: dtype | None = None) -> None:  # noqa: A002 - PyTorch's name
        dt = _dtype.get_default_dtype() if type is None else _check_dtype("finfo", type)
        if not (dt.is_floating_point or dt.is_complex):
            raise TypeError(
                "torch.finfo() requires a floating point input type. "
                "Use torch.iinfo to handle 'torch.finfo'"
            )
        dt = dt.to_real()
        if dt.name == "bfloat16":
            v = dict(_BFLOAT16)
        else:
            f = np.finfo(dt.np)
            v = {
                "bits": int(f.bits),
                "eps": float(f.eps),
                "max": float(f.max),
                "smallest_normal": float(f.smallest_normal),
                "resolution": 10.0 ** -int(f.precision),
            }
        self._set(**v, min=-v["max"], tiny=v["smallest_normal"], dtype=dt.name)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo(_Info):  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: ``bits``, ``max``, ``min`` (Python ints) and ``dtype``.

    >>> import ember
    >>> ember.iinfo(ember.int8).min
    -128
    """

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type: dtype) -> None:  # noqa: A002 - PyTorch's name
        dt = _check_dtype("iinfo", type)
        if dt.name == "bool":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dt.is_floating_point or dt.is_complex:
            raise TypeError(
                "torch.iinfo() requires an integer input type. "
                "Use torch.finfo to handle 'torch.iinfo'"
            )
        i = np.iinfo(dt.np)
        self._set(bits=int(i.bits), max=int(i.max), min=int(i.min), dtype=dt.name)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
