"""``functional_call`` (a module run with other tensors in place of its parameters and buffers)
and ``stack_module_state`` (the states of several copies of a model, stacked for vmap)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .._tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]


def _merge(parameter_and_buffer_dicts: Any) -> dict:
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    if not isinstance(parameter_and_buffer_dicts, (list, tuple)):
        raise ValueError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but "
            f"got {type(parameter_and_buffer_dicts)}"
        )
    merged: dict = {}
    seen: dict = {}
    for d in parameter_and_buffer_dicts:
        for k in d:
            seen[k] = seen.get(k, 0) + 1
        merged.update(d)
    repeated = [k for k, n in seen.items() if n > 1]
    if repeated:
        raise ValueError(
            f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
            "ambiguous"
        )
    return merged


def _tied_groups(module: Any) -> list[list[str]]:
    """Names that share one tensor (tied weights), in registration order."""
    by_id: dict = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
        module.named_buffers(remove_duplicate=False)
    ):
        by_id.setdefault(id(t), []).append(name)
    return [names for names in by_id.values() if len(names) > 1]


def _tie(module: Any, values: dict) -> dict:
    for names in _tied_groups(module):
        given = [n for n in names if n in values]
        if not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {given}, which are tied. "
                "Consider using tie_weights=False"
            )
        for n in names:
            values[n] = values[given[0]]
    return values


def _check_strict(module: Any, values: dict) -> None:
    names = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    names += [n for n, _ in module.named_buffers(remove_duplicate=False)]
    missing = [n for n in names if n not in values]
    unexpected = [k for k in values if k not in set(names)]
    lines = []
    if unexpected:
        lines.append("\tUnexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
    if missing:
        lines.append("\tMissing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
    if lines:
        raise RuntimeError(
            f"Error(s) in reparametrizing for {type(module).__name__}:\n" + "\n".join(lines)
        )


@contextlib.contextmanager
def _reparametrize(module: Any, values: dict) -> Iterator[None]:
    """Put ``values`` in place of the named parameters/buffers; restore them afterwards."""
    undo: list = []
    try:
        for name, value in values.items():
            *path, attr = name.split(".")
            owner = module
            for p in path:
                owner = getattr(owner, p)
            undo.append(_swap(owner, attr, value))
        yield
    finally:
        for restore in reversed(undo):
            restore()


def _swap(owner: Any, attr: str, value: Any) -> Any:
    """Set ``owner.attr`` to ``value`` for the call; returns what puts the old one back."""
    for table in (owner._parameters, owner._buffers):
        if attr in table:
            old = table[attr]
            table[attr] = value
            return lambda: table.__setitem__(attr, old)
    # not a parameter or buffer: a plain attribute for the duration of the call
    had, old = attr in owner.__dict__, owner.__dict__.get(attr)
    object.__setattr__(owner, attr, value)
    if had:
        return lambda: object.__setattr__(owner, attr, old)
    return lambda: object.__delattr__(owner, attr)


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts`` (a dict, or
    a tuple of dicts, keyed as ``named_parameters``/``named_buffers``) in place of its own. With
    ``tie_weights`` a value given for one of several tied names is used for all of them; with
    ``strict`` every parameter and buffer must be given and no other name."""
    values = _merge(parameter_and_buffer_dicts)
    if tie_weights:
        values = _tie(module, values)
    if strict:
        _check_strict(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values):
        return module(*args, **(kwargs or {}))


def stack_module_state(models: Any) -> tuple[dict, dict]:
    """``(params, buffers)``: each model's parameters and buffers stacked along a new first
    dimension (for ``vmap(functional_call...)`` over an ensemble). Stacked parameters that
    require grad are new leaves."""
    from .. import stack

    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]

    def stacked(group: list, name: str) -> Tensor:
        tensors = [d[name] for d in group]
        rg = [t.requires_grad for t in tensors]
        if any(rg) and not all(rg):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        out = stack([t.detach() for t in tensors])
        return out.requires_grad_() if all(rg) else out

    params = {k: stacked(all_params, k) for k in all_params[0]}
    buffers = {k: stacked(all_buffers, k) for k in all_buffers[0]}
    return params, buffers
