"""The exact allowlist of globals a checkpoint may name, and ember's constructors for them.

Each allowed ``(module, name)`` maps to an inert :class:`Marker`; REDUCE finds the constructor
for a marker by identity in ``REDUCERS`` and each constructor type-checks its arguments. Nothing
here imports or looks anything up by a name read from a file.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import UnsafeCheckpointError

__all__ = ["ALLOWED", "REDUCERS", "DTYPES", "ArrayFactory", "strided_view"]

MAX_DEPTH = 100
MAX_OBJECTS = 5_000_000
MAX_EXPANDED = 50_000_000
MAX_NDIM = 64
KEY = re.compile(r"^[0-9]+$")

# torch dtype name -> NumPy dtype as read from the file (bfloat16 is raw 16-bit, viewed later).
DTYPES: dict[str, np.dtype] = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(np.uint16),
    "int64": np.dtype(np.int64),
    "int32": np.dtype(np.int32),
    "int16": np.dtype(np.int16),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "bool": np.dtype(np.bool_),
    "complex64": np.dtype(np.complex64),
    "complex128": np.dtype(np.complex128),
}
STORAGE_DTYPES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                  "int": "int32", "short": "int16", "cfloat": "complex64",
                  "cdouble": "complex128"}  # fmt: skip
UNSUPPORTED_DTYPES = {"uint16", "uint32", "uint64", "complex32", "chalf", "float8_e4m3fn",
                       "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
                       "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
                       "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16"}  # fmt: skip
UNSUPPORTED_DTYPES.update(f"{p}int{i}" for p in ("", "u") for i in range(1, 8))


class Marker:
    """An allowlisted global: inert, recognised by identity, never called directly."""

    __slots__ = ("qualname", "dtype_name")

    def __init__(self, qualname: str, dtype_name: str | None = None) -> None:
        self.qualname, self.dtype_name = qualname, dtype_name

    def __repr__(self) -> str:
        return f"<allowlisted {self.qualname}>"


class Storage:
    """A loaded storage: a 1-D array in the storage's dtype (bfloat16 from ml_dtypes)."""

    __slots__ = ("key", "dtype_name", "numel", "array", "_typed")

    def __init__(self, key: str, dtype_name: str, numel: int, array: np.ndarray) -> None:
        self.key, self.dtype_name, self.numel, self.array = key, dtype_name, numel, array
        self._typed: dict[str, np.ndarray] = {}


def _m(name: str) -> Marker:
    return Marker(name)


ORDERED_DICT, COUNTER = _m("collections.OrderedDict"), _m("collections.Counter")
SET, BYTEARRAY, COMPLEX = _m("builtins.set"), _m("builtins.bytearray"), _m("builtins.complex")
ENCODE, SIZE, DEVICE = _m("_codecs.encode"), _m("torch.Size"), _m("torch.device")
TENSOR_CLS, PARAMETER_CLS = _m("torch.Tensor"), _m("torch.nn.parameter.Parameter")
REBUILD_TENSOR, REBUILD_V2 = (
    _m("torch._utils._rebuild_tensor"),
    _m("torch._utils._rebuild_tensor_v2"),
)
REBUILD_V3 = _m("torch._utils._rebuild_tensor_v3")
REBUILD_PARAM = _m("torch._utils._rebuild_parameter")
REBUILD_PARAM_STATE = _m("torch._utils._rebuild_parameter_with_state")
REBUILD_FROM_TYPE = _m("torch._tensor._rebuild_from_type_v2")

ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): ORDERED_DICT,
    ("collections", "Counter"): COUNTER,
    ("builtins", "set"): SET,
    ("builtins", "bytearray"): BYTEARRAY,
    ("builtins", "complex"): COMPLEX,
    ("_codecs", "encode"): ENCODE,
    ("torch", "Size"): SIZE,
    ("torch", "device"): DEVICE,
    ("torch", "Tensor"): TENSOR_CLS,
    ("torch.nn.parameter", "Parameter"): PARAMETER_CLS,
    ("torch._utils", "_rebuild_tensor"): REBUILD_TENSOR,
    ("torch._utils", "_rebuild_tensor_v2"): REBUILD_V2,
    ("torch._utils", "_rebuild_tensor_v3"): REBUILD_V3,
    ("torch._utils", "_rebuild_parameter"): REBUILD_PARAM,
    ("torch._utils", "_rebuild_parameter_with_state"): REBUILD_PARAM_STATE,
    ("torch._tensor", "_rebuild_from_type_v2"): REBUILD_FROM_TYPE,
    ("torch.storage", "UntypedStorage"): Marker("torch.storage.UntypedStorage", "uint8"),
}
for _cls, _dt in STORAGE_DTYPES.items():
    ALLOWED[("torch", _cls)] = Marker(f"torch.{_cls}", _dt)
    ALLOWED[("torch.cuda", _cls)] = Marker(f"torch.cuda.{_cls}", _dt)

