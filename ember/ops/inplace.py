"""In-place ops (``add_``, ``mul_``, ``zero_``, ``__setitem__``...) with version counting.

Without a graph to record, an in-place op writes straight into the array (NumPy ufuncs with
``out=``): the fast path optimizers use. When autograd must see it, the out-of-place primitive
runs on a snapshot of the old value, the result is written into the tensor, and the tensor is
re-pointed at the new graph node, so earlier nodes that saved the tensor detect the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _dtype as D
from .. import _random_checks as RC
from .._bfloat16 import ACTIVE as _BF16
from .._dtype_names import type_name
from .._random import rng
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE
from ._axpy import axpy_
from ._kernels import fit_scalar
from .elementwise import checked_alpha

__all__ = ["apply_inplace", "inplace_from", "check_leaf"]


def check_leaf(t: Tensor) -> None:
    """PyTorch's errors for in-place changes that autograd cannot allow."""
    if t._grad_fn is None and t._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = t._base
    if base is not None and base._rg and base._grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def read_only_error(data: np.ndarray | None = None) -> RuntimeError:
    """The error for writing into memory NumPy marks read-only: an expanded tensor (several
    elements share one location; PyTorch's message) or ``from_numpy`` of a non-writable array
    (PyTorch writes anyway, undefined behaviour; ember cannot)."""
    if data is not None and 0 in data.strides and data.size > 1:
        return RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    return RuntimeError(
        "cannot write into this tensor: it shares the memory of a read-only NumPy array "
        "(from_numpy of a non-writable array). Copy the array, or make it writable, first."
    )


def _is_bf16(t: Tensor) -> bool:
    return _BF16[0] and t.dtype is D.bfloat16


def _needs_graph(t: Tensor, args: tuple) -> bool:
    if not STATE.enabled:
        return False
    if t._rg:
        return True
    for a in args:
        if isinstance(a, Tensor) and a._rg:
            return True
    return False


def _rebind(t: Tensor, out: Tensor) -> Tensor:
    src = out._data
    if src.dtype != t._data.dtype and not np.can_cast(src.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {type_name(src.dtype)} can't be cast to the desired output type "
            f"{type_name(t._data.dtype)}"
        )
    try:
        if src.shape != t._data.shape and src.ndim > t._data.ndim:
            raise ValueError  # a result with more dims cannot be written back (PyTorch refuses)
        np.copyto(t._data, src, casting="unsafe")
    except ValueError:
        if not t._data.flags.writeable:
            raise read_only_error(t._data) from None
        raise RuntimeError(
            f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
            f"{list(src.shape)}"
        ) from None
    t._vc[0] += 1
    if out._rg:
        t._grad_fn = out._grad_fn
        t._rg = True
        t.__dict__["_out_nr"] = out._out_nr
    return t


def _bool_operand(x: Any) -> bool:
    return x is True or x is False or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def _writable_alias(a: np.ndarray) -> np.ndarray | None:
    """``a`` (a read-only broadcast view) as a writable view of its writable base, or None."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.writeable and root.flags.c_contiguous):
        return None
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=root, offset=offset, strides=a.strides)


def _write_promoted(ufunc: Any, name: str, d: np.ndarray, o: Any, other: Any) -> None:
    """The in-place write NumPy's same-kind rule refused, by PyTorch's rule: allowed when the
    result type (an int64 0-d tensor or a Python int does not widen a uint8 tensor) casts to the
    tensor's dtype; Python ints out of range wrap, as PyTorch's do."""
    res = _result_dtype(name, d, other)
    if _KIND_RANK[np.dtype(res).kind] > _KIND_RANK[d.dtype.kind]:
        raise RuntimeError(
            f"result type {type_name(res)} can't be cast to the desired output type "
            f"{type_name(d.dtype)}"
        ) from None
    if type(o) is int and d.dtype.kind in "iu":
        o = np.asarray(o % 2**64, np.uint64).astype(d.dtype)
    ufunc(d, o, out=d, casting="unsafe")


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _result_dtype(name: str, d: np.ndarray, other: Any) -> np.dtype:
    """PyTorch's result dtype of ``d <op> other`` (for the in-place cast error message)."""
    from .. import _dtype as D

    mine = D._BY_NP[d.dtype]
    if isinstance(other, Tensor):
        res = D.result_type_dims(mine, d.ndim, other.dtype, other.ndim)
    else:
        res = D.result_type_scalar(mine, other)
    if name == "div_" and not res.is_floating_point:
        res = D.get_default_dtype()  # true division of integers gives a float
    return res.np


def _snapshot(t: Tensor) -> Tensor:
    old = _wrap(t._data.copy())
    old._rg = t._rg
    old._grad_fn = t._grad_fn
    if t._grad_fn is not None:
        old.__dict__["_out_nr"] = t._out_nr
    return old


