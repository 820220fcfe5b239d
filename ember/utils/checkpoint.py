"""``ember.utils.checkpoint``: trade compute for memory, as PyTorch's activation checkpointing.

``checkpoint(fn, *args)`` runs ``fn`` and keeps only its inputs, not the activations inside; the
backward pass runs ``fn`` again on the same inputs (with the same random state, so dropout draws
the same masks) and backpropagates through that fresh graph. Results and gradients are identical
to running ``fn`` directly. ``checkpoint_sequential`` does it for the segments of a sequence of
modules.

Both PyTorch variants are accepted: ``use_reentrant=True`` (gradients flow only when an input
tensor requires grad, as in PyTorch) and ``use_reentrant=False`` (gradients also reach the
parameters ``fn`` uses when no input requires grad). Without ``use_reentrant`` PyTorch's warning
is given and the reentrant variant runs, as PyTorch 2.13 does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import _random
from .._tensor import Tensor
from ..autograd import Function, backward
from ..autograd.grad_mode import enable_grad, is_grad_enabled

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A checkpointed function behaved differently when recomputed."""


def _detached(args: tuple) -> list:
    """Fresh leaves for the recomputation: same values, same requires_grad, no history."""
    return [
        a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args
    ]


class _Checkpoint(Function):
    """Runs ``fn`` without keeping its graph; recomputes it in backward."""

    @staticmethod
    def forward(ctx: Any, fn: Callable, opts: dict, anchor: Any, *args: Any) -> Any:
        ctx.fn, ctx.opts = fn, opts
        # Tensors are saved as saved tensors (an in-place change before backward is caught).
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        ctx.template = [None if isinstance(a, Tensor) else a for a in args]
        ctx.rng = _random.get_rng_state() if opts["preserve_rng_state"] else None
        if opts["probe"]:  # non-reentrant: learn which outputs depend on something trainable
            with enable_grad():
                out = fn(*_detached(args), **opts["kwargs"])
            trainable = [isinstance(o, Tensor) and o.requires_grad for o in _as_tuple(out)]
            out = _detach_all(out)
            frozen = [
                o for o, t in zip(_as_tuple(out), trainable) if isinstance(o, Tensor) and not t
            ]
            ctx.mark_non_differentiable(*frozen)
            return out
        return fn(*args, **opts["kwargs"])

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        saved = iter(ctx.saved_tensors)
        inputs = _detached([next(saved) if t is None else t for t in ctx.template])
        state = _random.get_rng_state()
        if ctx.rng is not None:
            _random.set_rng_state(ctx.rng)
        try:
            with enable_grad():
                out = ctx.fn(*inputs, **ctx.opts["kwargs"])
        finally:
            _random.set_rng_state(state)
        outs = _as_tuple(out)
        pairs = [
            (o, g)
            for o, g in zip(outs, grads)
            if isinstance(o, Tensor) and o.requires_grad and g is not None
        ]
        if not pairs:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None) + tuple(
            a.grad if isinstance(a, Tensor) and a.requires_grad else None for a in inputs
        )


def _detach_all(out: Any) -> Any:
    if isinstance(out, Tensor):
        return out.detach()
    if isinstance(out, tuple):
        return tuple(_detach_all(o) for o in out)
    return out


def _as_tuple(out: Any) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable | None = None,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args)`` whose activations are recomputed in backward instead of kept."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant:
        if context_fn is not None or debug:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    elif context_fn is not None or debug:
        raise NotImplementedError(
            "ember.utils.checkpoint: context_fn (selective checkpointing) and debug=True are not "
            "supported"
        )
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    if not is_grad_enabled():
        return function(*args, **kwargs)
    if use_reentrant and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
        )
    opts = {"preserve_rng_state": preserve, "kwargs": kwargs, "probe": not use_reentrant}
    if use_reentrant:
        return _Checkpoint.apply(function, opts, None, *args)
    return _non_reentrant(function, opts, args)


def _non_reentrant(function: Callable, opts: dict, args: tuple) -> Any:
    """The non-reentrant variant: an anchor tensor that requires grad makes the checkpoint node
    part of the graph even when no input requires grad (the function's parameters may)."""
    from .._creation import zeros

    anchor = zeros(0, requires_grad=True)
    return _Checkpoint.apply(function, opts, anchor, *args)


def checkpoint_sequential(
    functions: Any, segments: int, input: Any, use_reentrant: bool | None = None, **kwargs: Any
) -> Any:
    """Run the modules of ``functions`` in ``segments`` checkpointed chunks (the last chunk runs
    normally, as in PyTorch)."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is not "
            "passed. use_reentrant=False is recommended, but if you need to preserve the current "
            "default behavior, you can pass use_reentrant=True. Refer to docs for more details on "
            "the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    fns: Sequence = list(functions.children()) if hasattr(functions, "children") else functions
    size = len(fns) // segments if segments else 0
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(
            _run_range(start, end, fns),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
    return _run_range(end + 1, len(fns) - 1, fns)(input)


def _run_range(start: int, end: int, fns: Sequence) -> Callable:
    def forward(x: Any) -> Any:
        for j in range(start, end + 1):
            x = fns[j](x)
        return x

    return forward
