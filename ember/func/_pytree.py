"""Nested containers of tensors (tuples, lists, dicts, namedtuples): flatten and rebuild.

A small version of PyTorch's pytree: enough for the ``ember.func`` transforms, whose arguments
and results may be any nesting of these containers with Tensors (or other values) as leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "Spec"]


class Spec:
    """The shape of a tree: ``kind`` ("leaf", "tuple", "list", "dict", "namedtuple"), the
    container type, the dict keys and one spec per child."""

    __slots__ = ("kind", "type", "keys", "children")

    def __init__(self, kind: str, typ: Any = None, keys: Any = None, children: tuple = ()):
        self.kind, self.type, self.keys, self.children = kind, typ, keys, children

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == "leaf" else sum(c.num_leaves for c in self.children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Spec)
            and (self.kind, self.type, self.keys) == (other.kind, other.type, other.keys)
            and self.children == other.children
        )

    def pprint(self) -> str:
        """The short form PyTorch prints in some messages: ``(*, [*, *])``."""
        if self.kind == "leaf":
            return "*"
        kids = [c.pprint() for c in self.children]
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(self.keys, kids)) + "}"
        if self.kind == "list":
            return "[" + ", ".join(kids) + "]"
        return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"TreeSpec({self.type.__name__}, {self.keys}, [{inner}])"


def _children(tree: Any) -> tuple[str, Any, Any, list] | None:
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return "namedtuple", type(tree), None, list(tree)
    if isinstance(tree, tuple):
        return "tuple", tuple, None, list(tree)
    if isinstance(tree, list):
        return "list", list, None, list(tree)
    if isinstance(tree, dict):
        keys = tuple(tree)
        return "dict", type(tree), keys, [tree[k] for k in keys]
    return None


def tree_flatten(tree: Any) -> tuple[list, Spec]:
    """The leaves of ``tree`` in order, and its spec."""
    found = _children(tree)
    if found is None:
        return [tree], Spec("leaf")
    kind, typ, keys, kids = found
    leaves: list = []
    specs = []
    for k in kids:
        sub, spec = tree_flatten(k)
        leaves += sub
        specs.append(spec)
    return leaves, Spec(kind, typ, keys, tuple(specs))


def tree_unflatten(leaves: list, spec: Spec) -> Any:
    """Rebuild a tree of ``spec``'s shape from ``leaves``."""
    it = iter(leaves)
    return _build(it, spec)


def _build(it: Any, spec: Spec) -> Any:
    if spec.kind == "leaf":
        return next(it)
    kids = [_build(it, c) for c in spec.children]
    if spec.kind == "dict":
        return spec.type(zip(spec.keys, kids))
    if spec.kind == "namedtuple":
        return spec.type(*kids)
    return spec.type(kids)


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix: Any, tree: Any) -> list | None:
    """One entry of ``prefix`` per leaf of ``tree``, where ``prefix`` is a tree whose leaves stand
    for whole subtrees of ``tree`` (as vmap's ``in_dims``); None if the structures differ."""
    found = _children(prefix)
    if found is None:
        return [prefix] * tree_flatten(tree)[1].num_leaves
    kind, typ, keys, kids = found
    t = _children(tree)
    if t is None or t[0] != kind or t[2] != keys or len(t[3]) != len(kids):
        return None
    out: list = []
    for p, sub in zip(kids, t[3]):
        got = broadcast_prefix(p, sub)
        if got is None:
            return None
        out += got
    return out
