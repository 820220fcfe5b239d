"""``GraphArray``: NumPy's API over recorded ember ops (what backward formulas run on under
create_graph). Every translation gives NumPy's value and records; anything else is refused."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops._graph_array import GraphArray

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
MASK = A > 0

EXPRESSIONS = {
    "arithmetic": lambda a: (a + 1) * 2 - a / 3 + 1 / (a + 5) - (2 - a) ** 2 + 2.0**a,
    "ufuncs": lambda a: np.exp(a) + np.sin(a) * np.cos(a) + np.tanh(a) + np.sqrt(np.abs(a) + 1),
    "constants": lambda a: a * np.sign(a) + np.floor(a) * a + np.float32(0.5) * a,
    "where_mask": lambda a: np.where(MASK, a, 0) + np.where(a > 1, 0, a),
    "max_min": lambda a: np.maximum(a, 0.3) + np.minimum(0.1, a) + np.arctan2(a, 2.0),
    "reductions": lambda a: a.sum(axis=1, keepdims=True) + a.sum(0) + np.sum(a, axis=(0, 1)),
    "shapes": lambda a: a.reshape(3, 2).T.transpose(1, 0).reshape(-1)[::2],
    "axes": lambda a: np.moveaxis(np.expand_dims(a, 0), 0, 2).sum(2) + np.swapaxes(a.T, 0, 1),
    "broadcast": lambda a: np.broadcast_to(a[:, :1], (2, 3)) * a,
    "flip_roll_pad": lambda a: (
        np.flip(a, 1) + np.roll(a, 1, 0) + np.pad(a, [(0, 0), (1, 0)])[:, :3]
    ),
    "split_concat": lambda a: np.concatenate(np.split(a, [1, 2], axis=1)[::-1], axis=1),
    "cumulative": lambda a: np.cumsum(a, axis=1) + np.cumprod(a + 2, axis=0),
    "take_index": lambda a: np.take(a, [2, 0], axis=1).sum() + a[np.array([1, 1, 0])].sum(),
    "matmul": lambda a: a @ a.T + np.matmul(A, a.T),
    "astype": lambda a: a.astype(np.float32).astype(np.float64) * 2,
}


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_translations_give_numpys_values_and_record(name):
    fn = EXPRESSIONS[name]
    t = ember.tensor(A.copy(), requires_grad=True)
    out = fn(GraphArray(t))
    assert isinstance(out, GraphArray)
    np.testing.assert_allclose(out.t.detach().numpy(), fn(A.copy()), rtol=1e-6)
    assert out.t.requires_grad


def test_setitem_on_a_fresh_copy_records_the_write():
    t = ember.tensor(A.copy(), requires_grad=True)
    a = GraphArray(t).copy()
    a[0, 1] = 0
    expected = A.copy()
    expected[0, 1] = 0
    np.testing.assert_array_equal(a.t.detach().numpy(), expected)
    (g,) = ember.autograd.grad(a.t.sum(), t)
    assert g.tolist() == [[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]


@pytest.mark.parametrize(
    "bad",
    [
        lambda a: np.asarray(a),
        lambda a: float(a.sum()),
        lambda a: np.sort(a),
        lambda a: np.add(a, 1, out=np.zeros((2, 3))),
        lambda a: np.add.at(np.zeros((2, 3)), (0,), a),
    ],
)
def test_untranslated_operations_are_refused(bad):
    a = GraphArray(ember.tensor(A.copy(), requires_grad=True))
    with pytest.raises(TypeError):
        bad(a)
