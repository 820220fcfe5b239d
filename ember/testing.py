"""``ember.testing.assert_close``: PyTorch's comparison, its default tolerances and its messages.

Inputs may be ember tensors, NumPy arrays, Python numbers/bools/None, and sequences or mappings of
those (compared item by item, the failing item named in the message). Two tensors must agree in
shape, dtype (unless ``check_dtype=False``: both are then promoted) and, when asked, strides; then
``|actual - expected| <= atol + rtol * |expected|`` elementwise. Without ``rtol``/``atol`` the
tolerances are PyTorch's per dtype (the larger of the two inputs'): float16 (1e-3, 1e-5),
bfloat16 (1.6e-2, 1e-5), float32/complex64 (1.3e-6, 1e-5), float64/complex128 (1e-7, 1e-7),
integers and bool exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["assert_close"]

# dtype name -> (rtol, atol); names not listed compare exactly.
_PRECISIONS = {
    "float16": (0.001, 1e-5),
    "bfloat16": (0.016, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}
_NUMBER_DTYPE = {int: "int64", float: "float64", complex: "complex128"}


class _Mismatch(Exception):
    """A failed comparison: the exception type to raise and its message."""

    def __init__(self, kind: type, msg: str) -> None:
        super().__init__(msg)
        self.kind, self.msg = kind, msg


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close (module docstring)."""
    opts = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan}
    opts.update(check_dtype=check_dtype, check_stride=check_stride)
    try:
        _compare(actual, expected, (), opts)
    except _Mismatch as m:
        text = m.msg
        if m.kind is AssertionError and msg is not None:
            text = msg(text) if callable(msg) else msg
        raise m.kind(text) from None


def _where(path: tuple) -> str:
    return "".join(f"[{p!r}]" for p in path)


def _fail(kind: type, text: str, path: tuple) -> _Mismatch:
    if path:
        text += f"\n\nThe failure occurred for item {_where(path)}"
    return _Mismatch(kind, text)


def _compare(actual: Any, expected: Any, path: tuple, opts: dict) -> None:
    """Dispatch on the pair's kind, as PyTorch's comparison pairs do."""
    from ._tensor import Tensor

    tensorish = (Tensor, np.ndarray)
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _fail(AssertionError, f"None mismatch: {actual} is not {expected}", path)
    elif isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) is not bool(expected):
            raise _fail(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)
    elif _is_number(actual) and _is_number(expected):
        _compare_numbers(actual, expected, path, opts)
    elif isinstance(actual, tensorish) and type(actual) is type(expected):
        _compare_tensors(_array(actual), _array(expected), path, opts)
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            text = f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
            raise _fail(AssertionError, text, path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, (*path, i), opts)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        _compare_mappings(actual, expected, path, opts)
    else:
        raise _fail(
            TypeError,
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}.",
            path,
        )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, complex, np.number)) and not isinstance(x, bool)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str)


def _array(x: Any) -> np.ndarray:
    return x._data if hasattr(x, "_data") else x


def _compare_mappings(actual: Mapping, expected: Mapping, path: tuple, opts: dict) -> None:
    a_keys, e_keys = set(actual), set(expected)
    if a_keys != e_keys:
        missing, extra = sorted(e_keys - a_keys, key=repr), sorted(a_keys - e_keys, key=repr)
        text = "The keys of the mappings do not match:\n"
        if missing:
            text += f"Missing keys in the actual mapping: {missing}\n"
        if extra:
            text += f"Additional keys in the actual mapping: {extra}"
        raise _fail(AssertionError, text.strip(), path)
    for key in expected:
        _compare(actual[key], expected[key], (*path, key), opts)


