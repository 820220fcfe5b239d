"""The engine's structure: the arity-specialised branches of ``_apply_graph`` build the same
nodes as the general path, and the node fields are what the node-anatomy table says."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import function as F


def _t(shape=(2, 3), rg=True, seed=0):
    a = np.random.default_rng(seed).uniform(-1, 1, shape)
    return ember.tensor(a, requires_grad=rg)


def _nonleaf():
    return _t() * 1.0  # an edge (node, 0) rather than a leaf


def _second_output():
    return _t().max(0).values  # an edge (node, 0) of a two-output node


CALLS = {
    "unary_leaf": (ember.ops.unary.Exp, lambda: (_t(),)),
    "unary_nonleaf": (ember.ops.unary.Exp, lambda: (_nonleaf(),)),
    "scalar": (ember.ops.elementwise.MulScalar, lambda: (_t(), 2.0)),
    "two_tensors": (ember.ops.elementwise.Mul, lambda: (_t(), _nonleaf())),
    "left_constant": (ember.ops.elementwise.Mul, lambda: (_t(rg=False), _t())),
    "right_constant": (ember.ops.elementwise.Mul, lambda: (_second_output(), _t(rg=False))),
    "three_args": (ember.ops.elementwise.Where, lambda: (_t() > 0, _t(rg=False), _t())),
    "tensor_and_constants": (ember.ops.reduction.Sum, lambda: (_nonleaf(), (0,), True, None)),
    "tensor_later": (
        ember.ops.indexing.IndexPut,
        lambda: (_nonleaf(), (np.array([0]),), _t((3,)), False),
    ),
}


def _same_edge(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, ember.Tensor):
        return a is b
    return a[0] is b[0] and a[1] == b[1]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_specialised_branches_build_the_general_paths_graph(name):
    cls, make = CALLS[name]
    args = make()
    node = F._apply_graph(cls, args).grad_fn
    arrays, edges, nig = F._edges(args)
    assert len(node.next_edges) == len(edges) == len(args)
    assert all(_same_edge(a, b) for a, b in zip(node.next_edges, edges))
    assert tuple(node.needs_input_grad) == nig
    for a, arr in zip(args, arrays):
        assert arr is (a._data if isinstance(a, ember.Tensor) else a)


def test_edges_name_the_producing_output():
    x = _t()
    out = x.max(1)
    (_, edges, _) = F._edges((out.values, out.indices.double(), x))
    assert edges[0] == (out.values.grad_fn, 0)
    assert edges[1] is None  # indices never require grad
    assert edges[2] is x


def test_node_fields_documented_in_the_anatomy_table():
    # Every field a node may carry is in docs/architecture.md's "Node anatomy" table.
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    table = doc[doc.index("## Node anatomy") :]
    fields = {k for k in vars(F.FunctionCtx) if k.startswith("_") and not k.startswith("__")}
    fields -= {k for k, v in vars(F.FunctionCtx).items() if callable(v) or isinstance(v, property)}
    fields |= {"next_edges", "needs_input_grad", "_out_meta", "_fn", "_bw", "_metadata"}
    missing = sorted(f for f in fields if f"`{f}`" not in table)
    assert not missing, f"fields missing from the node anatomy table: {missing}"
