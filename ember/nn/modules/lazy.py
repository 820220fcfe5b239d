"""``LazyModuleMixin``: modules whose parameter shapes are inferred from the first input.

A lazy module holds :class:`~ember.nn.parameter.UninitializedParameter` (and
``UninitializedBuffer``) objects until its first ``forward``: a forward pre-hook calls
``initialize_parameters(*args)``, which materialises them with the right shapes and initial
values, then the module turns into its regular class (``cls_to_become``: ``LazyLinear``
becomes ``Linear``). Loading a state_dict into a lazy module materialises the parameters with
the loaded shapes first, as in PyTorch.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...autograd.grad_mode import no_grad
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin (first base) of the lazy layers; see the module docstring."""

    cls_to_become: type | None = None
    _parameters: dict
    _buffers: dict

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(
            self._infer_parameters, with_kwargs=True
        )

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # Uninitialized entries are saved as they are (PyTorch's behaviour): there is no data
        # to detach.
        for name, param in self._parameters.items():
            if param is not None:
                keep = is_lazy(param) or keep_vars
                destination[prefix + name] = param if keep else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                keep = is_lazy(buf) or keep_vars
                destination[prefix + name] = buf if keep else buf.detach()

    def _lazy_load_hook(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Materialise every uninitialized entry that the state_dict holds a real tensor for,
        with that tensor's shape, so the regular loading copies the values in."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param):
                source = state_dict[key]
                if not is_lazy(source):
                    with no_grad():
                        param.materialize(tuple(source.shape))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialise the parameters from the first input (each lazy layer defines it)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}"
        )

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer is still uninitialized."""
        return any(
            is_lazy(v) for v in itertools.chain(self._parameters.values(), self._buffers.values())
        )

    def _infer_parameters(self, module: Any, args: tuple, kwargs: dict | None = None) -> None:
        kwargs = kwargs if kwargs else {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self) -> Any:
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. Run a "
            "dummy forward pass to correctly initialize the modules"
        )

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        """Conversions (``.double()``, ``.to(dtype)``) of a lazy module: the uninitialized
        entries record the new dtype and materialise with it; the rest convert as usual."""
        lazy = []
        for store in (self._parameters, self._buffers):
            for name, value in store.items():
                if value is not None and is_lazy(value):
                    lazy.append((store, name, value))
                    store[name] = None
        try:
            super()._apply(fn, recurse)  # type: ignore[misc]
        finally:
            for store, name, value in lazy:
                store[name] = value
                with no_grad():
                    value.__dict__["_lazy_dtype"] = fn(value).dtype
        return self
