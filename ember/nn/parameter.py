"""``nn.Parameter`` (a Tensor a Module trains) and ``nn.Buffer`` (state it does not train)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._printing import tensor_repr
from .._tensor import Tensor

__all__ = [
    "Parameter",
    "Buffer",
    "UninitializedParameter",
    "UninitializedBuffer",
    "UninitializedTensorMixin",
    "is_lazy",
]


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


_UNINIT_USE = (
    "Attempted to use an uninitialized parameter in {}. This error happens when you are using a "
    "`LazyModule` or explicitly manipulating `torch.nn.parameter.UninitializedParameter` "
    "objects. When using LazyModules Call `forward` with a dummy batch to initialize the "
    "parameters before calling torch functions"
)
_UNINIT_SHAPE = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
    "in `load_state_dict` when trying to load an uninitialized parameter into an initialized "
    "one. Call `forward` to initialize the parameters before accessing their attributes."
)


def _raise_uninitialized(self: Any) -> Any:
    raise ValueError(_UNINIT_USE.format("a tensor operation"))


class UninitializedTensorMixin:
    """A tensor without data yet, as a lazy module holds before its first forward.

    It knows its dtype and ``requires_grad``; any operation on its values raises PyTorch's
    ValueError, its shape PyTorch's RuntimeError. ``materialize(shape)`` allocates the data and
    turns it into a regular :class:`Parameter` (or Tensor for a buffer), the same object.
    """

    cls_to_become: type = Tensor
    # Shadows Tensor's ``_data`` slot until ``materialize`` changes the class.
    _data = property(_raise_uninitialized)

    def _init_uninitialized(self, requires_grad: bool, dtype: Any) -> None:
        from .._dtype import get_default_dtype

        self._rg = bool(requires_grad)
        self._grad_fn = None
        self._vc = [0]
        self.__dict__["_lazy_dtype"] = dtype if dtype is not None else get_default_dtype()

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate uninitialised data of ``shape`` (and ``dtype``, default the stored one) and
        become ``cls_to_become``."""
        dt = dtype if dtype is not None else self.__dict__["_lazy_dtype"]
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        del self.__dict__["_lazy_dtype"]
        self.__class__ = self.cls_to_become
        self._data = np.empty(shape, dtype=dt.np)
        self._data.fill(0)

    @property
    def dtype(self) -> Any:
        return self.__dict__["_lazy_dtype"]

    @property
    def shape(self) -> Any:
        raise RuntimeError(_UNINIT_SHAPE)

    def size(self, dim: int | None = None) -> Any:
        raise RuntimeError(_UNINIT_SHAPE)

    def dim(self) -> int:
        raise RuntimeError(_UNINIT_SHAPE)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """A new uninitialized tensor of the requested dtype (devices are ignored)."""
        from .._tensor import parse_to

        _, dtype, _ = parse_to(args, kwargs, allow_copy=True)
        if dtype is None or dtype == self.dtype:
            return self
        return type(self)(self._rg, dtype=dtype)

    def float(self) -> Any:
        return self.to(_dtype_named("float32"))

    def double(self) -> Any:
        return self.to(_dtype_named("float64"))

    def half(self) -> Any:
        return self.to(_dtype_named("float16"))

    def cpu(self) -> Any:
        return self

    def detach(self) -> Any:
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol: int) -> Any:
        return (type(self), (self._rg, None, self.dtype))


def _dtype_named(name: str) -> Any:
    from .. import _dtype

    return getattr(_dtype, name)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (the weights of ``nn.LazyLinear`` & co. before
    their first forward); it becomes a :class:`Parameter` when materialised.

    >>> from ember import nn
    >>> p = nn.parameter.UninitializedParameter()
    >>> p, p.requires_grad
    (<UninitializedParameter>, True)
    >>> p.materialize((2, 3)); type(p).__name__, tuple(p.shape)
    ('Parameter', (2, 3))
    """

    cls_to_become = Parameter

    def __new__(
        cls, requires_grad: bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        p = Tensor.__new__(cls)
        p._init_uninitialized(requires_grad, dtype)
        return p

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (the running statistics of ``nn.LazyBatchNorm*``
    before their first forward); it becomes a plain Tensor when materialised."""

    cls_to_become = Tensor

    def __new__(
        cls, requires_grad: bool = False, device: Any = None, dtype: Any = None
    ) -> UninitializedBuffer:
        b = Tensor.__new__(cls)
        b._init_uninitialized(requires_grad, dtype)
        return b

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None):
        pass


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is an uninitialized parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)
