"""ember.utils._pytree against torch.utils._pytree: leaves, specs, rebuilding, mapping, errors."""

from collections import OrderedDict, defaultdict, deque, namedtuple

import pytest
import torch.utils._pytree as tp

import ember
import ember.utils._pytree as ep

Point = namedtuple("Point", "x y")


def _trees():
    return [
        1,
        None,
        [1, (2, 3)],
        {"b": [1, None], "a": Point(2, (3,))},
        OrderedDict(z=1, a=[2, 3]),
        defaultdict(list, {"k": 7, "j": [8]}),
        deque([1, [2]], maxlen=4),
        ((), [], {}),
    ]


@pytest.mark.parametrize("tree", _trees(), ids=lambda t: type(t).__name__)
def test_flatten_and_unflatten_as_torch(tree):
    leaves, spec = ep.tree_flatten(tree)
    t_leaves, t_spec = tp.tree_flatten(tree)
    assert leaves == t_leaves
    assert spec.num_leaves == t_spec.num_leaves
    assert ep.tree_unflatten(leaves, spec) == tp.tree_unflatten(t_leaves, t_spec)
    assert type(ep.tree_unflatten(leaves, spec)) is type(tree)
    assert ep.tree_leaves(tree) == tp.tree_leaves(tree)
    assert ep.tree_structure(tree) == spec
    assert list(ep.tree_iter(tree)) == list(tp.tree_iter(tree))


def test_deque_keeps_maxlen_and_defaultdict_its_factory():
    d = ep.tree_map(lambda x: x, deque([1, 2], maxlen=3))
    assert d.maxlen == 3
    dd = ep.tree_map(lambda x: x * 2, defaultdict(list, {"a": 1}))
    assert dd.default_factory is list and dd["a"] == 2


def test_tree_map_with_rests_and_is_leaf():
    a, b = {"p": [1, 2], "q": 3}, {"p": [10, 20], "q": 30}
    assert ep.tree_map(lambda x, y: x + y, a, b) == tp.tree_map(lambda x, y: x + y, a, b)
    is_leaf = lambda x: isinstance(x, list)  # noqa: E731
    assert ep.tree_map(len, a | {"q": [0]}, is_leaf=is_leaf) == tp.tree_map(
        len, a | {"q": [0]}, is_leaf=is_leaf
    )
    with pytest.raises(ValueError):
        ep.tree_map(lambda x, y: x, a, {"p": [1], "q": 3})


def test_map_only_any_all_with_tensors():
    tree = {"w": ember.ones(2), "n": 3, "b": [ember.zeros(1)]}
    doubled = ep.tree_map_only(ember.Tensor, lambda t: t * 2, tree)
    assert doubled["n"] == 3 and doubled["w"].tolist() == [2.0, 2.0]
    assert ep.tree_map_only((int,), lambda n: n + 1, tree)["n"] == 4
    assert ep.tree_map_only(lambda x: type(x) is int, lambda n: -n, tree)["n"] == -3
    assert ep.tree_map_only(int | float, lambda n: 0, tree)["n"] == 0
    assert ep.tree_any(lambda x: isinstance(x, int), tree)
    assert not ep.tree_all(lambda x: isinstance(x, ember.Tensor), tree)
    assert ep.tree_all(lambda x: x is not None, tree)


def test_register_pytree_node_as_torch():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    ep.register_pytree_node(Pair, lambda p: ([p.a, p.b], None), lambda v, _: Pair(*v))
    try:
        leaves, spec = ep.tree_flatten([Pair(1, Pair(2, 3))])
        assert leaves == [1, 2, 3]
        rebuilt = ep.tree_unflatten([4, 5, 6], spec)
        assert (rebuilt[0].a, rebuilt[0].b.a, rebuilt[0].b.b) == (4, 5, 6)
        with pytest.raises(ValueError, match="already registered"):
            ep.register_pytree_node(Pair, lambda p: ([], None), lambda v, _: Pair(0, 0))
    finally:
        del ep.SUPPORTED_NODES[Pair]


def test_unflatten_errors_as_torch():
    _, spec = ep.tree_flatten([1, 2])
    _, t_spec = tp.tree_flatten([1, 2])
    with pytest.raises(ValueError) as ours:
        ep.tree_unflatten([1, 2, 3], spec)
    with pytest.raises(ValueError) as theirs:
        tp.tree_unflatten([1, 2, 3], t_spec)
    head = "`leaves` has length 3 but the spec refers to a pytree that holds 2 items"
    assert head in str(ours.value) and head in str(theirs.value)
    with pytest.raises(TypeError, match="Expected `treespec` to be instance of TreeSpec"):
        ep.tree_unflatten([1], [1])


def test_pprint_and_lazy_attribute():
    spec = ep.tree_structure((1, [2, 3], {"a": 4}))
    assert ep.treespec_pprint(spec) == "(*, [*, *], {'a': *})"
    assert ember.utils._pytree.tree_map is ep.tree_map
    assert ep.LeafSpec().is_leaf() and ep.LeafSpec().num_leaves == 1
