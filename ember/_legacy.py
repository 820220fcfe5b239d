"""The legacy tensor types: ``ember.FloatTensor`` & co. (constructors and ``isinstance`` checks)
and the ``'torch.FloatTensor'`` names that ``Tensor.type()`` reports and accepts."""

from __future__ import annotations

from typing import Any

from . import _dtype as D
from ._tensor import Tensor, _legacy_dtype, _new

__all__ = [
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]

LEGACY_NAMES = {
    D.float32: "torch.FloatTensor",
    D.float64: "torch.DoubleTensor",
    D.float16: "torch.HalfTensor",
    D.bfloat16: "torch.BFloat16Tensor",
    D.int64: "torch.LongTensor",
    D.int32: "torch.IntTensor",
    D.int16: "torch.ShortTensor",
    D.int8: "torch.CharTensor",
    D.uint8: "torch.ByteTensor",
    D.bool: "torch.BoolTensor",
    D.complex64: "torch.ComplexFloatTensor",
    D.complex128: "torch.ComplexDoubleTensor",
}


def parse_type(dtype: Any) -> Any:
    """The dtype a ``Tensor.type(dtype)`` argument names: a type name (``'torch.LongTensor'``,
    ``'LongTensor'``), a legacy class (``ember.LongTensor``), or a dtype (returned as is)."""
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        for d, n in LEGACY_NAMES.items():
            if n.rsplit(".", 1)[-1] == name:
                return d
        raise ValueError(f"invalid type: '{dtype}'")
    if isinstance(dtype, type) and (issubclass(dtype, Tensor) or hasattr(dtype, "_legacy_dtype")):
        return _legacy_dtype(dtype)  # t.type(ember.LongTensor)
    return dtype


def _legacy_class(name: str, dt: D.dtype) -> type:
    """``ember.FloatTensor`` & co.: constructors that make a Tensor of one dtype."""

    class _Meta(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, Tensor) and obj.dtype is cls._legacy_dtype

        def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:
            t = _new(Tensor)
            Tensor.__init__(t, *args, dtype=dt)
            return t

    return _Meta(name, (), {"_legacy_dtype": dt, "__doc__": f"Legacy constructor of {dt} tensors."})


FloatTensor = _legacy_class("FloatTensor", D.float32)
DoubleTensor = _legacy_class("DoubleTensor", D.float64)
HalfTensor = _legacy_class("HalfTensor", D.float16)
LongTensor = _legacy_class("LongTensor", D.int64)
IntTensor = _legacy_class("IntTensor", D.int32)
ShortTensor = _legacy_class("ShortTensor", D.int16)
CharTensor = _legacy_class("CharTensor", D.int8)
ByteTensor = _legacy_class("ByteTensor", D.uint8)
BoolTensor = _legacy_class("BoolTensor", D.bool)
