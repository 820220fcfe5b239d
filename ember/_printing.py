"""PyTorch's tensor printing rules (precision 4, int mode, scientific mode, summaries)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _dtype as D

__all__ = ["set_printoptions", "tensor_repr"]


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print, as ``torch.set_printoptions``."""
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind in "fc"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
        else:
            vals = flat.astype(np.float64)
            nz = vals[np.isfinite(vals) & (vals != 0)]
            if nz.size:
                absv = np.abs(nz)
                lo, hi = absv.min(), absv.max()
                p = PRINT_OPTS.precision
                self.int_mode = bool(np.all(nz == np.ceil(nz)))
                if PRINT_OPTS.sci_mode is None:
                    self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
                else:
                    self.sci_mode = PRINT_OPTS.sci_mode
                # The width follows the final mode (a forced sci_mode changes it too).
                if self.sci_mode:
                    self.max_width = max(len(f"{v:.{p}e}") for v in nz.tolist())
                elif self.int_mode:
                    self.max_width = max(len(f"{v:.0f}") + 1 for v in nz.tolist())
                else:
                    self.max_width = max(len(f"{v:.{p}f}") for v in nz.tolist())

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        p = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


class _ComplexFormatter:
    """PyTorch's complex layout: the real parts and the imaginary parts each formatted by their
    own float formatter, joined as ``re+imj``."""

    def __init__(self, values: np.ndarray) -> None:
        self.re = _Formatter(np.ascontiguousarray(values.real))
        self.im = _Formatter(np.ascontiguousarray(values.imag))

    def width(self) -> int:
        return self.re.width() + self.im.width() + 1

    def format(self, value: Any) -> str:
        value = complex(value)
        re = self.re.format(value.real)
        im = (self.im.format(value.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _summarized(a: np.ndarray) -> np.ndarray:
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        if a.shape[0] > 2 * e:
            return np.concatenate([a[:e], a[-e:]])
        return a
    if a.shape[0] > 2 * e:
        parts = [_summarized(a[i]) for i in range(e)] + [
            _summarized(a[i]) for i in range(a.shape[0] - e, a.shape[0])
        ]
    else:
        parts = [_summarized(x) for x in a]
    return np.stack(parts)


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    element_length = fmt.width() + 2
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        data = (
            [fmt.format(v) for v in a[:e].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in a[-e:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        slices = (
            [_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(e)]
            + ["..."]
            + [_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(len(a) - e, len(a))]
        )
    else:
        slices = [_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _add_suffixes(s: str, suffixes: list, indent: int) -> str:
    parts = [s]
    last_line_len = len(s) - s.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def body_str(a: np.ndarray, indent: int) -> str:
    """The bracketed values of ``a`` as PyTorch prints them."""
    if a.dtype == np.float16 or a.dtype.kind == "V":  # float16, bfloat16 (ml_dtypes)
        a = a.astype(np.float32)
    summarize = a.size > PRINT_OPTS.threshold
    make = _ComplexFormatter if a.dtype.kind == "c" else _Formatter
    fmt = make(_summarized(a) if summarize else a)
    return _tensor_str(a, indent, summarize, fmt)


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    a = t._data
    dt = t.dtype
    indent = len(prefix)
    suffixes = []
    implicit = dt in (D.get_default_dtype(), D.int64, D.bool, D.complex64)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dt is not D.get_default_dtype():
            suffixes.append(f"dtype={dt!r}")
        s = "[]"
    else:
        if not implicit:
            suffixes.append(f"dtype={dt!r}")
        s = body_str(a, indent)
    fn = t._grad_fn
    if fn is not None:
        suffixes.append(f"grad_fn=<{type(fn).__name__}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + s, suffixes, indent)
