"""In-place view ops (``squeeze_``, ``unsqueeze_``, ``t_``, ``transpose_``, ``swapaxes_``,
``as_strided_``): the tensor itself takes the view's shape and strides, and, when autograd
records, the view's graph node (so gradients flow through the view op as PyTorch's do)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from .inplace import check_leaf

__all__ = ["view_inplace"]


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
