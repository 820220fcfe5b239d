"""The rest of ``torch.special``: incomplete gamma functions (differentiable in ``x``), Bessel
functions and orthogonal polynomials (not differentiable, as in PyTorch: their results never
require grad)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..ops._util import as_tensor_arg
from ..ops.elementwise import cast
from . import _bessel as B
from ._kernels import i0e, i1e
from ._ops import Gammainc, Gammaincc
from ._orthopoly import POLYNOMIALS

__all__ = [
    "airy_ai",
    "gammainc",
    "gammaincc",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "spherical_bessel_j0",
    *POLYNOMIALS,
]


def _float(x: Tensor) -> Tensor:
    if x.dtype.is_complex:
        raise NotImplementedError("ember.special functions do not take complex tensors")
    return x if x.dtype.is_floating_point else cast(x, D.get_default_dtype())


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands (one may be a number) in their promoted float dtype."""
    if not isinstance(a, Tensor):
        a = as_tensor_arg(a, like=b)
    if not isinstance(b, Tensor):
        b = as_tensor_arg(b, like=a)
    dt = D.result_type_dims(a.dtype, a.ndim, b.dtype, b.ndim)  # 0-dim tensors as PyTorch
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return cast(a, dt), cast(b, dt)


def _tensors(name: str, input: Any, other: Any) -> tuple[Tensor, Tensor]:
    for pos, (arg, v) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(v, Tensor):
            raise TypeError(
                f"special_{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                f"{type(v).__name__}"
            )
    return _pair(input, other)


def gammainc(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The regularised lower incomplete gamma function P(input, other)."""
    return Gammainc.apply(*_tensors("gammainc", input, other))


def gammaincc(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The regularised upper incomplete gamma function Q(input, other) = 1 - P."""
    return Gammaincc.apply(*_tensors("gammaincc", input, other))


def _constant(fn: Any, name: str, doc: str):
    """A function of one tensor whose result does not require grad (as PyTorch's)."""

    def special(input: Tensor, *, out: Any = None) -> Tensor:
        x = _float(input)
        with np.errstate(all="ignore"):
            r = fn(x._data.astype(np.float64))
            return _wrap(np.asarray(r).astype(x._data.dtype, copy=False))

    special.__name__ = special.__qualname__ = name
    special.__doc__ = doc
    return special


def _exp_abs(scaled: Any) -> Any:
    return lambda x: scaled(x) * np.exp(np.abs(x))


def _unscale_k(n: int) -> Any:
    return lambda x: B.bessel_k_scaled(x, n) * np.exp(-x)


airy_ai = _constant(B.airy_ai, "airy_ai", "The Airy function Ai.")
bessel_j0 = _constant(lambda x: B.bessel_j(x, 0), "bessel_j0", "Bessel function J0.")
bessel_j1 = _constant(lambda x: B.bessel_j(x, 1), "bessel_j1", "Bessel function J1.")
bessel_y0 = _constant(lambda x: B.bessel_y(x, 0), "bessel_y0", "Bessel function Y0.")
bessel_y1 = _constant(lambda x: B.bessel_y(x, 1), "bessel_y1", "Bessel function Y1.")
modified_bessel_i0 = _constant(_exp_abs(i0e), "modified_bessel_i0", "Modified Bessel I0.")
modified_bessel_i1 = _constant(_exp_abs(i1e), "modified_bessel_i1", "Modified Bessel I1.")
modified_bessel_k0 = _constant(_unscale_k(0), "modified_bessel_k0", "Modified Bessel K0.")
modified_bessel_k1 = _constant(_unscale_k(1), "modified_bessel_k1", "Modified Bessel K1.")
scaled_modified_bessel_k0 = _constant(
    lambda x: B.bessel_k_scaled(x, 0), "scaled_modified_bessel_k0", "e^x K0(x)."
)
scaled_modified_bessel_k1 = _constant(
    lambda x: B.bessel_k_scaled(x, 1), "scaled_modified_bessel_k1", "e^x K1(x)."
)
spherical_bessel_j0 = _constant(B.spherical_j0, "spherical_bessel_j0", "sin(x) / x.")


def _polynomial(name: str):
    fn = POLYNOMIALS[name]

    def polynomial(input: Any, n: Any, *, out: Any = None) -> Tensor:
        x, deg = _pair(input, n)
        r = fn(x._data.astype(np.float64), deg._data)
        with np.errstate(over="ignore"):
            return _wrap(np.asarray(r).astype(x._data.dtype, copy=False))

    polynomial.__name__ = polynomial.__qualname__ = name
    polynomial.__doc__ = f"``{name}(input, n)``: degree ``n`` at ``input`` (not differentiable)."
    return polynomial


globals().update({name: _polynomial(name) for name in POLYNOMIALS})


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), __all__)
