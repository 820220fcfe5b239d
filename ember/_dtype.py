"""ember's dtypes: thin named wrappers over NumPy dtypes, with PyTorch's promotion rules."""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "get_default_dtype",
    "set_default_dtype",
]


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type (``ember.float32`` & co.).

    Each dtype wraps one NumPy dtype (``.np``). Instances are singletons and compare by identity.
    """

    __slots__ = (
        "name",
        "np",
        "itemsize",
        "is_floating_point",
        "is_complex",
        "is_signed",
        "_kind",
        "kind",
    )

    def __init__(self, name: str, np_dtype: np.dtype, kind: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = kind == _FLOAT
        self.is_complex = kind == _COMPLEX
        self.is_signed = name not in ("uint8", "bool")
        self._kind = kind
        # NumPy's kind letter, except bfloat16's ("V" in ml_dtypes) reads "f".
        self.kind = self.np.kind

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self) -> dtype:
        return {complex64: float32, complex128: float64}.get(self, self)


_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3

float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)


class _BFloat16(dtype):
    """bfloat16: its NumPy dtype comes from ``ml_dtypes``, imported on first use
    (``ember/_bfloat16.py``), so ``import ember`` does not pay for it."""

    def __init__(self) -> None:
        self.name = "bfloat16"
        self.itemsize = 2
        self.is_floating_point = True
        self.is_complex = False
        self.is_signed = True
        self._kind = _FLOAT
        self.kind = "f"

    @property
    def np(self) -> np.dtype:  # type: ignore[override]
        from ._bfloat16 import numpy_dtype

        return numpy_dtype()


bfloat16 = _BFloat16()
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - PyTorch's name
complex64 = dtype("complex64", np.complex64, _COMPLEX)
complex128 = dtype("complex128", np.complex128, _COMPLEX)

ALL_DTYPES = (
    float16,
    float32,
    float64,
    bfloat16,
    int8,
    int16,
    int32,
    int64,
    uint8,
    bool,
    complex64,
    complex128,
)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NP = {d.np: d for d in ALL_DTYPES if d is not bfloat16}


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype for a NumPy dtype; TypeError for one ember cannot hold."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        pass
    nd = np.dtype(np_dtype)
    if nd.kind == "V" and nd.name == "bfloat16":  # ml_dtypes' type, before its first use here
        return bfloat16 if bfloat16.np == nd else _unknown(nd)
    # Platform aliases (e.g. intc, longlong) normalise through their char code.
    for d in ALL_DTYPES:
        if d is not bfloat16 and d.np.kind == nd.kind and d.np.itemsize == nd.itemsize:
            return d
    return _unknown(nd)


def _unknown(nd: np.dtype) -> dtype:
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{nd.name}. The only supported types are: "
        "float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, int8, "
        "uint8, and bool."
    )


_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of new floating-point tensors (``float32`` unless changed)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of new floating-point tensors; only float32 and float64 are accepted."""
    if d not in (float32, float64, float16, bfloat16):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


# --- promotion -------------------------------------------------------------------------------

_ORDER = {
    bool: 0,
    uint8: 1,
    int8: 1,
    int16: 2,
    int32: 3,
    int64: 4,
    float16: 5,
    bfloat16: 5,
    float32: 6,
    float64: 7,
    complex64: 8,
    complex128: 9,
}


def _promote_same_category(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if {a, b} == {uint8, int8}:
        return int16
    if {a, b} == {float16, bfloat16}:
        return float32
    return a if _ORDER[a] >= _ORDER[b] else b


_promote_cache: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's ``promote_types`` for two tensor dtypes (no scalar rules)."""
    key = (a, b)
    r = _promote_cache.get(key)
    if r is None:
        if a._kind != b._kind:
            hi, lo = (a, b) if a._kind > b._kind else (b, a)
            if hi._kind == _COMPLEX and lo._kind == _FLOAT:
                r = complex128 if lo is float64 or hi is complex128 else hi
            else:
                r = hi
        else:
            r = _promote_same_category(a, b)
        _promote_cache[key] = r
    return r


def result_type_scalar(t: dtype, scalar) -> dtype:
    """The result dtype of ``tensor <op> python scalar`` (the scalar only lifts the category)."""
    if isinstance(scalar, builtins_bool):
        return t
    if isinstance(scalar, int):
        return int64 if t is bool else t
    if isinstance(scalar, float):
        return get_default_dtype() if t._kind < _FLOAT else t
    if isinstance(scalar, complex):
        if t._kind == _COMPLEX:
            return t
        return complex128 if t is float64 else complex64
    raise TypeError(f"unsupported scalar type {type(scalar).__name__}")


def result_type_dims(a: dtype, a_dim: int, b: dtype, b_dim: int) -> dtype:
    """Promotion of two tensors where 0-dim tensors only lift the category (PyTorch's rule)."""
    if a is b:
        return a
    if (a_dim == 0) == (b_dim == 0) or a._kind == b._kind:
        if (a_dim == 0) != (b_dim == 0):
            return a if b_dim == 0 else b
        return promote_types(a, b)
    # One is 0-dim and in a different category.
    dimmed, zero = (a, b) if b_dim == 0 else (b, a)
    if zero._kind > dimmed._kind:
        return promote_types(dimmed, zero)
    return dimmed


builtins_bool = type(True)  # noqa: UP003 - `bool` is shadowed by the dtype here