def apply_inplace(t: Tensor, prim: Any, *args: Any, direct: Callable) -> Tensor:
    """Run primitive ``prim`` in place on ``t``; ``direct(array, *args)`` is the no-graph path."""
    if _is_bf16(t) and not _needs_graph(t, args):
        # No direct ufunc on bfloat16 (it would round Python numbers to bfloat16 first):
        # computed in float32 by the primitive, then written back (ember/_bfloat16.py).
        prev, STATE.enabled = STATE.enabled, False
        try:
            return _rebind(t, prim.apply(t, *args))
        finally:
            STATE.enabled = prev
    if not _needs_graph(t, args):
        try:
            direct(t._data, *args)
        except ValueError:
            if t._data.flags.writeable:
                raise
            if t._data.size:  # an empty tensor has nothing to write (PyTorch does not refuse)
                raise read_only_error(t._data) from None
        t._vc[0] += 1
        return t
    check_leaf(t)
    out = prim.apply(_snapshot(t), *args)
    return _rebind(t, out)


def inplace_from(fn: Callable, name: str) -> Callable:
    """An in-place method made from the out-of-place function ``fn``."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if _needs_graph(self, args + tuple(kwargs.values())):
            check_leaf(self)
            return _rebind(self, fn(_snapshot(self), *args, **kwargs))
        prev = STATE.enabled
        STATE.enabled = False
        try:
            out = fn(self, *args, **kwargs)
        finally:
            STATE.enabled = prev
        _rebind(self, out)
        return self

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{name[:-1]}``."
    return method


def _binary_direct(ufunc: Any, name: str, out_of_place: Callable) -> Callable:
    """A fast in-place binary op: one ufunc with ``out=`` when no graph is needed."""
    slow = inplace_from(out_of_place, name)

    def method(self: Tensor, other: Any, *, alpha: Any = None) -> Tensor:
        if name == "sub_" and (self._data.dtype == np.bool_ or _bool_operand(other)):
            from .elementwise import sub

            sub(self, other)  # raises PyTorch's error about bool subtraction
        if alpha is not None:
            if name not in ("add_", "sub_"):
                raise TypeError(f"{name}() got an unexpected keyword argument 'alpha'")
            alpha = checked_alpha(alpha, self, other)
        if _needs_graph(self, (other,)) or _is_bf16(self):
            if alpha is not None:
                return slow(self, other, alpha=alpha)
            return slow(self, other)
        o = other._data if isinstance(other, Tensor) else other
        d = self._data
        if alpha is not None and alpha != 1:
            if _fused_alpha(name, d, o, alpha):
                axpy_(d, o, alpha if name == "add_" else -alpha)  # PyTorch's one rounding
                self._vc[0] += 1
                return self
            o = o * alpha
        try:
            try:
                ufunc(d, o, out=d, casting="same_kind")
            except (TypeError, OverflowError):
                _write_promoted(ufunc, name, d, o, other)
        except ValueError:
            from ._util import broadcast_error

            if not d.flags.writeable:
                if not d.size:  # nothing to write (an expanded empty tensor)
                    self._vc[0] += 1
                    return self
                raise read_only_error(d) from None
            err = broadcast_error(d, o)  # shapes that do not broadcast at all
            if err is None:
                err = RuntimeError(
                    f"output with shape {list(d.shape)} doesn't match the broadcast shape "
                    f"{list(np.broadcast_shapes(d.shape, np.shape(o)))}"
                )
            raise err from None
        self._vc[0] += 1
        return self

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``."
    return method


def _fused_alpha(name: str, d: np.ndarray, o: Any, alpha: Any) -> bool:
    """Whether ``d.add_(o, alpha=)`` (or ``sub_``) runs as one fused multiply-add, as in
    PyTorch's kernel: a float32/float64 operand of ``d``'s shape and dtype, a real ``alpha``."""
    return (
        name in ("add_", "sub_")
        and type(alpha) in (int, float)
        and isinstance(o, np.ndarray)
        and d.dtype in _FUSED_DTYPES
        and o.dtype == d.dtype
        and o.shape == d.shape
        and d.flags.writeable
    )


_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Fill with ``value`` in place."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                "dimensions."
            )
        if _needs_graph(self, (value,)):
            from .elementwise import add, mul

            return inplace_from(lambda s, v: add(mul(s, 0), v), "fill_")(self, value)
        value = value.item()
    if self._data.size != 1 or self._data.dtype.kind != "f":  # (PyTorch skips the check for a
        # single floating element)
        value = fit_scalar(value, self.dtype)
    if STATE.enabled and self._rg:
        check_leaf(self)
        # The overwritten values get a zero gradient (x * 0 + value would turn inf/NaN into NaN).
        filled = _wrap(np.full(self._data.shape, value, self._data.dtype))
        return _rebind(self, _CopyFrom.apply(_snapshot(self), filled))
    data = self._data
    if not data.flags.writeable:
        # An expanded tensor: its elements are the base's, all get the same value (PyTorch
        # allows fill_ here), so the write goes through a writable alias of the same memory.
        data = _writable_alias(data) if 0 in data.strides else None
        if data is None:
            raise read_only_error(self._data)
    data.fill(value)
    self._vc[0] += 1
    return self


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast) into this tensor in place."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if _needs_graph(self, (src,)):
        check_leaf(self)
        from .elementwise import cast
        from .shape import expand

        s = cast(src, self.dtype) if src.dtype is not self.dtype else src
        if s._data.shape != self._data.shape:
            s = expand(s, self._data.shape)
        out = _CopyFrom.apply(_snapshot(self), s)
        return _rebind(self, out)
    from ._util import broadcast_error

    err = broadcast_error(self, src)
    if err is None and np.broadcast_shapes(self._data.shape, src._data.shape) != self.shape:
        err = RuntimeError(
            f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
            f"{list(np.broadcast_shapes(self._data.shape, src._data.shape))}"
        )
    if err is not None:
        raise err
    try:
        np.copyto(self._data, src._data, casting="unsafe")
    except ValueError:
        if not self._data.flags.writeable:
            raise read_only_error(self._data) from None
        raise RuntimeError(
            f"The size of tensor a ({self._data.shape[-1] if self.ndim else 1}) must match the "
            f"size of tensor b ({src._data.shape[-1] if src.ndim else 1}) at non-singleton "
            f"dimension {max(self.ndim - 1, 0)}"
        ) from None
    self._vc[0] += 1
    return self


def _make_copy_from():
    from ._util import Primitive

    class CopyFrom(Primitive):
        twice_differentiable = True

        @staticmethod
        def forward(ctx, x, src):
            return src.copy()

        @staticmethod
        def backward(ctx, g):
            # The overwritten tensor still gets a (zero) gradient, as in PyTorch.
            return (np.zeros_like(g) if ctx.needs_input_grad[0] else None), g

    return CopyFrom


_CopyFrom = _make_copy_from()


def _fill_random(t: Tensor, generator: Any, draw: Callable) -> Tensor:
    """Overwrite ``t`` with ``draw(numpy_generator, shape)``: an in-place write, refused (in grad
    mode) on leaves that require grad, and counted in the version counter."""
    if STATE.enabled:
        check_leaf(t)
    if not t._data.flags.writeable:
        raise read_only_error()
    t._data[...] = draw(rng(generator), t._data.shape)
    t._vc[0] += 1
    return t


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples from U(a, b) in place."""
    RC.check_floating(self.dtype, "check_uniform_bounds")
    RC.check_uniform(a, b, self.dtype)
    return _fill_random(self, generator, lambda g, shape: g.uniform(a, b, shape))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples from N(mean, std²) in place."""
    RC.check_floating(self.dtype, "normal_kernel_cpu")
    RC.check_std(std)
    return _fill_random(self, generator, lambda g, shape: mean + std * g.standard_normal(shape))


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 (probability ``p``, a number or a broadcastable tensor) or 0, in place."""
    if isinstance(p, Tensor):
        p = p._data
        RC.check_probabilities(p)
    else:
        RC.check_probability(p, "bernoulli_")
    return _fill_random(self, generator, lambda g, shape: g.random(shape) < p)


