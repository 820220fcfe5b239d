"""FFT primitives: complex-to-complex, real-to-complex (half spectrum) and complex-to-real.

Each transforms ``axes`` after cropping or zero-padding them to ``sizes`` (the ``n``/``s``
arguments). Backward is the adjoint linear map, in PyTorch's convention for complex gradients
(dL/dRe + i dL/dIm): the opposite transform with the dual normalisation, mapped back to the
input's sizes; a real input keeps the real part; the half spectrum doubles the bins that stand for
two conjugate frequencies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._util import Primitive, on_graph

__all__ = ["FftC2C", "FftR2C", "FftC2R", "fit", "DUAL"]

# The normalisation whose scale makes the opposite transform the adjoint.
DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def fit(a: np.ndarray, axes: tuple, sizes: tuple) -> np.ndarray:
    """``a`` cropped or zero-padded at the end of each of ``axes`` to ``sizes``."""
    if all(a.shape[ax] == n for ax, n in zip(axes, sizes)):
        return a
    crop = [slice(None)] * a.ndim
    pad = [(0, 0)] * a.ndim
    for ax, n in zip(axes, sizes):
        crop[ax] = slice(0, min(n, a.shape[ax]))
        pad[ax] = (0, max(0, n - a.shape[ax]))
    return np.pad(a[tuple(crop)], pad)


def _sizes(a: Any, axes: tuple) -> tuple:
    return tuple(a.shape[ax] for ax in axes)


def complex_of(dt: np.dtype) -> np.dtype:
    """complex64 for single precision inputs, complex128 otherwise."""
    return np.dtype(np.complex64 if dt in (np.float32, np.complex64) else np.complex128)


def real_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32 if dt in (np.float32, np.complex64) else np.float64)


class FftC2C(Primitive):
    twice_differentiable = True
    complex_grad = True

    @staticmethod
    def forward(ctx, x, sizes, axes, norm, inverse):
        ctx.meta = (x.shape, x.dtype, axes, norm, inverse)
        fn = np.fft.ifftn if inverse else np.fft.fftn
        return fn(fit(x, axes, sizes), axes=axes, norm=norm).astype(complex_of(x.dtype))

    @staticmethod
    def backward(ctx, g):
        shape, dt, axes, norm, inverse = ctx.meta
        if on_graph(g):  # create_graph: the transform is this op again (linear: its own graph)
            gx = g.apply(FftC2C, _sizes(g, axes), axes, DUAL[norm], not inverse)
        else:
            gx = (np.fft.fftn if inverse else np.fft.ifftn)(g, axes=axes, norm=DUAL[norm])
        gx = fit(gx, axes, tuple(shape[a] for a in axes))
        if dt.kind != "c":
            gx = gx.real
        return gx.astype(dt, copy=False), None, None, None, None


class FftR2C(Primitive):
    twice_differentiable = True
    complex_grad = True

    @staticmethod
    def forward(ctx, x, sizes, axes, norm):
        ctx.meta = (x.shape, x.dtype, sizes, axes, norm)
        return np.fft.rfftn(fit(x, axes, sizes), axes=axes, norm=norm).astype(complex_of(x.dtype))

    @staticmethod
    def backward(ctx, g):
        shape, dt, sizes, axes, norm = ctx.meta
        # Zero-fill the dropped (conjugate) half of the last axis, then the full inverse.
        full = fit(g, axes[-1:], sizes[-1:])
        if on_graph(full):
            gx = full.apply(FftC2C, _sizes(full, axes), axes, DUAL[norm], True).real
        else:
            gx = np.fft.ifftn(full, axes=axes, norm=DUAL[norm]).real
        return fit(gx, axes, tuple(shape[a] for a in axes)).astype(dt), None, None, None


class FftC2R(Primitive):
    twice_differentiable = True
    complex_grad = True

    @staticmethod
    def forward(ctx, x, sizes, axes, norm):
        ctx.meta = (x.shape, x.dtype, sizes, axes, norm)
        out = np.fft.irfftn(x, s=sizes, axes=axes, norm=norm)
        return out.astype(real_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, g):
        shape, dt, sizes, axes, norm = ctx.meta
        # Bins 1 .. (n-1)//2 of the half spectrum stand for two frequencies (k and n-k).
        n = sizes[-1]
        idx = [slice(None)] * g.ndim
        idx[axes[-1]] = slice(1, (n - 1) // 2 + 1)
        if on_graph(g):  # the same doubling as a product with constant weights
            gx = g.apply(FftR2C, _sizes(g, axes), axes, DUAL[norm])
            w = np.ones([gx.shape[a] if a == axes[-1] else 1 for a in range(gx.ndim)], dt)
            w[tuple(idx)] = 2
            gx = gx * w
        else:
            gx = np.fft.rfftn(g, axes=axes, norm=DUAL[norm])
            gx[tuple(idx)] *= 2
        return fit(gx, axes, tuple(shape[a] for a in axes)).astype(dt), None, None, None
