"""The Tensor: a NumPy array plus autograd state.

Math methods (``add``, ``sum``, ``view``...) are attached by ``ember.ops`` so that this file holds
only what every tensor is: data, dtype, device, grad bookkeeping and conversions.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

from . import _dtype as D
from . import _memory_format as MF
from ._backend import cpu, device

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``ember.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __reduce__(self):
        return (Size, (tuple(self),))


_np_to_dtype = D._BY_NP
_new = object.__new__


def _no(self: Any) -> bool:
    """A flag that is False for every ember tensor (``is_sparse``, ``is_mps``, ...)."""
    return False


_ndarray, _generic, _asarray = np.ndarray, np.generic, np.asarray


def _wrap(data: Any) -> Tensor:
    """A new Tensor around ``data`` (an array) with no grad state: the hot-path constructor."""
    t = _new(Tensor)
    if type(data) is not _ndarray and isinstance(data, _generic):
        data = _asarray(data)  # NumPy ops on 0-d arrays return scalars; a Tensor holds an array
    t._data = data
    t._rg = False
    t._grad_fn = None
    t._vc = [0]
    return t


class Tensor:
    """An n-dimensional array with autograd, as ``torch.Tensor``.

    Build one with ``ember.tensor(data)``; ``ember.Tensor(data)`` / ``ember.Tensor(*sizes)`` are
    the legacy constructors (float32 by default).
    """

    __slots__ = ("_data", "_rg", "_grad_fn", "_vc", "__dict__", "__weakref__")
    # Rarely set attributes live in __dict__ with these class-level defaults (keeps _wrap cheap).
    _grad = None
    _out_nr = 0
    _base = None
    _hooks = None
    __array_priority__ = 1000  # NumPy defers `ndarray op Tensor` to Tensor's reflected methods

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None) -> None:
        if getattr(self, "_data", None) is not None and not args:
            return
        d = dtype or _legacy_dtype(type(self))
        if len(args) == 1 and isinstance(args[0], Size):
            args = tuple(args[0])  # Tensor(torch.Size([2, 3])) is a shape, not data
        elif not args:
            args = (0,)  # Tensor() is an empty 1-D tensor
        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                arr = src._data
            elif isinstance(src, str):
                raise TypeError("new(): invalid data type 'str'")
            else:
                arr = np.asarray(src, dtype=d.np)
            data = arr.astype(d.np, copy=False)
        elif all(isinstance(a, int) for a in args):
            data = np.empty(args, dtype=d.np)
            data.fill(0)
        else:
            raise TypeError(f"new(): invalid data type '{type(args[0]).__name__}'")
        self._data = data
        self._rg = False
        self._grad_fn = None
        self._vc = [0]

    def __new__(cls, *args: Any, **kwargs: Any):
        return _new(cls)

    # ---- core attributes ----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> D.dtype:
        return _np_to_dtype[self._data.dtype]

    @property
    def device(self) -> device:
        return cpu

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    # The other device and layout flags PyTorch tensors carry: an ember tensor is a dense CPU one.
    is_xpu = is_mps = is_meta = is_ipu = is_mtia = is_maia = is_vulkan = property(_no)
    is_sparse = is_sparse_csr = is_quantized = is_mkldnn = is_nested = property(_no)

    @property
    def layout(self) -> str:
        return "strided"

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the data is laid out in ``memory_format`` (C-contiguous by default)."""
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        return MF.is_contiguous_as(self._data, MF.check_format(memory_format, "is_contiguous"))

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def share_memory_(self) -> Tensor:
        """Move the data into shared memory, so other processes update it in place."""
        from ._shared_memory import share_memory_

        return share_memory_(self)

    def is_shared(self) -> bool:
        """True when the data lives in shared memory (after ``share_memory_()``)."""
        from ._shared_memory import is_shared

        return is_shared(self)

    def is_pinned(self, device: Any = None) -> bool:
        """False: pinned (page-locked) memory belongs to an accelerator ember does not have."""
        return False

    def pin_memory(self, device: Any = None) -> Tensor:
        """Raises as PyTorch's CPU build does: there is no accelerator to pin memory for."""
        raise RuntimeError("Cannot access accelerator device when none is available.")

    def storage_offset(self) -> int:
        base = self._data
        while base.base is not None and isinstance(base.base, np.ndarray):
            base = base.base
        return (self.data_ptr() - base.__array_interface__["data"][0]) // self._data.itemsize

    @property
    def _version(self) -> int:
        return self._vc[0]

    # ---- autograd state -----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        if self._grad_fn is None:
            self._rg = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        g = self._grad
        if g is None and self._grad_fn is not None and not self.__dict__.get("_retains_grad"):
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() "
                "on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of "
                    f"{type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value.shape)} vs "
                    f"{list(self.shape)}"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self.__dict__["_grad"] = value

    @grad.deleter
    def grad(self) -> None:
        self.__dict__["_grad"] = None

    @property
    def grad_fn(self) -> Any:
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._out_nr

    @property
    def retains_grad(self) -> bool:
        return bool(self.__dict__.get("_retains_grad"))

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        fn = self._grad_fn
        if fn is None or self.__dict__.get("_retains_grad"):
            return
        if fn._retain is None:
            fn._retain = {}
        fn._fast = False
        fn._retain[self._out_nr] = weakref.ref(self)
        self.__dict__["_retains_grad"] = True

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self._grad_fn
        if fn is None:
            hooks = self.__dict__.get("_hooks")
            if hooks is None:
                hooks = self.__dict__["_hooks"] = OrderedDict()
        else:
            if fn._out_hooks is None:
                fn._out_hooks = {}
            fn._fast = False
            hooks = fn._out_hooks.setdefault(self._out_nr, OrderedDict())
        return _function._add_hook(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(tensor)`` after a backward pass has accumulated into this leaf's ``.grad``
        (once per pass, on the summed gradient); ``hook`` must return None."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        hooks = self.__dict__.setdefault("_post_acc_hooks", OrderedDict())
        return _function._add_hook(hooks, hook)

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the graph's leaves."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A new tensor sharing data (and version counter) with this one, outside the graph."""
        t = _wrap(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and self._base._rg:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."  # noqa: E501
            )
        self._grad_fn = None
        self._rg = False
        self.__dict__.pop("_out_nr", None)
        return self

    @property
    def data(self) -> Tensor:
        """A detached tensor sharing memory but not the version counter (as ``torch``'s)."""
        return _wrap(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        self._data = value._data

    def _shallow_view(self) -> Tensor:
        t = _wrap(self._data)
        t._vc = self._vc
        return t

    # ---- conversions --------------------------------------------------------------------
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind this tensor (shared memory)."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._data.copy() if force and self._rg else self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self._data
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def cpu(self, memory_format: Any = None) -> Tensor:
        """This tensor (ember's tensors live on the CPU), in ``memory_format`` when given."""
        if memory_format is None:
            return self
        return self.to(memory_format=memory_format)

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        device("cuda")  # raises the clear "no cuda device" error
        return self  # pragma: no cover

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Convert dtype and/or device: ``to(dtype)``, ``to(device)``, ``to(other)``,
        ``to(device, dtype)``, each with ``memory_format=``; returns self when nothing changes."""
        _, dtype, copy = parse_to(args, kwargs)
        same = dtype is None or dtype.np == self._data.dtype
        fmt = kwargs.get("memory_format")
        if fmt is None and (same and not copy or MF.has_c_strides(self._data)):
            # The common cases, without the stride rules' cost: a C-order cast stays C-order.
            if same:
                return self.clone() if copy else self
            from .ops import elementwise

            return elementwise.cast(self, dtype)
        return MF.to_format(self, None if same else dtype, copy, fmt or MF.preserve_format)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """The legacy type name (``'torch.FloatTensor'``), or a cast to ``dtype``."""
        from ._legacy import LEGACY_NAMES, parse_type

        if dtype is None:
            return LEGACY_NAMES[self.dtype]
        return self.to(parse_type(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(D.float32)

    def double(self) -> Tensor:
        return self.to(D.float64)

    def half(self) -> Tensor:
        return self.to(D.float16)

    def bfloat16(self) -> Tensor:
        return self.to(D.bfloat16)

    def long(self) -> Tensor:
        return self.to(D.int64)

    def int(self) -> Tensor:
        return self.to(D.int32)

    def short(self) -> Tensor:
        return self.to(D.int16)

    def char(self) -> Tensor:
        return self.to(D.int8)

    def byte(self) -> Tensor:
        return self.to(D.uint8)

    def bool(self) -> Tensor:
        return self.to(D.bool)

    # ---- Python protocol ----------------------------------------------------------------
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        if not self._rg or not STATE.enabled:
            return iter([self[i] for i in range(self._data.shape[0])])
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()))

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __complex__(self) -> complex:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return complex(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        # As PyTorch: a 0-dim tensor formats as its Python number (f"{t}", f"{t:.3f}"); any
        # other tensor only with an empty spec.
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._printing import tensor_repr

        return tensor_repr(self)

    def __reduce_ex__(self, protocol: int):
        return (_rebuild, (self._data, self._rg))

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.  If you were attempting to deepcopy a module, this may "
                "be because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        if id(self) in memo:
            return memo[id(self)]
        new = _new(type(self))
        new._data = self._data.copy()
        new._rg = self._rg
        new._grad_fn = None
        new._vc = [0]
        for k, v in self.__dict__.items():
            if k == "_grad":
                v = None if v is None else v.__deepcopy__(memo)
            elif k in ("_hooks", "_post_acc_hooks", "_base"):
                continue
            else:
                import copy

                v = copy.deepcopy(v, memo)
            new.__dict__[k] = v
        memo[id(self)] = new
        return new

    # ---- new_* factories -------------------------------------------------------------------
    def new_tensor(
        self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from ._creation import tensor

        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        return self.new_full(_size_args(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        return self.new_full(_size_args(size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_empty(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        return self.new_full(_size_args(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        d = dtype or self.dtype
        t = _wrap(np.full(tuple(size), fill_value, dtype=d.np))
        if requires_grad:
            t.requires_grad_()
        return t


def parse_to(args: tuple, kwargs: dict, allow_copy: bool = True) -> tuple:
    """The ``(device, dtype, copy)`` that ``Tensor.to``/``Module.to`` arguments ask for:
    ``to(dtype)``, ``to(device)``, ``to(tensor)``, ``to(device, dtype)`` and keywords. A device
    that does not exist here raises its clear error."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False) if allow_copy else False
    kwargs.pop("non_blocking", None)
    fmt = kwargs.pop("memory_format", None)
    if fmt is not None:
        MF.check_to_format(fmt)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, D.dtype):
            dtype = a
        elif isinstance(a, (str, device)):
            dev = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, bool):
            pass  # non_blocking
        else:
            raise TypeError(
                f"to() received an invalid combination of arguments - got ({type(a).__name__})"
            )
    if dev is not None:
        device(dev)
    return dev, dtype, copy


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    t._rg = requires_grad
    return t


def _size_args(size: tuple) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(Size([2, 3]))``: a tuple."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < -n or dim >= n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


def _legacy_dtype(cls: type) -> D.dtype:
    """The dtype a legacy constructor (``ember.LongTensor``) makes; the default one for Tensor."""
    return getattr(cls, "_legacy_dtype", None) or D.get_default_dtype()


# Imported after Tensor exists: the autograd modules import Tensor and _wrap from this module.
from . import autograd as _autograd  # noqa: E402
from .autograd import function as _function  # noqa: E402
from .autograd.grad_mode import STATE  # noqa: E402
