"""Top-level odds and ends real programs use: torch.pi & co., set_default_tensor_type, and
pinned memory on a machine without an accelerator; each against torch."""

import math
import warnings

import pytest
import torch

import ember
from ember import _legacy


@pytest.mark.parametrize("name", ["pi", "e", "inf", "nan", "newaxis"])
def test_constants_are_torchs(name):
    ours, theirs = getattr(ember, name), getattr(torch, name)
    assert type(ours) is type(theirs)
    assert ours == theirs or (math.isnan(ours) and math.isnan(theirs))


def test_newaxis_indexes_as_none():
    x = ember.arange(3.0)
    assert x[ember.newaxis].shape == torch.arange(3.0)[torch.newaxis].shape


@pytest.fixture
def restore_default_dtype():
    yield
    ember.set_default_dtype(ember.float32)
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize(
    "arg",
    ["DoubleTensor", "FloatTensor", "HalfTensor", "'torch.DoubleTensor'", "'torch.HalfTensor'"],
)
def test_set_default_tensor_type_sets_the_dtype(arg, restore_default_dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (ember, torch):
            value = arg.strip("'") if arg.startswith("'") else getattr(lib, arg)
            lib.set_default_tensor_type(value)
    assert str(ember.get_default_dtype()) == str(torch.get_default_dtype()).replace(
        "torch", "ember"
    )
    assert ember.ones(1).dtype.name == str(torch.ones(1).dtype).split(".")[1]


def test_set_default_tensor_type_warns_once(restore_default_dtype, monkeypatch):
    monkeypatch.setattr(_legacy, "_warned", [False])
    with pytest.warns(UserWarning, match=r"set_default_tensor_type\(\) is deprecated"):
        ember.set_default_tensor_type(ember.FloatTensor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.set_default_tensor_type(ember.FloatTensor)


@pytest.mark.parametrize(
    "arg",
    [
        "'torch.cuda.FloatTensor'",
        "LongTensor",
        "'torch.IntTensor'",
        "'torch.ComplexFloatTensor'",
        "'torch.NoSuchTensor'",
        "'float'",
        "float64",
        "3",
    ],
)
def test_set_default_tensor_type_errors_as_torch(arg, restore_default_dtype):
    def value(lib):
        if arg.startswith("'"):
            return arg.strip("'")
        return int(arg) if arg.isdigit() else getattr(lib, arg)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            torch.set_default_tensor_type(value(torch))
        with pytest.raises(Exception) as ours:
            ember.set_default_tensor_type(value(ember))
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_pinned_memory_without_an_accelerator_as_torch():
    assert ember.ones(2).is_pinned() is torch.ones(2).is_pinned() is False
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2).pin_memory()
    with pytest.raises(RuntimeError) as ours:
        ember.ones(2).pin_memory()
    assert str(ours.value) == str(theirs.value)
