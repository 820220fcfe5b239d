"""``y += alpha * x`` in one rounding, as PyTorch's ``add_(x, alpha=)`` computes it.

PyTorch's vectorised ``add``/``sub`` with an ``alpha`` is a fused multiply-add (``fmadd(x,
alpha, y)``), so ``y + alpha * x`` is rounded once. NumPy has no fused multiply-add: ``y +=
x * alpha`` rounds the product first, and the optimizers' updates (``param.add_(buf,
alpha=-lr)``, ``exp_avg.lerp_(grad, 1 - beta1)``, ...) then differed from PyTorch's in the last
bit of about 2% of the elements. BLAS's ``axpy`` is exactly that fused update, in one pass
without a temporary (NumPy: a product array, then an add): on a 200K-element float32 update,
one thread, 21.6 us against 49.4 us (PyTorch 17.9), and OpenBLAS threads it (11.4 us on two
cores, PyTorch 9.9) without the GIL. It is called through ``ctypes`` on the OpenBLAS that NumPy
ships; where that is missing (or for other dtypes and layouts) the NumPy form runs.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from .._runtime import openblas_library

__all__ = ["axpy_"]

# (symbol, integer type) of cblas_?axpy in the OpenBLAS builds NumPy ships: ILP64 with the
# scipy-openblas prefix and suffix (NumPy 2.x wheels), or scipy-openblas32. Only names whose
# index width is certain: a bare ``cblas_saxpy`` may take 32- or 64-bit sizes, and a wrong
# guess would pass a garbage length (NumPy's form runs instead).
_NAMES = (
    ("scipy_cblas_{}axpy64_", ctypes.c_int64),
    ("cblas_{}axpy64_", ctypes.c_int64),
    ("scipy_cblas_{}axpy", ctypes.c_int32),
)
_KERNELS: dict | None = None  # dtype -> the ctypes function, looked up on first use


def _kernels() -> dict:
    global _KERNELS
    if _KERNELS is None:
        found: dict = {}
        lib = openblas_library()
        for code, dtype, scalar in (
            ("s", np.float32, ctypes.c_float),
            ("d", np.float64, ctypes.c_double),
        ):
            for name, index in _NAMES:
                fn = getattr(lib, name.format(code), None) if lib is not None else None
                if fn is not None:
                    fn.argtypes = [index, scalar, ctypes.c_void_p, index, ctypes.c_void_p, index]
                    fn.restype = None
                    found[np.dtype(dtype)] = fn
                    break
        _KERNELS = found
    return _KERNELS


def axpy_(y: np.ndarray, x: np.ndarray, alpha: Any) -> None:
    """``y += alpha * x`` in place (``alpha`` a real number): through BLAS, rounded once, when
    both are float32/float64 arrays of one shape and dtype laid out alike without gaps
    (C-contiguous, say) that do not partly overlap; else as NumPy's ``y += x * alpha``."""
    fn = (_KERNELS if _KERNELS is not None else _kernels()).get(y.dtype)
    if (
        fn is not None
        and isinstance(alpha, (int, float, np.floating))
        and x.dtype == y.dtype
        and x.shape == y.shape
        and y.flags.writeable
        and (y.flags.c_contiguous and x.flags.c_contiguous or _dense_alike(x, y))
    ):
        py, px = _address(y), _address(x)
        # (the same memory element for element, or none of it: else NumPy's buffered loop)
        if px == py or not np.may_share_memory(x, y):
            fn(y.size, alpha, px, 1, py, 1)
            return
    y += x * alpha


def _dense_alike(x: np.ndarray, y: np.ndarray) -> bool:
    """Both arrays fill their memory without gaps in one and the same order (channels-last or
    Fortran order, say), each from its first element: then element ``i`` of one memory run is
    element ``i`` of the other."""
    if x.strides != y.strides:
        return False
    step = y.itemsize
    for stride, n in sorted((s, n) for s, n in zip(y.strides, y.shape) if n > 1):
        if stride != step:  # (a gap, an overlap, or a negative stride)
            return False
        step *= n
    return True


def _address(a: np.ndarray) -> int:
    """The address of ``a``'s first element (with positive strides, the start of its memory):
    through the buffer protocol when writeable and C-contiguous (0.25 us; ``a.ctypes.data``
    0.75 us, a per-call cost that tiny bias updates notice)."""
    if a.flags.writeable and a.flags.c_contiguous and a.size:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data
