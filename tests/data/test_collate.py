"""default_collate / default_convert against torch's on the same sample structures."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate as t_collate
from torch.utils.data import default_convert as t_convert

import ember
from ember.utils.data import default_collate, default_convert

Point = namedtuple("Point", ["x", "y"])


def _to_ember(x):
    """The same sample with torch tensors replaced by ember tensors."""
    if isinstance(x, torch.Tensor):
        return ember.tensor(x.numpy())
    if isinstance(x, dict):
        return {k: _to_ember(v) for k, v in x.items()}
    if isinstance(x, Point):
        return Point(*(_to_ember(v) for v in x))
    if isinstance(x, tuple):
        return tuple(_to_ember(v) for v in x)
    if isinstance(x, list):
        return [_to_ember(v) for v in x]
    return x


def _same(e, t, path="batch"):
    """ember's result has torch's structure, types, dtypes and values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{path}: {type(e)}"
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), f"{path}: {e.dtype} {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), path
        np.testing.assert_array_equal(e.numpy(), t.numpy(), err_msg=path)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t), path
        for k in t:
            _same(e[k], t[k], f"{path}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t), f"{path}: {type(e)} vs {type(t)}"
        assert len(e) == len(t), path
        for i, (a, b) in enumerate(zip(e, t)):
            _same(a, b, f"{path}[{i}]")
    elif isinstance(t, np.ndarray):
        assert isinstance(e, np.ndarray) and e.dtype == t.dtype, path
        np.testing.assert_array_equal(e, t)
    else:
        assert type(e) is type(t) and e == t, f"{path}: {e!r} vs {t!r}"


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


BATCHES = {
    "tensors": [torch.tensor(_f32(3, seed=i)) for i in range(4)],
    "int-tensors": [torch.arange(3) + i for i in range(2)],
    "0d-tensors": [torch.tensor(float(i)) for i in range(3)],
    "numpy-arrays": [_f32(2, 2, seed=i) for i in range(3)],
    "numpy-int-arrays": [np.arange(3, dtype=np.int32) for _ in range(2)],
    "numpy-scalars": [np.float32(1.5), np.float32(2.5)],
    "numpy-int-scalars": [np.int16(1), np.int16(7)],
    "floats": [0.5, 1.25, -3.0],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bb", "c"],
    "tuples": [(torch.tensor(_f32(2, seed=i)), i, f"s{i}") for i in range(3)],
    "lists": [[torch.tensor([float(i)]), i] for i in range(3)],
    "dicts": [{"x": torch.tensor(_f32(3, seed=i)), "y": i, "name": "n"} for i in range(2)],
    "namedtuples": [Point(torch.tensor([float(i)]), i * 1.5) for i in range(3)],
    "nested": [
        {"img": _f32(2, seed=i), "meta": {"id": i, "tags": [i, i + 1]}, "pair": (1.0, True)}
        for i in range(3)
    ],
}


@pytest.mark.parametrize("name", list(BATCHES))
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    _same(default_collate(_to_ember(batch)), t_collate(batch))


@pytest.mark.parametrize(
    "sample",
    [
        _f32(3),
        np.float64(2.0),
        {"a": _f32(2), "b": "text", "c": [np.int64(3), 4]},
        (_f32(1), 2.0),
        Point(_f32(2), np.int32(5)),
        "plain",
    ],
    ids=["array", "np-scalar", "dict", "tuple", "namedtuple", "str"],
)
def test_default_convert_matches_torch(sample):
    _same(default_convert(_to_ember(sample)), t_convert(sample))


def test_default_convert_shares_numpy_memory():
    a = np.zeros(3, np.float32)
    t = default_convert(a)
    a[0] = 5
    assert t[0].item() == 5


def test_collate_errors():
    with pytest.raises(
        RuntimeError,
        match="stack expects each tensor to be equal size, but got "
        r"\[2\] at entry 0 and \[3\] at entry 1",
    ):
        default_collate([ember.zeros(2), ember.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_keeps_graph_when_samples_require_grad():
    a = ember.ones(2, requires_grad=True)
    out = default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])
