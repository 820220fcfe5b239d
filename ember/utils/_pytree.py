"""Nested containers as trees of leaves: flatten, rebuild, map (PyTorch's ``torch.utils._pytree``).

Private in PyTorch but imported by many libraries (and used by ``ember.func``). Tuples, lists,
dicts, ``OrderedDict``, ``defaultdict``, ``deque`` and namedtuples are containers, as are the
types given to :func:`register_pytree_node`; anything else (``None`` and Tensors included) is a
leaf. Dicts keep their insertion order.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from types import UnionType
from typing import Any, NamedTuple

__all__ = [
    "TreeSpec",
    "LeafSpec",
    "register_pytree_node",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_iter",
    "tree_map",
    "tree_map_only",
    "tree_any",
    "tree_all",
    "treespec_pprint",
]

FlattenFn = Callable[[Any], tuple[list, Any]]
UnflattenFn = Callable[[Iterable, Any], Any]


class NodeDef(NamedTuple):
    """How to take a container type apart (children and a context) and put it back."""

    type: type
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn


SUPPORTED_NODES: dict[type, NodeDef] = {}


def register_pytree_node(
    cls: type,
    flatten_fn: FlattenFn,
    unflatten_fn: UnflattenFn,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: Callable | None = None,
    from_dumpable_context: Callable | None = None,
    flatten_with_keys_fn: Callable | None = None,
) -> None:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``. The serialization and key-path arguments are
    accepted for PyTorch's signature; ember does not serialize specs."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn)


def _dict_flatten(d: dict) -> tuple[list, Any]:
    return list(d.values()), list(d.keys())


def _defaultdict_flatten(d: defaultdict) -> tuple[list, Any]:
    return list(d.values()), [d.default_factory, list(d.keys())]


def _defaultdict_unflatten(values: Iterable, context: Any) -> defaultdict:
    factory, keys = context
    return defaultdict(factory, zip(keys, values))


def _namedtuple_unflatten(values: Iterable, context: Any) -> Any:
    return context(*values)


register_pytree_node(tuple, lambda t: (list(t), None), lambda v, _: tuple(v))
register_pytree_node(list, lambda t: (list(t), None), lambda v, _: list(v))
register_pytree_node(dict, _dict_flatten, lambda v, keys: dict(zip(keys, v)))
register_pytree_node(OrderedDict, _dict_flatten, lambda v, keys: OrderedDict(zip(keys, v)))
register_pytree_node(defaultdict, _defaultdict_flatten, _defaultdict_unflatten)
register_pytree_node(deque, lambda d: (list(d), d.maxlen), lambda v, n: deque(v, maxlen=n))


# Every namedtuple class shares one node definition, its class kept as the context.
_NAMEDTUPLE = type("namedtuple", (), {})
SUPPORTED_NODES[_NAMEDTUPLE] = NodeDef(
    _NAMEDTUPLE, lambda t: (list(t), type(t)), _namedtuple_unflatten
)


def _node_type(tree: Any) -> type | None:
    """The registered container type of ``tree`` (namedtuples by their fields), or None."""
    t = type(tree)
    if t in SUPPORTED_NODES:
        return t
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return _NAMEDTUPLE
    return None


class TreeSpec:
    """The shape of a tree: the container ``type`` (None for a leaf), its ``context`` (dict
    keys, a namedtuple's class, ...) and one spec per child."""

    __slots__ = ("type", "context", "children_specs", "num_leaves")

    def __init__(self, type: Any, context: Any, children_specs: list[TreeSpec]) -> None:  # noqa: A002
        self.type, self.context, self.children_specs = type, context, children_specs
        self.num_leaves = 1 if type is None else sum(c.num_leaves for c in children_specs)

    @property
    def num_children(self) -> int:
        return len(self.children_specs)

    def is_leaf(self) -> bool:
        return self.type is None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreeSpec)
            and (self.type, self.context) == (other.type, other.context)
            and self.children_specs == other.children_specs
        )

    def __repr__(self) -> str:
        if self.type is None:
            return "*"
        kids = ", ".join(map(repr, self.children_specs))
        return f"TreeSpec({self.type.__name__}, {self.context}, [{kids}])"

    def pprint(self) -> str:
        """The short form PyTorch prints in some messages: ``(*, [*, *])``."""
        if self.type is None:
            return "*"
        kids = [c.pprint() for c in self.children_specs]
        if issubclass(self.type, dict):
            keys = self.context[1] if self.type is defaultdict else self.context
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(keys, kids)) + "}"
        if self.type is list:
            return "[" + ", ".join(kids) + "]"
        return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        return tree_unflatten(leaves, self)


def LeafSpec() -> TreeSpec:  # noqa: N802 - PyTorch's name (a class there)
    """The spec of a single leaf."""
    return TreeSpec(None, None, [])


def _flatten(tree: Any, is_leaf: Callable[[Any], bool] | None, leaves: list) -> TreeSpec:
    node = None if is_leaf is not None and is_leaf(tree) else _node_type(tree)
    if node is None:
        leaves.append(tree)
        return LeafSpec()
    children, context = SUPPORTED_NODES[node].flatten_fn(tree)
    return TreeSpec(node, context, [_flatten(c, is_leaf, leaves) for c in children])


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` in order, and its spec (``is_leaf`` stops the descent early)."""
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> Any:
    """Rebuild a tree of ``treespec``'s shape from ``leaves``."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of "
            f"TreeSpec but got item of type {type(treespec)}."
        )
    leaves = list(leaves)
    if len(leaves) != treespec.num_leaves:
        raise ValueError(
            f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
            f"refers to a pytree that holds {treespec.num_leaves} items ({treespec})."
        )
    return _build(iter(leaves), treespec)


def _build(it: Iterator[Any], spec: TreeSpec) -> Any:
    if spec.type is None:
        return next(it)
    kids = [_build(it, c) for c in spec.children_specs]
    return SUPPORTED_NODES[spec.type].unflatten_fn(kids, spec.context)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree``, in order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> Iterator[Any]:
    """An iterator over the leaves of ``tree``."""
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> TreeSpec:
    """The spec of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(
    func: Callable[..., Any],
    tree: Any,
    *rests: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``tree`` with each leaf replaced by ``func(leaf, *matching leaves of rests)``; the
    ``rests`` must have ``tree``'s structure."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_flatten_as(spec, r) for r in rests]
    return tree_unflatten([func(*xs) for xs in zip(leaves, *others)], spec)


def _flatten_as(spec: TreeSpec, tree: Any) -> list[Any]:
    leaves, other = tree_flatten(tree, lambda _: False)
    if other != spec:
        raise ValueError(f"Tree structure mismatch: expected {spec}, got {other}")
    return leaves


def _predicate(types_or_pred: Any) -> Callable[[Any], bool]:
    if isinstance(types_or_pred, (type, tuple, UnionType)):
        return lambda x: isinstance(x, types_or_pred)
    return types_or_pred


def tree_map_only(
    type_or_types_or_pred: Any,
    /,
    func: Callable[[Any], Any],
    tree: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``tree_map`` applied only to the leaves of the given type(s) (or passing a predicate)."""
    pred = _predicate(type_or_types_or_pred)
    return tree_map(lambda x: func(x) if pred(x) else x, tree, is_leaf=is_leaf)


def tree_any(
    pred: Callable[[Any], bool], tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> bool:
    """True when ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all(
    pred: Callable[[Any], bool], tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> bool:
    """True when ``pred`` holds for every leaf."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def treespec_pprint(treespec: TreeSpec) -> str:
    """The short form of a spec: ``(*, [*, *])``."""
    return treespec.pprint()
