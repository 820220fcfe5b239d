"""Module hooks: removable handles, the global (all-module) hooks and full backward hooks.

Full backward hooks work as in PyTorch: the tensors a module receives and the tensors it returns
are passed through an identity graph node each. The output node sees the gradient with respect to
the module's outputs (``grad_output``, where backward pre-hooks may replace it); the input node
sees the gradient with respect to the module's inputs (``grad_input``), where the hooks run and
may return replacements.
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..._tensor import Tensor
from ...autograd.grad_mode import STATE
from ...ops._util import Primitive
from ...utils.hooks import RemovableHandle

__all__ = [
    "RemovableHandle",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
    "register_module_full_backward_pre_hook",
    "register_module_full_backward_hook",
    "register_module_backward_hook",
    "register_module_buffer_registration_hook",
    "register_module_module_registration_hook",
    "register_module_parameter_registration_hook",
]


# ---- hooks that apply to every module (debugging / profiling) ------------------------------
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
_global_buffer_registration_hooks: OrderedDict = OrderedDict()
_global_module_registration_hooks: OrderedDict = OrderedDict()
_global_parameter_registration_hooks: OrderedDict = OrderedDict()
# None: no global backward hook yet; True: full hooks; False: legacy hooks.
_global_is_full_backward_hook: list = [None]


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, args)`` to run before every module's ``forward``."""
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(
    hook: Callable[..., Any], *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after every module's ``forward``."""
    handle = RemovableHandle(
        _global_forward_hooks,
        extra_dict=[_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called],
    )
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, grad_output)`` for every module's backward pass."""
    handle = RemovableHandle(_global_backward_pre_hooks)
    _global_backward_pre_hooks[handle.id] = hook
    return handle


def _mixed_hooks_error() -> RuntimeError:
    return RuntimeError(
        "Cannot use both regular backward hooks and full backward hooks as a global Module hook. "
        "Please use only one of them."
    )


def register_module_full_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, grad_input, grad_output)`` for every module's backward pass."""
    if _global_is_full_backward_hook[0] is False:
        raise _mixed_hooks_error()
    _global_is_full_backward_hook[0] = True
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def register_module_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Legacy (non-full) global backward hook; prefer ``register_module_full_backward_hook``."""
    if _global_is_full_backward_hook[0] is True:
        raise _mixed_hooks_error()
    _global_is_full_backward_hook[0] = False
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def register_module_buffer_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, name, buffer)``, run whenever any module registers a buffer."""
    handle = RemovableHandle(_global_buffer_registration_hooks)
    _global_buffer_registration_hooks[handle.id] = hook
    return handle


def register_module_module_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, name, submodule)``, run whenever any module registers a child."""
    handle = RemovableHandle(_global_module_registration_hooks)
    _global_module_registration_hooks[handle.id] = hook
    return handle


def register_module_parameter_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Register ``hook(module, name, param)``, run whenever any module registers a parameter."""
    handle = RemovableHandle(_global_parameter_registration_hooks)
    _global_parameter_registration_hooks[handle.id] = hook
    return handle


# ---- full backward hooks ---------------------------------------------------------------------
class BackwardHookFunction(Primitive):
    """Identity on any number of arrays: a graph node where a module's gradients are captured.
    Its backward passes the gradients through, on the graph too (twice differentiable)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Any, *arrays: Any) -> tuple:
        return tuple(arrays)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return grads


def _through_identity(args: tuple) -> tuple[tuple, list[int] | None, Any]:
    """Pass the tensors of ``args`` through one identity node (when any requires grad).

    Returns the new args, the positions of the tensors (None when nothing requires grad or grad
    mode is off) and the node. As in PyTorch, a tensor that did not require grad comes out as a
    new tensor that still does not; its grad_input entry is zeros.
    """
    if not STATE.enabled:
        return args, None, None
    idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    srcs = [args[i] for i in idx]
    if not any(s._rg for s in srcs):
        return args, None, None
    outs = BackwardHookFunction.apply(*srcs)
    node = None
    new = list(args)
    for i, src, out in zip(idx, srcs, outs):
        out._vc = src._vc  # same memory, so in-place changes must be seen by both
        if src._rg:
            node = out._grad_fn
        else:
            out._rg = False
            out._grad_fn = None
        new[i] = out
    return tuple(new), idx, node


class BackwardHook:
    """Set up for one module call: captures grad_output, then runs the hooks on grad_input."""

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = 0
        self.input_index: list[int] | None = None
        self.n_outputs = 0
        self.output_index: list[int] | None = None

    @staticmethod
    def _pack(index: list[int], values: tuple, size: int) -> tuple:
        res: list = [None] * size
        for i, v in zip(index, values):
            res[i] = v
        return tuple(res)

    def setup_input_hook(self, args: tuple) -> tuple:
        new, idx, node = _through_identity(args)
        self.n_inputs = len(args)
        self.input_index = idx
        if node is not None:
            node.register_hook(self._input_hook)
        return new

    def _input_hook(self, grad_input: tuple, _grad_output: tuple) -> tuple | None:
        if self.grad_outputs is None:
            return None  # the gradient reached the inputs without passing through the outputs
        res = self._pack(self.input_index, grad_input, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, got "
                    f"{len(out)}, but expected {len(res)}"
                )
            res = tuple(out)
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_index)

    def setup_output_hook(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        outs = result if is_tuple else (result,)
        new, idx, node = _through_identity(outs)
        self.n_outputs = len(outs)
        self.output_index = idx
        if node is not None:
            node.register_hook(self._output_hook)
        return new if is_tuple else new[0]

    def _output_hook(self, _grad_input: tuple, grad_output: tuple) -> tuple | None:
        self.grad_outputs = self._pack(self.output_index, grad_output, self.n_outputs)
        for pre in self.user_pre_hooks:
            out = pre(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(self.grad_outputs):
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, got "
                    f"{len(out)}, but expected {len(self.grad_outputs)}"
                )
            self.grad_outputs = tuple(out)
        local = self.grad_outputs
        if self.input_index is None:
            # No input requires grad: the hooks fire here, with an all-None grad_input.
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module "
                "outputs since no inputs require gradients. See "
                "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.register_full_backward_hook for more details.",
                stacklevel=2,
            )
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always "
                        "return None or None for all gradients."
                    )
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_index)


class _WrappedHook:
    """A legacy backward hook bound to its module: ``hook(module, grad_input, grad_output)``."""

    def __init__(self, hook: Callable, module: Any) -> None:
        self.hook = hook
        self.module = weakref.ref(module)

    def __call__(self, grad_input: tuple, grad_output: tuple) -> Any:
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, grad_input, grad_output)
