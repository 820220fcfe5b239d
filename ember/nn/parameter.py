"""``nn.Parameter`` (a Tensor a Module trains) and ``nn.Buffer`` (state it does not train)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._printing import tensor_repr
from .._tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A Tensor that a Module registers as a trainable parameter when assigned as an attribute.

    Args:
        data: the initial value (shared, not copied); an empty tensor when None.
        requires_grad: whether the parameter is trained (default True).

    >>> import ember
    >>> from ember import nn
    >>> nn.Parameter(ember.FloatTensor([[0]]))
    Parameter containing:
    tensor([[0.]], requires_grad=True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            arr = np.zeros((0,), np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            raise TypeError(
                f"Parameter(): argument 'data' must be a Tensor, not {type(data).__name__}"
            )
        p = Tensor.__new__(cls)
        p._data = arr
        p._rg = False
        p._grad_fn = None
        p._vc = [0]
        if requires_grad:
            if not (p.dtype.is_floating_point or p.dtype.is_complex):
                raise RuntimeError(
                    "Only Tensors of floating point and complex dtype can require gradients"
                )
            p._rg = True
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + tensor_repr(self)

    def __reduce_ex__(self, protocol: int):
        from .._tensor import _wrap

        return (Parameter, (_wrap(self._data), self._rg))


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    ``self.running = nn.Buffer(ember.zeros(3), persistent=True)`` is the same as
    ``self.register_buffer('running', ember.zeros(3))``. The stored buffer is a plain Tensor.
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        if data is None:
            arr = np.zeros((0,), np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            raise TypeError(
                f"Buffer(): argument 'data' must be a Tensor, not {type(data).__name__}"
            )
        b = Tensor.__new__(cls)
        b._data = arr
        b._rg = bool(data is not None and data._rg)
        b._grad_fn = None
        b._vc = [0]
        b.__dict__["persistent"] = persistent
        return b

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        pass


class UninitializedParameter(Parameter):
    """Placeholder kept for API compatibility (ember has no lazy modules)."""
