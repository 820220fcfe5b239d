"""The pytree helpers of ``ember.func``: ``ember.utils._pytree`` (PyTorch's pytree) plus the
prefix broadcast that vmap's ``in_dims`` and ``out_dims`` need."""

from __future__ import annotations

from typing import Any

from ..utils._pytree import (
    SUPPORTED_NODES,
    TreeSpec,
    _node_type,
    tree_flatten,
    tree_map,
    tree_unflatten,
)

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "TreeSpec", "broadcast_prefix"]


def broadcast_prefix(prefix: Any, tree: Any) -> list | None:
    """One entry of ``prefix`` per leaf of ``tree``, where ``prefix`` is a tree whose leaves stand
    for whole subtrees of ``tree`` (as vmap's ``in_dims``); None if the structures differ."""
    node = _node_type(prefix)
    if node is None:
        return [prefix] * tree_flatten(tree)[1].num_leaves
    kids, context = SUPPORTED_NODES[node].flatten_fn(prefix)
    if _node_type(tree) is not node:
        return None
    tree_kids, tree_context = SUPPORTED_NODES[node].flatten_fn(tree)
    if tree_context != context or len(tree_kids) != len(kids):
        return None
    out: list = []
    for p, sub in zip(kids, tree_kids):
        got = broadcast_prefix(p, sub)
        if got is None:
            return None
        out += got
    return out
