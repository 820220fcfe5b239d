"""ember.finfo / ember.iinfo against torch's: every attribute, the repr, equality and the errors."""

import pytest
import torch

import ember

FLOATS = ["float16", "float32", "float64", "bfloat16", "complex64", "complex128"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
FINFO_ATTRS = ["bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"]


@pytest.mark.parametrize("name", FLOATS)
def test_finfo_matches_torch(name):
    ours, theirs = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in FINFO_ATTRS:
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", INTS)
def test_iinfo_matches_torch(name):
    ours, theirs = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    for attr in ["bits", "max", "min", "dtype"]:
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    assert repr(ours) == repr(theirs)


def test_finfo_default_dtype_follows_set_default_dtype():
    assert ember.finfo().dtype == "float32"
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.finfo() == ember.finfo(ember.float64)
    finally:
        ember.set_default_dtype(ember.float32)


def test_equality_and_read_only():
    assert ember.finfo(ember.float32) == ember.finfo(ember.complex64)
    assert ember.finfo(ember.float32) != ember.finfo(ember.float64)
    assert ember.iinfo(ember.int8) == ember.iinfo(ember.int8)
    with pytest.raises(AttributeError, match="not writable"):
        ember.finfo(ember.float32).eps = 1.0
    with pytest.raises(TypeError, match="unhashable"):
        hash(ember.finfo(ember.float32))


@pytest.mark.parametrize(
    "fn, arg",
    [
        ("finfo", "int32"),
        ("finfo", "bool"),
        ("iinfo", "float32"),
        ("iinfo", "complex64"),
        ("iinfo", "bool"),
    ],
)
def test_wrong_kind_of_dtype_raises_as_torch(fn, arg):
    with pytest.raises(TypeError) as theirs:
        getattr(torch, fn)(getattr(torch, arg))
    with pytest.raises(TypeError) as ours:
        getattr(ember, fn)(getattr(ember, arg))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("fn, arg", [("finfo", "float32"), ("finfo", 3), ("iinfo", None)])
def test_non_dtype_argument_raises_as_torch(fn, arg):
    with pytest.raises(TypeError) as theirs:
        getattr(torch, fn)(arg)
    with pytest.raises(TypeError) as ours:
        getattr(ember, fn)(arg)
    assert str(ours.value) == str(theirs.value)


def test_finfo_values_in_use():
    # The common idioms: eps as a stabiliser, min as a mask fill value.
    x = ember.zeros(3)
    assert (x + ember.finfo(x.dtype).eps > 0).all()
    filled = ember.ones(2, 2).masked_fill(ember.eye(2).bool(), ember.finfo(ember.float32).min)
    assert filled[0, 0].item() == torch.finfo(torch.float32).min
