"""``ember.special``: PyTorch's ``torch.special`` in NumPy.

Error functions and their inverses, the normal distribution's CDF, log-CDF and quantile, log-gamma,
digamma, polygamma and the Hurwitz zeta function, modified Bessel functions of order 0 and 1,
``xlogy``/``xlog1py``, ``entr``, ``sinc``, ``logit``/``expit`` and the softmax family; each
differentiable where PyTorch's is, twice where PyTorch's is. Integer inputs compute in the default
float dtype. The functions torch also has at top level use the one primitive of
``ember/ops/special_fn.py`` (``lgamma``, ``digamma``, ``polygamma``, ``erfinv``, ``erfc``, the
Bessel functions, ``xlogy``) or ``ember/ops/pointwise.py`` (``sinc``, ``logit``); the others'
primitives are in ``_ops.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _dtype as D
from .._out import accepts_out_in
from .._tensor import Tensor, _wrap
from ..ops import pointwise as _pw
from ..ops import reduction as _red
from ..ops import softmax as _nn
from ..ops import special_fn as _sf
from ..ops import unary as _un
from ..ops._util import as_tensor_arg, float_dtype_for
from ..ops.elementwise import cast
from . import _ops as P
from ._more import *  # noqa: F403 - gammainc, Bessel functions, orthogonal polynomials
from ._more import __all__ as _more_names

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
    "zeta",
    *_more_names,
]


def _float(x: Tensor) -> Tensor:
    """``x`` in the dtype a float-valued function returns (ints become the default float)."""
    if x.dtype.is_complex:
        raise NotImplementedError("ember.special functions do not take complex tensors")
    return cast(x, float_dtype_for(x))


def _apply(prim: type, x: Tensor) -> Tensor:
    return prim.apply(_float(x))


def gammaln(input: Tensor, *, out: Any = None) -> Tensor:
    """log|Gamma(x)|."""
    return _apply(_sf.Lgamma, input)


def digamma(input: Tensor, *, out: Any = None) -> Tensor:
    """The logarithmic derivative of Gamma: -inf at 0, NaN at negative integers."""
    return _apply(_sf.Digamma, input)


psi = digamma


def polygamma(n: int, input: Tensor, *, out: Any = None) -> Tensor:
    """The ``n``-th derivative of digamma."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _sf.Polygamma.apply(_float(input), int(n))


def multigammaln(input: Tensor, p: int, *, out: Any = None) -> Tensor:
    """The multivariate log-gamma of dimension ``p``:
    sum_j lgamma(x - j/2) + p (p - 1) / 4 log(pi)."""
    return _sf.mvlgamma(_float(input), p)


def erf(input: Tensor, *, out: Any = None) -> Tensor:
    return _un.erf(input)


def erfc(input: Tensor, *, out: Any = None) -> Tensor:
    """1 - erf(x), accurate where erf is close to 1."""
    return _apply(_sf.Erfc, input)


def erfcx(input: Tensor, *, out: Any = None) -> Tensor:
    """The scaled complementary error function exp(x^2) erfc(x)."""
    return _apply(P.Erfcx, input)


def erfinv(input: Tensor, *, out: Any = None) -> Tensor:
    """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside)."""
    return _apply(_sf.Erfinv, input)


def ndtr(input: Tensor, *, out: Any = None) -> Tensor:
    """The standard normal CDF."""
    return _apply(P.Ndtr, input)


def ndtri(input: Tensor, *, out: Any = None) -> Tensor:
    """The standard normal quantile function (inverse of ``ndtr``)."""
    return _apply(P.Ndtri, input)


def log_ndtr(input: Tensor, *, out: Any = None) -> Tensor:
    """log of the standard normal CDF, accurate far into both tails."""
    return _apply(P.LogNdtr, input)


def i0(input: Tensor, *, out: Any = None) -> Tensor:
    """The modified Bessel function of the first kind, order 0."""
    return _apply(_sf.I0, input)


def i0e(input: Tensor, *, out: Any = None) -> Tensor:
    """exp(-|x|) i0(x)."""
    return _apply(_sf.I0e, input)


def i1(input: Tensor, *, out: Any = None) -> Tensor:
    """The modified Bessel function of the first kind, order 1."""
    return _apply(_sf.I1, input)


def i1e(input: Tensor, *, out: Any = None) -> Tensor:
    """exp(-|x|) i1(x)."""
    return _apply(_sf.I1e, input)


def sinc(input: Tensor, *, out: Any = None) -> Tensor:
    """The normalised sinc sin(pi x) / (pi x), 1 at 0."""
    return _apply(_pw.Sinc, input)


def entr(input: Tensor, *, out: Any = None) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    return _apply(P.Entr, input)


def logit(input: Tensor, eps: float | None = None, *, out: Any = None) -> Tensor:
    """log(x / (1 - x)), with x first clamped to [eps, 1 - eps] when ``eps`` is given."""
    return _pw.Logit.apply(_float(input), None if eps is None else float(eps))


def expit(input: Tensor, *, out: Any = None) -> Tensor:
    """The logistic sigmoid."""
    with np.errstate(all="ignore"):  # inf/NaN results as torch, no NumPy warning
        return _un.sigmoid(input)


def exp2(input: Tensor, *, out: Any = None) -> Tensor:
    with np.errstate(all="ignore"):  # inf/NaN results as torch, no NumPy warning
        return _un.exp2(input)


def expm1(input: Tensor, *, out: Any = None) -> Tensor:
    with np.errstate(all="ignore"):  # inf/NaN results as torch, no NumPy warning
        return _un.expm1(input)


def log1p(input: Tensor, *, out: Any = None) -> Tensor:
    with np.errstate(all="ignore"):  # inf/NaN results as torch, no NumPy warning
        return _un.log1p(input)


def round(input: Tensor, *, decimals: int = 0, out: Any = None) -> Tensor:  # noqa: A001
    return _un.round(input, decimals=decimals)


def softmax(input: Tensor, dim: int, *, dtype: D.dtype | None = None) -> Tensor:
    return _nn.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: D.dtype | None = None) -> Tensor:
    return _nn.log_softmax(input, dim, dtype=dtype)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False, *, out: Any = None) -> Tensor:
    with np.errstate(all="ignore"):
        return _red.logsumexp(input, dim, keepdim)


def _pair(name: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of their promoted float dtype (one may be a Python number)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): expected at least one of its arguments to be a Tensor")
    if not isinstance(a, Tensor):
        a = as_tensor_arg(a, like=b)
    if not isinstance(b, Tensor):
        b = as_tensor_arg(b, like=a)
    dt = D.result_type_dims(a.dtype, a.ndim, b.dtype, b.ndim)  # 0-dim tensors as PyTorch
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return cast(a, dt), cast(b, dt)


def xlogy(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """x log(y), 0 where x is 0 (unless y is NaN)."""
    return _sf.Xlogy.apply(*_pair("xlogy", input, other))


def xlog1py(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """x log1p(y), 0 where x is 0 (unless y is NaN)."""
    return P.Xlog1py.apply(*_pair("xlog1py", input, other))


def zeta(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """The Hurwitz zeta function sum_k (k + other)^-input; differentiable in ``other`` only."""
    return P.Zeta.apply(*_pair("zeta", input, other))


# out= is refused, never ignored (ember/_out.py).
accepts_out_in(globals(), [n for n in __all__ if n not in _more_names])
