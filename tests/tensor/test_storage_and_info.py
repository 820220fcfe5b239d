"""``untyped_storage``/``storage``, ``data_ptr``, ``nbytes``/``itemsize``/``element_size``,
``Tensor.new``, ``is_nonzero`` and ``is_inference``, against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember


def _pair(fn):
    return fn(ember), fn(torch)


VIEWS = [
    lambda m, x: x[1],
    lambda m, x: x[:, 1:],
    lambda m, x: x.t(),
    lambda m, x: x.view(6),
    lambda m, x: x.unfold(1, 2, 1),
]


@pytest.mark.parametrize("view", VIEWS)
def test_views_share_the_storage_of_their_base(view):
    for m in (ember, torch):
        x = m.arange(6.0).reshape(2, 3)
        v = view(m, x)
        assert v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr() == x.data_ptr()
        assert v.untyped_storage().nbytes() == 24
    assert ember.arange(3.0).clone().untyped_storage().data_ptr() != ember.arange(3.0).data_ptr()


def test_untyped_storage_bytes_match_torch():
    e, t = _pair(lambda m: m.tensor([1.0, -2.5], dtype=m.float64)[1:].untyped_storage())
    assert len(e) == len(t) == e.size() == t.size() == 16
    assert e.tolist() == t.tolist() and e[9] == t[9] and e.element_size() == t.element_size()
    assert str(e.device) == "cpu" and not e.is_shared() and e.cpu() is e


def test_typed_storage_warns_and_matches_torch():
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        e = ember.arange(6, dtype=ember.int32)[2:].storage()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.arange(6, dtype=torch.int32)[2:].storage()
    assert e.tolist() == t.tolist() and len(e) == len(t) and e[3] == t[3]
    assert e.dtype is ember.int32 and e.element_size() == t.element_size() == 4
    assert e.nbytes() == t.nbytes() and e.untyped().nbytes() == 24
    assert isinstance(e, ember.TypedStorage) and isinstance(e.untyped(), ember.UntypedStorage)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int8", "bool"])
def test_sizes_in_bytes(dtype):
    e = ember.ones(2, 3, dtype=getattr(ember, dtype))[1]
    t = torch.ones(2, 3, dtype=getattr(torch, dtype))[1]
    assert (e.nbytes, e.itemsize, e.element_size()) == (t.nbytes, t.itemsize, t.element_size())


NEW = [
    lambda m, x: x.new(),
    lambda m, x: x.new(2, 3),
    lambda m, x: x.new(m.Size([4])),
    lambda m, x: x.new([1, 2]),
    lambda m, x: x.new((2, 1)),
    lambda m, x: x.new(np.arange(3)),
]


@pytest.mark.parametrize("make", NEW)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_new_matches_torch(make, dtype):
    e = make(ember, ember.ones(2, dtype=getattr(ember, dtype)))
    t = make(torch, torch.ones(2, dtype=getattr(torch, dtype)))
    assert tuple(e.shape) == tuple(t.shape) and e.dtype.name == str(t.dtype)[6:]
    if t.numel() and make not in (NEW[1], NEW[2]):  # new(sizes) is uninitialised
        assert e.tolist() == t.tolist()


def test_new_from_a_tensor_shares_it():
    src = ember.arange(3.0)
    out = ember.ones(1).new(src)
    out[0] = 7.0
    assert src[0].item() == 7.0
    with pytest.raises(TypeError):
        torch.ones(1).new(torch.arange(3))
    with pytest.raises(TypeError):
        ember.ones(1).new(ember.arange(3))


@pytest.mark.parametrize("value", [[0.0], [3], [True], [[-0.0]], 2.5])
def test_is_nonzero(value):
    e, t = _pair(lambda m: m.tensor(value).is_nonzero())
    assert e == t


def test_is_inference_is_false():
    with torch.inference_mode():
        assert torch.ones(1).requires_grad_(False).is_inference()
    assert ember.ones(2).is_inference() is False
    assert torch.ones(2).is_inference() is False
