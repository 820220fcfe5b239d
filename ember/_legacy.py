"""The legacy tensor types: ``ember.FloatTensor`` & co. (constructors and ``isinstance`` checks)
and the ``'torch.FloatTensor'`` names that ``Tensor.type()`` reports and accepts."""

from __future__ import annotations

import warnings
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
    "set_default_tensor_type",
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


_FLOAT_ONLY = "only floating-point types are supported as the default type"
_warned = [False]


def set_default_tensor_type(t: type | str) -> None:
    """Set the default floating-point dtype from a legacy type (``ember.DoubleTensor`` or
    ``'torch.DoubleTensor'``). Deprecated since PyTorch 2.1 (it warns once, as PyTorch):
    use :func:`ember.set_default_dtype`."""
    if isinstance(t, str):
        if t.startswith("torch.cuda."):
            raise TypeError(f"type {t} not available. Torch not compiled with CUDA enabled.")
        if "." not in t:  # PyTorch imports the text before the last dot as a module
            raise ModuleNotFoundError(f"No module named '{t}'")
        try:
            dt = parse_type(t)
        except ValueError:
            dt = None
        if dt is None or dt.is_complex:  # PyTorch has no torch.ComplexFloatTensor class
            raise AttributeError(f"module 'torch' has no attribute '{t.rsplit('.', 1)[-1]}'")
    elif isinstance(t, type) and hasattr(t, "_legacy_dtype"):
        dt = t._legacy_dtype
    else:
        raise TypeError(f"invalid type object: {_FLOAT_ONLY}")
    if not dt.is_floating_point:
        raise TypeError(_FLOAT_ONLY)
    if not _warned[0]:
        _warned[0] = True
        warnings.warn(
            "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
            "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
            UserWarning,
            stacklevel=2,
        )
    D.set_default_dtype(dt)
