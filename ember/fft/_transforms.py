"""The transforms of ``ember.fft``: one-dimensional, two-dimensional and n-dimensional FFTs of
complex, real (half spectrum) and Hermitian signals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._complex import conj
from .._out import accepts_out_in
from .._tensor import Tensor
from ..ops.fft import DUAL, FftC2C, FftC2R, FftR2C
from ._args import check_points, dims_and_sizes, norm_of, one_dim, prepare

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "hfft2",
    "ihfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "hfftn",
    "ihfftn",
]

Dims = Sequence[int] | None


# ---- the three kinds of transform over any set of dims -------------------------------------
def _c2c(x: Tensor, s: Any, dim: Any, norm: Any, inverse: bool, default: Any = None) -> Tensor:
    x = prepare(x, "fft")
    axes, sizes = dims_and_sizes(x, s, dim, default)
    return FftC2C.apply(x, tuple(sizes), axes, norm_of(norm), inverse)


def _r2c(x: Tensor, s: Any, dim: Any, norm: Any, name: str, default: Any = None) -> Tensor:
    x = prepare(x, name, real_only=True)
    axes, sizes = dims_and_sizes(x, s, dim, default)
    return FftR2C.apply(x, tuple(sizes), axes, norm_of(norm))


def _c2r(x: Tensor, s: Any, dim: Any, norm: Any, default: Any = None) -> Tensor:
    x = prepare(x, "irfft")
    axes, sizes = dims_and_sizes(x, s, dim, default)
    if s is None or s[-1] == -1:  # the last dim holds a half spectrum of 2 * (m - 1) points
        sizes[-1] = check_points(2 * (x.shape[axes[-1]] - 1))
    if not x.dtype.is_complex:
        from .._dtype import complex64, complex128, float32
        from ..ops.elementwise import cast

        x = cast(x, complex64 if x.dtype is float32 else complex128)
    return FftC2R.apply(x, tuple(sizes), axes, norm_of(norm))


def _n(n: int | None) -> Any:
    return None if n is None else (n,)


# ---- one dimension -------------------------------------------------------------------------
def fft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The discrete Fourier transform along ``dim`` (cropped or zero-padded to ``n``)."""
    return _c2c(input, _n(n), (one_dim(input, dim),), norm, False)


def ifft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse discrete Fourier transform along ``dim``."""
    return _c2c(input, _n(n), (one_dim(input, dim),), norm, True)


def rfft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The FFT of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    return _r2c(input, _n(n), (one_dim(input, dim),), norm, "rfft")


def irfft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The real signal of ``n`` points (default ``2 * (m - 1)``) whose half spectrum is given."""
    return _c2r(input, _n(n), (one_dim(input, dim),), norm)


def hfft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The FFT of a Hermitian-symmetric signal given by its first half: a real result."""
    return irfft(conj(prepare(input, "hfft")), n, dim, DUAL[norm_of(norm)])


def ihfft(
    input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse of ``hfft``: the half spectrum of a real signal's inverse FFT."""
    return conj(rfft(prepare(input, "ihfft", real_only=True), n, dim, DUAL[norm_of(norm)]))


# ---- two dimensions (dims default to the last two) ------------------------------------------
_LAST2 = (-2, -1)


def fft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The 2-D FFT over ``dim`` (the last two dims by default)."""
    return _c2c(input, s, dim, norm, False, _LAST2)


def ifft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The 2-D inverse FFT."""
    return _c2c(input, s, dim, norm, True, _LAST2)


def rfft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The 2-D FFT of a real signal (half spectrum along the last of ``dim``)."""
    return _r2c(input, s, dim, norm, "rfftn", _LAST2)


def irfft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse of ``rfft2``."""
    return _c2r(input, s, dim, norm, _LAST2)


def hfft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The 2-D FFT of a Hermitian-symmetric signal: a real result."""
    return hfftn(input, s, dim, norm)


def ihfft2(
    input: Tensor, s: Dims = None, dim: Dims = _LAST2, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse of ``hfft2``."""
    return ihfftn(input, s, dim, norm)


# ---- n dimensions (all dims by default) ----------------------------------------------------
def fftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The n-D FFT over ``dim`` (all dims by default, or the last ``len(s)``)."""
    return _c2c(input, s, dim, norm, False)


def ifftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The n-D inverse FFT."""
    return _c2c(input, s, dim, norm, True)


def rfftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The n-D FFT of a real signal (half spectrum along the last of ``dim``)."""
    return _r2c(input, s, dim, norm, "rfftn")


def irfftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse of ``rfftn``."""
    return _c2r(input, s, dim, norm)


def hfftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The n-D FFT of a signal Hermitian-symmetric along the last of ``dim``: a real result."""
    return _c2r(conj(prepare(input, "hfftn")), s, dim, DUAL[norm_of(norm)])


def ihfftn(
    input: Tensor, s: Dims = None, dim: Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """The inverse of ``hfftn``."""
    return conj(_r2c(input, s, dim, DUAL[norm_of(norm)], "ihfftn"))


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
