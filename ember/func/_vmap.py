"""``vmap``: map a function over a batch dimension of its inputs.

ember runs ``func`` once per batch element (on ``input.select(in_dim, b)``) and stacks the
results along ``out_dims``: the semantics, argument checks and errors are PyTorch's, but the cost
is one call per element, not one batched call (see docs/differences.md).
``randomness``: "error" makes every random draw of the default generator raise inside the call;
"different" lets each element draw its own numbers; "same" rewinds the default generator before
each element, so all elements see the same numbers.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from .. import _random
from .._tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")
_RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap"
)


def check_randomness(randomness: str) -> None:
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )


class _RefuseRandom:
    """Stands in for the default NumPy generator in randomness="error" mode."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(_RANDOM_ERROR)


class _Guard:
    def __init__(self, randomness: str) -> None:
        self.randomness = randomness
        self.gen = _random.default_generator
        self.saved = self.gen.np
        self.state = None
        if randomness == "same" and not isinstance(self.saved, _RefuseRandom):
            self.state = self.saved.bit_generator.state

    def each(self) -> None:
        """Before each batch element: rewind the generator in "same" mode."""
        if self.state is not None:
            self.gen.np.bit_generator.state = self.state


@contextlib.contextmanager
def random_guard(randomness: str) -> Iterator[_Guard]:
    """Apply ``randomness`` to the default generator for the duration of the block."""
    guard = _Guard(randomness)
    if randomness == "error":
        guard.gen.np = _RefuseRandom()
    try:
        yield guard
    finally:
        if randomness == "error":
            guard.gen.np = guard.saved


def _name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """``func`` mapped over dimension ``in_dims`` of its inputs, results stacked at
    ``out_dims``. ``in_dims``/``out_dims`` are an int, None, or a (nested) tuple matching the
    positional inputs/outputs; keyword arguments are not mapped."""
    check_randomness(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        leaves, spec, dims, size = _mapped_inputs(func, in_dims, args)
        with random_guard(randomness) as guard:
            if size == 0:
                return _empty_batch(func, out_dims, leaves, spec, dims, kwargs)
            results = []
            for b in range(size):
                guard.each()
                sample = [x if d is None else x.select(d, b) for x, d in zip(leaves, dims)]
                results.append(func(*tree_unflatten(sample, spec), **kwargs))
        return _stack_outputs(func, out_dims, results)

    return wrapped


def _mapped_inputs(func: Any, in_dims: Any, args: tuple) -> tuple:
    """The flat inputs, their spec, the mapped dim of each (normalised) and the batch size."""
    name = _name(func)
    if not args:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
            "trying to vmap over a function with no inputs. The latter is unsupported."
        )
    if not (in_dims is None or isinstance(in_dims, (int, tuple))):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
            f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}."
        )
    leaves, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args) if isinstance(in_dims, tuple) else None
    if dims is None and isinstance(in_dims, tuple):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but "
            f"inputs has structure {spec}."
        )
    if dims is None:
        dims = [in_dims] * len(leaves)
    sizes, norm = [], []
    for x, d in zip(leaves, dims):
        if d is None:
            norm.append(None)
            continue
        if not isinstance(x, Tensor):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                f"but the input is of type {type(x)}. We cannot vmap over non-Tensor arguments, "
                "please use None as the respective in_dim"
            )
        if not isinstance(d, int) or not -x.dim() <= d < max(x.dim(), 0):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {x.dim()} so expected "
                f"in_dim to satisfy -{x.dim()} <= in_dim < {x.dim()}."
            )
        d %= x.dim()
        norm.append(d)
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return leaves, spec, norm, sizes[0]


def _out_dims_for(func: Any, out_dims: Any, output: Any) -> tuple[list, Any, list]:
    flat, spec = tree_flatten(output)
    if isinstance(out_dims, tuple) and isinstance(output, tuple):
        dims = broadcast_prefix(out_dims, output)
    elif isinstance(out_dims, tuple):
        dims = broadcast_prefix(out_dims, (output,))
    else:
        dims = [out_dims] * len(flat)
    if dims is None:
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            f"compatible with the structure of `outputs`. out_dims has structure "
            f"{tree_flatten(out_dims)[1]} but outputs has structure {spec}."
        )
    for x, d in zip(flat, dims):
        if d is not None and not isinstance(x, Tensor):
            raise ValueError(
                f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                f"{type(x)}. Did you mean to set out_dims= to None for output?"
            )
    return flat, spec, dims


def _stack_outputs(func: Any, out_dims: Any, results: list) -> Any:
    from .. import stack

    flat0, spec, dims = _out_dims_for(func, out_dims, results[0])
    columns = [tree_flatten(r)[0] for r in results]
    out = []
    for k, (x, d) in enumerate(zip(flat0, dims)):
        if d is None:
            out.append(x)
            continue
        out.append(stack([col[k] for col in columns], dim=d))
    return tree_unflatten(out, spec)


def _empty_batch(func, out_dims, leaves: list, spec, dims: list, kwargs: dict) -> Any:
    """A batch of size 0: run ``func`` once on zeros to learn the outputs' shapes."""
    sample = [
        x if d is None else x.new_zeros(tuple(x.shape[:d]) + tuple(x.shape[d + 1 :]))
        for x, d in zip(leaves, dims)
    ]
    output = func(*tree_unflatten(sample, spec), **kwargs)
    flat, ospec, odims = _out_dims_for(func, out_dims, output)
    out = []
    for x, d in zip(flat, odims):
        if d is None:
            out.append(x)
            continue
        shape = list(x.shape)
        d = d % (len(shape) + 1) if -len(shape) - 1 <= d <= len(shape) else d
        if not 0 <= d <= len(shape):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-len(shape) - 1}, "
                f"{len(shape)}], but got {d})"
            )
        out.append(x.new_zeros(tuple(shape[:d]) + (0,) + tuple(shape[d:])))
    return tree_unflatten(out, ospec)
