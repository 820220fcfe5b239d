"""The rest of ``torch.nn.functional``'s public names: ``conv_tbc``,
``adaptive_max_pool3d_with_indices``, and the helpers PyTorch's own functional code uses and
exports (``assert_int_or_pair``, ``boolean_dispatch``, the ``__torch_function__`` protocol
checks ``has_torch_function*`` and ``handle_torch_function``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..._tensor import Tensor
from ._conv import conv1d
from ._pooling import adaptive_max_pool3d

__all__ = [
    "conv_tbc",
    "adaptive_max_pool3d_with_indices",
    "assert_int_or_pair",
    "boolean_dispatch",
    "has_torch_function",
    "has_torch_function_unary",
    "has_torch_function_variadic",
    "handle_torch_function",
]


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """A 1-D convolution over a (time, batch, channels) input; ``weight`` is (kernel width,
    in_channels, out_channels), ``pad`` the time steps padded on each side."""
    if input.ndim != 3:
        raise RuntimeError(f"Input must have 3 dims: time, batch, in_channel, got {input.ndim}")
    if weight.ndim != 3:
        raise RuntimeError(
            f"Weight tensor must have 3 dims: kernel_width, in_channels, out_channels, got "
            f"{weight.ndim}"
        )
    if bias.ndim != 1:
        raise RuntimeError(f"Bias must be 1-D, got {bias.ndim}")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = True
) -> tuple:
    """``adaptive_max_pool3d`` returning ``(output, indices)``."""
    return adaptive_max_pool3d(input, output_size, return_indices=True)


def assert_int_or_pair(arg: Any, arg_name: str, message: str) -> None:
    """Raise AssertionError (``message`` formatted with ``arg_name``) unless ``arg`` is an int
    or has two elements."""
    if not (isinstance(arg, int) or len(arg) == 2):
        raise AssertionError(message.format(arg_name))


def boolean_dispatch(
    arg_name: str,
    arg_index: int,
    default: bool,
    if_true: Callable,
    if_false: Callable,
    module_name: str | None,
    func_name: str | None,
) -> Callable:
    """A function calling ``if_true`` or ``if_false`` depending on one boolean argument (found
    by keyword ``arg_name`` or position ``arg_index``; ``default`` when absent)."""

    def fn(*args: Any, **kwargs: Any) -> Any:
        if arg_name in kwargs:
            flag = kwargs[arg_name]
        elif arg_index < len(args):
            flag = args[arg_index]
        else:
            flag = default
        return if_true(*args, **kwargs) if flag else if_false(*args, **kwargs)

    docs = [f.__doc__ for f in (if_true, if_false) if f.__doc__ is not None]
    if len(docs) == 2:
        raise RuntimeError("only one function can have a docstring")
    fn.__doc__ = docs[0] if docs else None
    if module_name is not None:
        fn.__module__ = module_name
    if func_name is not None:
        fn.__name__ = func_name
    return fn


def _overrides(value: Any) -> bool:
    """Whether ``value``'s type brings its own ``__torch_function__`` (ember's Tensor and
    Parameter never dispatch, as PyTorch's exact Tensor and Parameter)."""
    from ..parameter import Parameter

    cls = type(value)
    return cls not in (Tensor, Parameter) and hasattr(cls, "__torch_function__")


def has_torch_function(relevant_args: Iterable) -> bool:
    """Whether any argument implements ``__torch_function__``."""
    return any(_overrides(a) for a in relevant_args)


def has_torch_function_unary(arg: Any) -> bool:
    """``has_torch_function((arg,))``."""
    return _overrides(arg)


def has_torch_function_variadic(*args: Any) -> bool:
    """``has_torch_function(args)``."""
    return any(_overrides(a) for a in args)


def handle_torch_function(
    public_api: Callable, relevant_args: Iterable, *args: Any, **kwargs: Any
) -> Any:
    """Call the ``__torch_function__`` of the overriding arguments (subclasses before their
    bases, then left to right) until one returns something other than ``NotImplemented``."""
    overloaded: list = []
    for a in relevant_args:
        if _overrides(a) and all(type(a) is not type(o) for o in overloaded):
            at = next((k for k, o in enumerate(overloaded) if issubclass(type(a), type(o))), None)
            overloaded.insert(at if at is not None else len(overloaded), a)
    types = tuple(type(a) for a in overloaded)
    for a in overloaded:
        result = type(a).__torch_function__(public_api, types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = getattr(public_api, "__qualname__", repr(public_api))
    raise TypeError(
        f"no implementation found for '{name}' on types that implement __torch_function__: "
        f"{[type(a) for a in overloaded]}"
    )
