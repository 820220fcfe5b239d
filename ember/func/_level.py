"""One level of a function transform, emulated on ember's reverse-mode autograd.

PyTorch's ``torch.func`` gives each transform its own level of tensors. ember records one graph
instead: a level makes fresh leaves for the arguments it differentiates (a view of the argument
when the argument already requires grad, so an enclosing level or ordinary autograd can still
differentiate through it), and records the backward pass (``create_graph``) only when something
outside the level will differentiate the result: the graph of the function's output reaches a
leaf that requires grad and is not the level's own (nor one of a finished inner level).
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ..autograd import grad_mode

_DEPTH = [0]  # how many levels are running now


class Level:
    """``with Level() as lv``: ``lv.lift(t)`` makes a leaf to differentiate against;
    ``lv.outer(outputs)`` says whether the results must carry a graph out of the level."""

    def __enter__(self) -> Level:
        _DEPTH[0] += 1
        self.depth = _DEPTH[0]
        self.grad_was_on = grad_mode.is_grad_enabled()
        self._mode = grad_mode.enable_grad()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        _DEPTH[0] -= 1

    def lift(self, t: Any) -> Tensor:
        if not isinstance(t, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if t.requires_grad:
            return t.view_as(t)
        fresh = t.detach().requires_grad_(True)
        fresh._func_level = self.depth
        return fresh

    def outer(self, outputs: list) -> bool:
        """True when an output's graph reaches a leaf owned by an enclosing level or by the
        user (so the results must stay differentiable)."""
        if not self.grad_was_on:
            return False
        seen: set = set()
        stack = [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]
        while stack:
            t = stack.pop()
            if isinstance(t, Tensor):
                if t.grad_fn is None:
                    if t.requires_grad and getattr(t, "_func_level", 0) < self.depth:
                        return True
                    continue
                node = t.grad_fn
            else:
                node = t
            if id(node) in seen:
                continue
            seen.add(id(node))
            for e in getattr(node, "next_edges", ()) or ():
                if e is None:
                    continue
                stack.append(e if isinstance(e, Tensor) else e[0])
        return False


def settle(t: Any, keep: bool) -> Any:
    """A result leaving the level: detached unless the graph must go on."""
    if isinstance(t, Tensor) and not keep:
        return t.detach()
    return t