def random_(
    self: Tensor, from_: int = 0, to: int | None = None, *, generator: Any = None
) -> Tensor:
    """Fill with integers uniform on [from, to) (default: every integer the dtype holds)."""
    lo, hi = RC.random_bounds(from_, to, self.dtype)
    return _fill_random(self, generator, lambda g, shape: g.integers(lo, hi, shape))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples from the exponential distribution of rate ``lambd``, in place."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {type_name(self.dtype)}"
        )
    RC.check_positive(lambd, "exponential_", "lambda")
    return _fill_random(self, generator, lambda g, shape: g.exponential(1.0 / lambd, shape))


def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    from .indexing import MaskedFill, _check_mask

    m = _check_mask(mask, self, "masked_fill_")
    value = fit_scalar(value, self.dtype)

    def direct(d: np.ndarray, m: np.ndarray, v: Any) -> None:
        v = v._data if isinstance(v, Tensor) else v
        np.copyto(d, v, where=m, casting="unsafe")

    return apply_inplace(self, MaskedFill, m, value, direct=direct)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    from .unary import Clamp, clamp

    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return inplace_from(clamp, "clamp_")(self, min, max)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")

    from .. import _dtype as D

    res = self.dtype
    for v in (min, max):
        if v is not None:
            res = D.result_type_scalar(res, v)
    if res._kind > self.dtype._kind:  # a float bound for an integer tensor, an int for a bool
        raise RuntimeError(
            f"result type {type_name(res.np)} can't be cast to the desired output type "
            f"{type_name(self._data.dtype)}"
        )

    def direct(d: np.ndarray, lo: Any, hi: Any) -> None:
        np.clip(d, lo, hi, out=d, casting="unsafe")

    return apply_inplace(self, Clamp, min, max, direct=direct)
