"""Complex-number views and ops: ``real``/``imag``, ``conj``, ``angle``, ``view_as_real``/
``view_as_complex``, ``complex``, ``polar``; and the list of primitives whose backward is
complex-aware.

Gradients follow PyTorch's convention: the gradient of a real loss L with respect to a complex
tensor z is dL/dRe(z) + i dL/dIm(z). Every primitive that records a graph with a complex result
must say it follows that convention (``Primitive.complex_grad``); the others refuse (see
``ember.autograd.function._refuse_complex``), so no silently wrong gradient can come out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D
from ._out import accepts_out, accepts_out_in
from ._tensor import Tensor, _wrap
from .ops import elementwise as E
from .ops import indexing as X
from .ops import join as J
from .ops import reduction as R
from .ops import shape as S
from .ops import unary as U
from .ops._util import Primitive, type_name

__all__ = [
    "real",
    "imag",
    "conj",
    "conj_physical",
    "resolve_conj",
    "resolve_neg",
    "is_conj",
    "angle",
    "view_as_real",
    "view_as_complex",
    "complex",
    "polar",
]


def _complex_aware(*classes: type) -> None:
    for cls in classes:
        cls.complex_grad = True


class Real(Primitive):
    twice_differentiable = True
    view = True

    @staticmethod
    def forward(ctx, z):
        return z.real

    @staticmethod
    def backward(ctx, g):
        return g.astype(np.result_type(g.dtype, np.complex64))


class Imag(Primitive):
    twice_differentiable = True
    view = True

    @staticmethod
    def forward(ctx, z):
        return z.imag

    @staticmethod
    def backward(ctx, g):
        return g * np.asarray(1j, dtype=np.result_type(g.dtype, np.complex64))


def real(input: Tensor) -> Tensor:
    """The real part (a view); a real tensor is returned as is."""
    if not input.dtype.is_complex:
        return input
    return Real.apply(input)


def imag(input: Tensor) -> Tensor:
    """The imaginary part (a view); only complex tensors have one."""
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


class Conj(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, z):
        return np.conj(z)

    @staticmethod
    def backward(ctx, g):
        return np.conj(g)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (ember copies where PyTorch sets a lazy conjugate bit)."""
    if not input.dtype.is_complex:
        return input
    return Conj.apply(input)


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, materialised (the same as ``conj`` in ember)."""
    if not input.dtype.is_complex:
        return input.clone() if input.requires_grad else input
    return Conj.apply(input)


def resolve_conj(input: Tensor) -> Tensor:
    """ember never defers a conjugation: the tensor itself."""
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """ember never defers a negation: the tensor itself."""
    return input


def is_conj(input: Tensor) -> bool:
    """Always False: ember's ``conj`` is never lazy."""
    return False