def _tolerances(dtype_names: Sequence[str], opts: dict, path: tuple) -> tuple[float, float]:
    rtol, atol = opts["rtol"], opts["atol"]
    if (rtol is None) ^ (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise _fail(
            ValueError,
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.",
            path,
        )
    if rtol is not None:
        return rtol, atol
    pairs = [_PRECISIONS.get(n, (0.0, 0.0)) for n in dtype_names]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _compare_numbers(actual: Any, expected: Any, path: tuple, opts: dict) -> None:
    if opts["check_dtype"] and type(actual) is not type(expected):
        text = f"The (d)types do not match: {type(actual)} != {type(expected)}."
        raise _fail(AssertionError, text, path)
    names = [_number_dtype(actual), _number_dtype(expected)]
    rtol, atol = _tolerances(names, opts, path)
    if actual == expected:
        return
    if opts["equal_nan"] and _isnan(actual) and _isnan(expected):
        return
    diff = abs(actual - expected)
    if math.isfinite(diff) and diff <= atol + rtol * abs(expected):
        return
    raise _fail(AssertionError, _scalar_message(actual, expected, rtol, atol), path)


def _number_dtype(x: Any) -> str:
    if isinstance(x, np.number):
        return np.dtype(type(x)).name
    return _NUMBER_DTYPE[type(x)]


def _isnan(x: Any) -> bool:
    return bool(np.isnan(x))


def _scalar_message(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    diff = abs(actual - expected)
    rel = float("inf") if expected == 0 else diff / abs(expected)
    return _message("Scalars", f"Expected {expected} but got {actual}.", diff, None, rel, None,
                    rtol, atol)  # fmt: skip


def _message(what: str, extra: str, diff: Any, d_idx: Any, rel: Any, r_idx: Any,
             rtol: float, atol: float) -> str:  # fmt: skip
    equality = rtol == 0 and atol == 0
    lines = [f"{what} are not {'equal' if equality else 'close'}!", "", extra]
    for kind, value, idx, tol in (("absolute", diff, d_idx, atol), ("relative", rel, r_idx, rtol)):
        line = f"{kind.title()} difference: {value}" if idx is None else (
            f"Greatest {kind} difference: {value} at index {idx}")  # fmt: skip
        lines.append(line if equality else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


def _dtype_name(a: np.ndarray) -> str:
    from ._dtype import _BY_NP

    d = _BY_NP.get(a.dtype)
    return d.name if d is not None else a.dtype.name


def _torch_name(a: np.ndarray) -> str:
    return f"torch.{_dtype_name(a)}"


def _compare_tensors(a: np.ndarray, e: np.ndarray, path: tuple, opts: dict) -> None:
    if a.shape != e.shape:
        text = (f"The values for attribute 'shape' do not match: torch.Size({list(a.shape)}) != "
                f"torch.Size({list(e.shape)}).")  # fmt: skip
        raise _fail(AssertionError, text, path)
    rtol, atol = _tolerances([_dtype_name(a), _dtype_name(e)], opts, path)
    if a.dtype != e.dtype:
        if opts["check_dtype"]:
            text = (f"The values for attribute 'dtype' do not match: {_torch_name(a)} != "
                    f"{_torch_name(e)}.")  # fmt: skip
            raise _fail(AssertionError, text, path)
        common = np.promote_types(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if opts["check_stride"]:
        sa = tuple(s // a.itemsize for s in a.strides)
        se = tuple(s // e.itemsize for s in e.strides)
        if sa != se:
            text = f"The values for attribute 'stride()' do not match: {sa} != {se}."
            raise _fail(AssertionError, text, path)
    matches = _isclose(a, e, rtol, atol, opts["equal_nan"])
    if matches.all():
        return
    if a.ndim == 0:
        text = _scalar_message(a.item(), e.item(), rtol, atol)
    else:
        text = _tensor_message(a, e, matches, rtol, atol)
    raise _fail(AssertionError, text, path)


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool):
    if a.dtype.kind in "biu":
        return a == e
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        close = (a == e) | (np.isfinite(diff) & (diff <= atol + rtol * np.abs(e)))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return close


def _tensor_message(a: np.ndarray, e: np.ndarray, matches: np.ndarray, rtol: float,
                    atol: float) -> str:  # fmt: skip
    total, bad = matches.size, int(matches.size - matches.sum())
    extra = f"Mismatched elements: {bad} / {total} ({bad / total:.1%})"
    a, e, m = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if a.dtype.kind in "biu":
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(a - e)
        diff[m] = 0
        # Integer differences divide in float32 (the default dtype), as PyTorch's true division.
        num = diff.astype(np.float32) if diff.dtype.kind == "i" else diff
        rel = num / np.abs(e).astype(num.dtype)
        rel[m] = 0
    d_i, r_i = _argmax_nan(diff), _argmax_nan(rel)

    def index(flat: int) -> tuple:
        return tuple(int(i) for i in np.unravel_index(flat, matches.shape))

    return _message("Tensor-likes", extra, diff[d_i].item(), index(d_i), rel[r_i].item(),
                    index(r_i), rtol, atol)  # fmt: skip


def _argmax_nan(x: np.ndarray) -> int:
    """The index of the largest value, a NaN winning (as ``torch.max``)."""
    nan = np.isnan(x) if x.dtype.kind in "fc" else None
    if nan is not None and nan.any():
        return int(np.argmax(nan))
    return int(np.argmax(x))
