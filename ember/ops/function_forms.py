"""``torch.<name>_(input, ...)``: the function forms PyTorch exports of in-place Tensor methods
(``torch.exp_(x)`` is ``x.exp_()``), each delegating to the method so there is one
implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor

# The in-place methods PyTorch also exports as torch.<name>.
INPLACE_FUNCTIONS = (
    "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ "
    "atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ detach_ erf_ erfc_ "
    "exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ i0_ ldexp_ log10_ log1p_ log2_ log_ logit_ "
    "nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_ sigmoid_ sin_ sinc_ "
    "sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ zero_ gcd_ lcm_ as_strided_ addmv_ resize_as_"
).split()

__all__ = list(INPLACE_FUNCTIONS)


def _function_form(name: str) -> Callable:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``: modifies ``input`` in place and returns it."
    return fn


globals().update({name: _function_form(name) for name in INPLACE_FUNCTIONS})
