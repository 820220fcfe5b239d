"""In-place forms the generic ``inplace_from`` cannot make alone.

View ops (``squeeze_``, ``unsqueeze_``, ``t_``, ``transpose_``, ``swapaxes_``, ``as_strided_``):
the tensor itself takes the view's shape and strides, and, when autograd records, the view's
graph node (so gradients flow through the view op as PyTorch's do). Comparisons (``eq_``,
``lt_``...): their result takes no gradient, yet PyTorch keeps the tensor in the graph with a
zero gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from .inplace import check_leaf

__all__ = ["view_inplace", "zero_grad_form"]


def view_inplace(fn: Callable, name: str) -> Callable:
    """An in-place method that re-points the tensor at ``fn(tensor, ...)``'s view."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if STATE.enabled and self._rg:
            check_leaf(self)
        out = fn(self, *args, **kwargs)
        self._data = out._data
        if out._rg and out._grad_fn is not None:
            self._grad_fn = out._grad_fn
            self.__dict__["_out_nr"] = out._out_nr
        self._vc[0] += 1
        return self

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: this tensor becomes the view."
    return method


def zero_grad_form(fn: Callable) -> Callable:
    """``fn`` (a comparison, whose result takes no gradient) made fit for an
    in-place form on a floating tensor that requires grad: PyTorch keeps such a tensor in the
    graph with a zero gradient, so the result here is ``self * 0 + fn(self, ...)``."""

    def wrapped(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        from .elementwise import add, cast, mul

        out = fn(self, *args, **kwargs)
        if STATE.enabled and self._rg and self.dtype.is_floating_point:
            return add(mul(self, 0), cast(out, self.dtype))
        return out

    return wrapped