class Angle(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        if z.dtype.kind == "c":
            return np.angle(z)
        # PyTorch: pi for negative reals, 0 otherwise, NaN stays NaN.
        out = np.where(z < 0, np.pi, 0.0).astype(z.dtype)
        return np.where(np.isnan(z), z, out)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if z.dtype.kind != "c":
            return np.zeros_like(g)
        # angle = atan2(y, x): dL/dx + i dL/dy = g * (-y + i x) / |z|^2 = g * i z / |z|^2,
        # 0 at z = 0 (the numerator is 0 there)
        r = g * (1j * z) / np.where(z == 0, 1, (z * z.conj()).real)
        return r.astype(z.dtype)


@accepts_out
def angle(input: Tensor) -> Tensor:
    """The argument of each element in radians (0 or pi for real tensors)."""
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        input = E.cast(input, D.get_default_dtype())
    return Angle.apply(input)


class ViewAsReal(Primitive):
    twice_differentiable = True
    view = True

    @staticmethod
    def forward(ctx, z):
        return z.view(z.real.dtype).reshape(z.shape + (2,))

    @staticmethod
    def backward(ctx, g):
        return g[..., 0] + 1j * g[..., 1]


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor with a last dim of size 2 (real, imaginary)."""
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    z = input._data
    if not z.flags.c_contiguous and z.ndim and z.strides[-1] != z.itemsize:
        input = S.contiguous(input)
    return ViewAsReal.apply(input)


class ViewAsComplex(Primitive):
    twice_differentiable = True
    view = True

    @staticmethod
    def forward(ctx, x):
        return x.view(np.complex64 if x.dtype == np.float32 else np.complex128)[..., 0]

    @staticmethod
    def backward(ctx, g):
        return np.stack([g.real, g.imag], axis=-1)


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a float tensor whose last dim (size 2) holds real and imaginary parts."""
    dt = input.dtype
    if dt is D.float16:
        raise NotImplementedError("view_as_complex: ember has no complex32 (ComplexHalf) dtype")
    if dt not in (D.float32, D.float64):
        raise RuntimeError(
            "view_as_complex is only supported for half, float and double tensors, but got a "
            f"tensor of scalar type: {type_name(dt)}"
        )
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    x = input._data
    if x.strides[-1] != x.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s in x.strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return ViewAsComplex.apply(input)


class Complex(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, re, im):
        out = np.empty(np.broadcast_shapes(re.shape, im.shape), dtype=_complex_of(re.dtype))
        out.real, out.imag = re, im
        ctx.shapes = (re.shape, im.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        sr, si = ctx.shapes
        from .ops._util import unbroadcast

        return unbroadcast(g.real, sr), unbroadcast(g.imag, si)


def _complex_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.complex64 if dt == np.float32 else np.complex128)


def complex(real: Tensor, imag: Tensor, *, out: Any = None) -> Tensor:  # noqa: A001
    """``real + i imag`` from two float tensors of the same dtype (broadcast)."""
    _check_pair("complex", real, imag)
    return Complex.apply(real, imag)


def _check_pair(name: str, a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"Expected object of scalar type {type_name(a.dtype)} but got scalar type "
            f"{type_name(b.dtype)} for second argument"
        )
    if a.dtype is D.float16:
        raise NotImplementedError(f"{name}: ember has no complex32 (ComplexHalf) dtype")
    if a.dtype not in (D.float32, D.float64):
        raise RuntimeError(
            "Expected both inputs to be Half, Float or Double tensors but got "
            f"{type_name(a.dtype)} and {type_name(b.dtype)}"
        )


class Polar(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, r, theta):
        e = np.exp(1j * theta).astype(_complex_of(r.dtype))
        ctx.save_for_backward(r, e, theta)
        ctx.shapes = (r.shape, theta.shape)
        return r * e

    @staticmethod
    def backward(ctx, g):
        r, e, theta = ctx.saved_tensors
        from .ops._util import on_graph, unbroadcast

        if on_graph(theta):  # e^{i theta} on the graph: polar(1, theta)
            e = type(theta)(Polar.apply(_wrap(np.ones((), r.dtype)), theta.t))

        gr = (g.conj() * e).real  # dL/dr = Re(conj(g) e^{i theta})
        gt = (g.conj() * 1j * r * e).real  # dL/dtheta = Re(conj(g) i z)
        return unbroadcast(gr, ctx.shapes[0]), unbroadcast(gt, ctx.shapes[1])


def polar(abs: Tensor, angle: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002
    """``abs * (cos(angle) + i sin(angle))``."""
    _check_pair("polar", abs, angle)
    return Polar.apply(abs, angle)


# The complex-aware primitives: the ones above, and the core ops whose backward holds for complex
# numbers as written (sums, shape ops, +, -) or after conjugating (products, scalar products).
_complex_aware(Real, Imag, Conj, Angle, ViewAsReal, ViewAsComplex, Complex, Polar)
_complex_aware(
    E.Add,
    E.Sub,
    E.Mul,
    E.Div,
    E.Cast,
    E.AddScalar,
    E.RSubScalar,
    E.MulScalar,
    E.DivScalar,
    U.Neg,
    R.Sum,
    R.Mean,
    S.Reshape,
    S.ReshapeCopy,
    S.Permute,
    S.Expand,
    S.Flip,
    S.Roll,
    S.Clone,
    S.ConstantPad,
    X.AddIntoZeros,
    X.Slice,
    X.Index,
    J.Cat,
)


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