TENSOR_REBUILDS = (REBUILD_TENSOR, REBUILD_V2, REBUILD_V3, REBUILD_PARAM, REBUILD_PARAM_STATE)
OPNAMES: dict[int, str] = {}


def opname(code: int) -> str:
    if not OPNAMES:
        import pickletools

        OPNAMES.update({ord(op.code): op.name for op in pickletools.opcodes})
    return OPNAMES.get(code, f"unknown opcode 0x{code:02x}")


class ArrayFactory:
    """Builds the results of tensor rebuilds: raw NumPy arrays (for format-level code)."""

    def tensor(self, array: np.ndarray, requires_grad: bool, dtype_name: str = "") -> Any:
        return array

    def parameter(self, tensor: Any, requires_grad: bool) -> Any:
        return tensor

    def is_tensor(self, obj: Any) -> bool:
        return isinstance(obj, np.ndarray)


def is_int(x: Any) -> bool:
    return type(x) is int


def _int_tuple(x: Any, what: str) -> tuple[int, ...]:
    if not isinstance(x, tuple) or not all(is_int(v) for v in x):
        raise UnsafeCheckpointError(f"tensor {what} must be a tuple of ints, got {x!r:.80}")
    if len(x) > MAX_NDIM:
        raise UnsafeCheckpointError(f"tensor has {len(x)} dimensions, more than {MAX_NDIM}")
    if any(v < 0 for v in x):
        raise UnsafeCheckpointError(f"tensor {what} {x} has a negative entry")
    return x


def strided_view(storage: np.ndarray, offset: Any, size: Any, stride: Any) -> np.ndarray:
    """A view of ``storage`` after checking that every element it reaches is inside it."""
    if not is_int(offset) or offset < 0:
        raise UnsafeCheckpointError(f"tensor storage offset {offset!r:.40} is not an int >= 0")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise UnsafeCheckpointError(f"tensor size {size} and stride {stride} differ in length")
    n = len(storage)
    if 0 in size:
        if offset > n:
            raise UnsafeCheckpointError(f"empty tensor offset {offset} is past its storage ({n})")
        return np.empty(size, storage.dtype)
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= n:
        raise UnsafeCheckpointError(
            f"tensor (offset {offset}, size {size}, stride {stride}) reaches element {last} of a "
            f"storage with {n} elements"
        )
    item = storage.dtype.itemsize
    try:
        return np.ndarray(size, storage.dtype, storage, offset * item, [s * item for s in stride])
    except (ValueError, TypeError, OverflowError) as exc:
        raise UnsafeCheckpointError(f"tensor view cannot be built: {exc}") from None


def bf16_view(raw: np.ndarray) -> np.ndarray:
    """Raw 16-bit words as bfloat16 (bit-exact, no copy; imports ml_dtypes the first time)."""
    from .._bfloat16 import numpy_dtype

    return raw.view(numpy_dtype())


def _empty_state(state: Any) -> bool:
    return state is None or (type(state) in (dict, OrderedDict) and not state)


def _r_ordered_dict(u: Any, args: tuple) -> Any:
    d = u._new(OrderedDict(), container=True)
    if not args:
        return d
    if len(args) == 1 and type(args[0]) is list:
        pairs = args[0]
        if not all(type(p) is tuple and len(p) == 2 for p in pairs):
            raise UnsafeCheckpointError("OrderedDict() argument must be a list of pairs")
        u._setitems([x for p in pairs for x in p], "OrderedDict", d)
        return d
    raise UnsafeCheckpointError("OrderedDict() takes () or ([pairs],)")


def _r_counter(u: Any, args: tuple) -> Any:
    c = u._new(Counter(), container=True)
    if args and (len(args) != 1 or type(args[0]) is not dict):
        raise UnsafeCheckpointError("Counter() takes () or (dict,)")
    if args:
        u._setitems([x for kv in args[0].items() for x in kv], "Counter", c)
    return c


