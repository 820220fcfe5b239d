"""ember.__version__ compares as a version, as torch's TorchVersion does (PEP 440 order)."""

import importlib.metadata

import pytest
import torch

import ember
from ember.torch_version import TorchVersion

OTHERS = [
    "2.0",
    (2, 0),
    (2, 13),
    (3,),
    "2.13",
    "2.13.0",
    "2.13.0a0",
    "2.13.0rc1",
    "2.13.0.post1",
    "2.14.0.dev20260101",
    "1.13.1",
    "10.0",
    "abc",
]


def test_version_is_torchs_release_with_embers_local_label():
    v = ember.__version__
    assert isinstance(v, TorchVersion) and isinstance(v, str)
    assert v == "2.13.0+ember.0.1.0" and v.split("+")[0] == torch.__version__.split("+")[0]
    assert ember.version.__version__ == v
    assert ember.version.ember == importlib.metadata.version("ember")
    assert hash(v) == hash(str(v))


@pytest.mark.parametrize("other", OTHERS, ids=str)
def test_comparisons_as_torchs(other):
    # torch's own version is 2.13.0+cpu: every comparison with another release agrees
    ours, theirs = ember.__version__, torch.__version__
    for op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__"):
        assert getattr(ours, op)(other) == getattr(theirs, op)(other), op


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("1.0.dev1", "1.0a1", True),
        ("1.0a1", "1.0b1", True),
        ("1.0rc1", "1.0", True),
        ("1.0", "1.0.post1", True),
        ("1.0+abc", "1.0+abd", True),
        ("1.0+1", "1.0+abc", False),
        ("1.0.0", "1.0", False),
    ],
)
def test_pep440_order(a, b, expected):
    assert (TorchVersion(a) < b) is expected
    assert (TorchVersion("1.0.0") == "1.0") is True


def test_comparing_with_a_number_raises_as_torch():
    with pytest.raises(TypeError):
        ember.__version__ >= 2.0  # noqa: B015
    with pytest.raises(TypeError):
        torch.__version__ >= 2.0  # noqa: B015
