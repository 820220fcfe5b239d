"""Bind the ops as Tensor methods and operators (``x.sum()``, ``x + y``, ``x[0] = 1``...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tensor import Tensor
from .ops import compare as C
from .ops import elementwise as E
from .ops import indexing as X
from .ops import inplace as I
from .ops import join as J
from .ops import linalg as L
from .ops import reduction as R
from .ops import shape as S
from .ops import softmax as F
from .ops import unary as U

T = Tensor

# Operators (hot: bound directly, no wrapper).
T.__add__ = E.add
T.__radd__ = E.add  # addition of numbers commutes exactly
T.__sub__ = E.sub
T.__rsub__ = lambda self, other: E.sub(other, self)
T.__mul__ = E.mul
T.__rmul__ = E.mul
T.__truediv__ = E.div
T.__rtruediv__ = E.rdiv
T.__floordiv__ = E.floor_divide
T.__rfloordiv__ = lambda self, other: E.floor_divide(other, self)
T.__mod__ = E.remainder
T.__rmod__ = lambda self, other: E.remainder(other, self)
T.__pow__ = E.pow
T.__rpow__ = lambda self, other: E.pow(other, self)
T.__matmul__ = L.matmul
T.__rmatmul__ = lambda self, other: L.matmul(other, self)
T.__neg__ = U.neg
T.__pos__ = lambda self: self
T.__abs__ = U.abs


def _invert(self: Tensor) -> Tensor:
    kind = self.dtype.kind
    if kind == "b":
        return C.logical_not(self)
    if kind not in "iu":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return C.bitwise_not(self)


T.__invert__ = _invert
T.__eq__ = C.eq_op
T.__ne__ = C.ne_op
T.__lt__ = C.lt_op
T.__le__ = C.le_op
T.__gt__ = C.gt_op
T.__ge__ = C.ge_op
T.__and__ = C.bitwise_and
T.__or__ = C.bitwise_or
T.__xor__ = C.bitwise_xor
T.__rand__ = lambda self, other: C.bitwise_and(other, self)
T.__ror__ = lambda self, other: C.bitwise_or(other, self)
T.__rxor__ = lambda self, other: C.bitwise_xor(other, self)
T.__getitem__ = X.getitem
T.__setitem__ = X.setitem

# In-place.
_add_ = I._binary_direct(np.add, "add_", E.add)
_sub_ = I._binary_direct(np.subtract, "sub_", E.sub)
_mul_ = I._binary_direct(np.multiply, "mul_", lambda a, b: E.mul(a, b))
_div_ = I._binary_direct(np.true_divide, "div_", lambda a, b: E.div(a, b))
T.add_ = _add_
T.sub_ = _sub_
T.mul_ = _mul_
T.div_ = _div_
T.__iadd__ = lambda self, other: _add_(self, other)
T.__isub__ = lambda self, other: _sub_(self, other)
T.__imul__ = lambda self, other: _mul_(self, other)
T.__itruediv__ = lambda self, other: _div_(self, other)
T.subtract_ = _sub_
T.multiply_ = _mul_
T.divide_ = _div_
T.true_divide_ = _div_
T.zero_ = I.zero_
T.fill_ = I.fill_
T.copy_ = I.copy_
T.uniform_ = I.uniform_
T.normal_ = I.normal_
T.bernoulli_ = I.bernoulli_
T.random_ = I.random_
T.exponential_ = I.exponential_
T.masked_fill_ = I.masked_fill_
T.clamp_ = I.clamp_
T.clip_ = I.clamp_

for _name, _fn in [
    ("pow_", E.pow),
    ("neg_", U.neg),
    ("abs_", U.abs),
    ("exp_", U.exp),
    ("log_", U.log),
    ("sqrt_", U.sqrt),
    ("rsqrt_", U.rsqrt),
    ("sin_", U.sin),
    ("cos_", U.cos),
    ("tanh_", U.tanh),
    ("sigmoid_", U.sigmoid),
    ("relu_", U.relu),
    ("floor_", U.floor),
    ("ceil_", U.ceil),
    ("round_", U.round),
    ("trunc_", U.trunc),
    ("sign_", U.sign),
    ("reciprocal_", U.reciprocal),
    ("lerp_", E.lerp),
    ("addcmul_", E.addcmul),
    ("addcdiv_", E.addcdiv),
    ("log1p_", U.log1p),
    ("expm1_", U.expm1),
    ("square_", U.square),
    ("fmod_", E.fmod),
    ("remainder_", E.remainder),
    ("floor_divide_", E.floor_divide),
    ("clamp_min_", U.clamp_min),
    ("clamp_max_", U.clamp_max),
    ("scatter_", X.scatter),
    ("scatter_add_", X.scatter_add),
    ("index_put_", X.index_put),
    ("tril_", S.tril),
    ("triu_", S.triu),
    ("masked_scatter_", X.masked_scatter),
    ("maximum_", E.maximum),
    ("minimum_", E.minimum),
    ("erf_", U.erf),
    ("atan2_", E.atan2),
]:
    setattr(T, _name, I.inplace_from(_fn, _name))

# Plain methods: tensor.fn(*args) == ember.fn(tensor, *args).
for _mod, _names in [
    (
        E,
        """add sub mul div true_divide floor_divide remainder fmod pow float_power atan2 arctan2
        maximum minimum fmax fmin where lerp addcmul addcdiv multiply subtract divide rsub""",
    ),
    (
        U,
        """neg negative exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan
        arcsin arccos arctan sinh cosh tanh asinh acosh atanh arcsinh arccosh arctanh reciprocal
        square sigmoid abs absolute sign floor ceil trunc fix frac round relu erf clamp clip
        clamp_min clamp_max""",
    ),
    (
        C,
        """eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and logical_or
        logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not isnan isinf
        isfinite isclose allclose equal nan_to_num""",
    ),
    (
        R,
        """sum mean var std prod amax amin max min argmax argmin logsumexp norm all any cumsum
        cumprod count_nonzero sort argsort topk var_mean std_mean""",
    ),
    (
        S,
        """view reshape view_as reshape_as flatten unflatten squeeze unsqueeze permute transpose
        swapaxes swapdims t movedim moveaxis adjoint expand expand_as broadcast_to repeat tile
        flip fliplr flipud roll tril triu clone contiguous""",
    ),
    (J, "split chunk tensor_split unbind narrow select"),
    (
        X,
        """gather scatter scatter_add index_select take take_along_dim masked_fill masked_select
        masked_scatter nonzero argwhere diag diagonal trace unique index_put""",
    ),
    (L, "matmul mm bmm dot mv outer ger addmm"),
    (F, "softmax log_softmax softmin"),
]:
    for _name in _names.split():
        # The functions take the tensor first, so they bind as methods as they are (no wrapper
        # call on every `x.sum()`).
        setattr(T, _name, getattr(_mod, _name))

T.where = lambda self, condition, other: E.where(condition, self, other)
_T_WARNED = [False]


def _T(self: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """Reverse the dimensions (a hot path of backward formulas: no argument checks needed)."""
    nd = self._data.ndim
    if nd != 2 and not _T_WARNED[0]:  # PyTorch warns once per process
        _T_WARNED[0] = True
        import warnings

        warnings.warn(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
            "deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
            "to reverse the dimensions of a tensor.",
            UserWarning,
            stacklevel=2,
        )
    return S.Permute.apply(self, S.REVERSED_AXES[nd] if nd < 8 else tuple(range(nd))[::-1])


T.T = property(_T)


def _mT(self: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    if self._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. Got "
            f"{self._data.ndim}-D tensor."
        )
    return S.transpose(self, -2, -1)


T.mT = property(_mT)
T.H = property(lambda self: S.permute(self, tuple(range(self.ndim - 1, -1, -1))))
T.mH = T.mT


# ---- The wider tensor surface (special functions, scans, statistics, products, index writes,
# strided views, storages); one contiguous block so the op families stay in their own files.
# Their modules load on first use (``import ember`` stays fast): a method starts as a stub that
# imports its module, then puts the real function on the class.
_SURFACE_METHODS = {
    "special_fn": "lgamma digamma erfinv i0 xlogy erfc mvlgamma",
    "pointwise": "logaddexp logaddexp2 hypot copysign sinc logit deg2rad rad2deg heaviside "
    "signbit sgn nan_to_num ldexp nextafter",
    "cumulative": "cummax cummin logcumsumexp diff",
    "statistics": "median nanmedian quantile nanquantile kthvalue mode nansum nanmean bincount "
    "histc histogram unique_consecutive",
    "products": "inner kron cross tensordot renorm",
    "stacking": "rot90 unfold as_strided hsplit vsplit dsplit",
    "index_ops": "index_add index_copy index_fill index_reduce scatter_reduce",
    "sampling": "multinomial bernoulli",
}


def _lazy_method(module: str, name: str):
    """A method that imports ``module`` on its first call, then puts the real function on the
    class (so ``import ember`` does not load the module)."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        import importlib

        fn = getattr(importlib.import_module(module), name)
        setattr(T, name, fn)
        return fn(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``ember.{name}(self, ...)`` (see ``{module}``)."
    method._lazy_target = (module, name)  # read by ember/_stubgen.py
    return method


def _polygamma(self: Tensor, n: int) -> Tensor:
    from .ops.special_fn import polygamma

    return polygamma(n, self)


def _bind_surface() -> None:
    from . import _storage as ST
    from .ops import inplace_views as VI

    for module, names in _SURFACE_METHODS.items():
        for name in names.split():
            setattr(T, name, _lazy_method(f"ember.ops.{module}", name))
    for name in "new untyped_storage storage is_nonzero is_inference".split():
        setattr(T, name, getattr(ST, name))
    T.repeat_interleave = X.repeat_interleave
    T.polygamma = _polygamma
    T.nbytes = property(ST.nbytes)
    T.itemsize = property(ST.itemsize)
    # Every in-place form PyTorch has of an out-of-place method ember has.
    for name in (
        "index_add index_copy index_fill index_reduce scatter_reduce lgamma digamma erfinv i0 "
        "xlogy logit erfc mvlgamma ldexp nextafter renorm "
        "hypot copysign sinc deg2rad rad2deg heaviside sgn polygamma frac fix exp2 log2 log10 "
        "absolute negative acos arccos acosh arccosh asin arcsin asinh arcsinh atan arctan atanh "
        "arctanh arctan2 cosh sinh tan addmm cumsum cumprod nan_to_num bitwise_and bitwise_or "
        "bitwise_xor bitwise_not logical_and logical_or logical_xor logical_not"
    ).split():
        setattr(T, name + "_", I.inplace_from(getattr(T, name), name + "_"))
    # Comparisons record a zero gradient in PyTorch (logical and bitwise ops record nothing).
    for name in "eq ne lt le gt ge greater greater_equal less less_equal not_equal".split():
        setattr(T, name + "_", I.inplace_from(VI.zero_grad_form(getattr(T, name)), name + "_"))
    for name in "squeeze unsqueeze t transpose swapaxes swapdims as_strided".split():
        setattr(T, name + "_", VI.view_inplace(getattr(T, name), name + "_"))


_bind_surface()


# ---- diagonals, BLAS composites, integer ops, small rearrangements (lazily loaded) -----------
_MORE_SURFACE_METHODS = {
    "diagonals": "diag_embed diagflat fill_diagonal_",
    "blas_ops": "addbmm addmv addr baddbmm corrcoef cov dist vdot",
    "integer_ops": "bitwise_left_shift bitwise_right_shift gcd lcm frexp",
    "arrange": "aminmax msort positive ravel split_with_sizes unsafe_chunk unsafe_split "
    "unsafe_split_with_sizes sum_to_size isposinf isneginf isreal is_signed is_same_size is_neg "
    "get_device",
    "random_fill": "geometric_ cauchy_ log_normal_",
    "legacy_linalg": "cholesky_solve cholesky_inverse triangular_solve lu lu_solve solve lstsq "
    "symeig eig",
    "aliases": "igamma igammac hardshrink prelu cfloat cdouble narrow_copy float_power_ put",
    "inplace_misc": "resize_ resize_as_ apply_ map_",
}


def _bind_more_surface() -> None:
    for module, names in _MORE_SURFACE_METHODS.items():
        for name in names.split():
            setattr(T, name, _lazy_method(f"ember.ops.{module}", name))
    for name in (
        "addbmm addmv addr baddbmm bitwise_left_shift bitwise_right_shift gcd lcm igamma igammac "
        "put"
    ).split():
        setattr(T, name + "_", I.inplace_from(getattr(T, name), name + "_"))
    T.__lshift__ = T.bitwise_left_shift
    T.__rshift__ = T.bitwise_right_shift
    T.__ilshift__ = T.bitwise_left_shift_
    T.__irshift__ = T.bitwise_right_shift_
    T.__rlshift__ = lambda self, other: T.bitwise_left_shift(_as_operand(other, self), self)
    T.__rrshift__ = lambda self, other: T.bitwise_right_shift(_as_operand(other, self), self)


def _as_operand(value: Any, like: Tensor) -> Tensor:
    """A Python number as a 0-dim tensor of ``like``'s dtype (the left operand of ``3 << t``)."""
    from ._creation import tensor

    return tensor(value, dtype=like.dtype)


_bind_more_surface()


# ---- complex numbers, matrix functions, stft (ember/_complex.py, ember/linalg, ember/fft) ------
_LINALG_METHODS = "det inverse logdet slogdet pinverse matrix_exp matrix_power cholesky qr svd"


def _bind_complex_and_linalg() -> None:
    from . import _complex as CX

    T.real = property(CX.real)
    T.imag = property(CX.imag)
    for name in "conj conj_physical resolve_conj resolve_neg is_conj angle".split():
        setattr(T, name, getattr(CX, name))
    T.mH = property(lambda self: CX.conj(_mT(self)))
    T.H = property(lambda self: CX.conj(S.permute(self, tuple(range(self.ndim - 1, -1, -1)))))
    for name in _LINALG_METHODS.split():
        setattr(T, name, _lazy_method("ember.linalg._tensor_api", name))
    for name in ("stft", "istft"):
        setattr(T, name, _lazy_method("ember.fft", name))


_bind_complex_and_linalg()