def _r_set(u: Any, args: tuple) -> Any:
    if args and (len(args) != 1 or type(args[0]) is not list):
        raise UnsafeCheckpointError("set() takes () or (list,)")
    s = u._new(set(), container=True)
    for x in args[0] if args else ():
        u._check_key(x)
        u._adopt(s, x)
        s.add(x)
    return s


def _r_bytearray(u: Any, args: tuple) -> Any:
    if not args:
        return bytearray()
    if len(args) == 1 and type(args[0]) is bytes:
        return bytearray(args[0])
    if len(args) == 2 and type(args[0]) is str and _latin1_name(args[1]):
        return bytearray(_latin1(args[0]))
    raise UnsafeCheckpointError("bytearray() arguments are not allowed")


def _latin1_name(x: Any) -> bool:
    return type(x) is str and x in ("latin1", "latin-1")


def _latin1(s: str) -> bytes:
    try:
        return s.encode("latin1")
    except UnicodeEncodeError:
        raise UnsafeCheckpointError("_codecs.encode argument is not latin-1") from None


def _r_encode(u: Any, args: tuple) -> Any:
    if len(args) != 2 or type(args[0]) is not str or not _latin1_name(args[1]):
        raise UnsafeCheckpointError("_codecs.encode is only allowed as encode(str, 'latin1')")
    return _latin1(args[0])


def _r_complex(u: Any, args: tuple) -> Any:
    if not 1 <= len(args) <= 2 or not all(type(a) in (int, float) for a in args):
        raise UnsafeCheckpointError("complex() takes one or two numbers")
    return complex(*args)


def _r_size(u: Any, args: tuple) -> Any:
    if len(args) != 1:
        raise UnsafeCheckpointError("torch.Size() takes one tuple")
    from .._tensor import Size

    return Size(_int_tuple(args[0], "Size"))


def _r_device(u: Any, args: tuple) -> Any:
    if not 1 <= len(args) <= 2 or type(args[0]) is not str or len(args[0]) > 64:
        raise UnsafeCheckpointError("torch.device() takes a str and an optional int")
    if len(args) == 2 and not (args[1] is None or is_int(args[1])):
        raise UnsafeCheckpointError("torch.device() index must be an int")
    name = args[0] if len(args) == 1 or args[1] is None else f"{args[0]}:{args[1]}"
    from .._backend import device

    try:
        return device(name)
    except (RuntimeError, ValueError):
        return name  # a device ember lacks stays a plain string


def _r_param(u: Any, args: tuple) -> Any:
    if len(args) != 3:
        raise UnsafeCheckpointError("_rebuild_parameter takes 3 arguments")
    return u._parameter(*args)


def _r_param_state(u: Any, args: tuple) -> Any:
    if len(args) != 4 or not _empty_state(args[3]):
        raise UnsafeCheckpointError("_rebuild_parameter_with_state: Parameter attributes found")
    return u._parameter(*args[:3])


def _r_from_type(u: Any, args: tuple) -> Any:
    if (
        len(args) != 4
        or (args[1] is not TENSOR_CLS and args[1] is not PARAMETER_CLS)
        or not _empty_state(args[3])
    ):
        raise UnsafeCheckpointError("_rebuild_from_type_v2 only rebuilds plain tensors")
    t = u._call_rebuild(args[0], args[2])
    if (
        args[1] is PARAMETER_CLS
        and args[0] is not REBUILD_PARAM
        and args[0] is not REBUILD_PARAM_STATE
    ):
        t = u._parameter(t, True, None)
    return t


REDUCERS: dict[int, Callable[[Any, tuple], Any]] = {
    id(ORDERED_DICT): _r_ordered_dict,
    id(COUNTER): _r_counter,
    id(SET): _r_set,
    id(BYTEARRAY): _r_bytearray,
    id(ENCODE): _r_encode,
    id(COMPLEX): _r_complex,
    id(SIZE): _r_size,
    id(DEVICE): _r_device,
    id(REBUILD_TENSOR): lambda u, a: u._tensor(a, 4, 4),
    id(REBUILD_V2): lambda u, a: u._tensor(a, 6, 7),
    id(REBUILD_V3): lambda u, a: u._tensor(a, 7, 8, v3=True),
    id(REBUILD_PARAM): _r_param,
    id(REBUILD_PARAM_STATE): _r_param_state,
    id(REBUILD_FROM_TYPE): _r_from_type,
}
