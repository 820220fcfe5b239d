"""``torch.nn.modules.<file>.<Class>`` paths that programs import resolve to ember's classes."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch  # noqa: F401 - the specification of the layout

import ember.nn
import ember.nn.modules.normalization as norm

FILES = [
    "activation",
    "linear",
    "conv",
    "transformer",
    "rnn",
    "loss",
    "batchnorm",
    "normalization",
    "pooling",
    "dropout",
    "sparse",
    "container",
    "module",
    "instancenorm",
    "pixelshuffle",
    "flatten",
    "fold",
    "distance",
]
# in PyTorch's files but not in ember at all (listed in docs/differences.md)
# (NonDynamicallyQuantizableLinear is there, but, as in torch, not exported as ``nn.X``.)
ABSENT = {"NonDynamicallyQuantizableLinear", "NLLLoss2d", "LinearCrossEntropyLoss", "CrossMapLRN2d"}


def test_out_proj_class_lives_in_linear_as_in_torch() -> None:
    """word_language_model lists ``torch.nn.modules.linear.NonDynamicallyQuantizableLinear``."""
    from ember.nn.modules import linear

    cls = linear.NonDynamicallyQuantizableLinear
    assert issubclass(cls, ember.nn.Linear)
    assert isinstance(ember.nn.MultiheadAttention(8, 2).out_proj, cls)
    torch_cls = torch.nn.modules.linear.NonDynamicallyQuantizableLinear
    assert isinstance(torch.nn.MultiheadAttention(8, 2).out_proj, torch_cls)


def _torch_classes(file: str, private: bool) -> list:
    mod = importlib.import_module(f"torch.nn.modules.{file}")
    return [
        n
        for n, v in vars(mod).items()
        if inspect.isclass(v) and v.__module__ == mod.__name__ and n.startswith("_") == private
    ]


@pytest.mark.parametrize("file", FILES)
def test_public_classes_are_ember_nn_classes(file: str) -> None:
    names = [n for n in _torch_classes(file, private=False) if n not in ABSENT]
    assert names
    mod = importlib.import_module(f"ember.nn.modules.{file}")
    for n in names:
        assert getattr(mod, n) is getattr(ember.nn, n), f"ember.nn.modules.{file}.{n}"


@pytest.mark.parametrize("file", FILES)
def test_private_base_classes_exist(file: str) -> None:
    mod = importlib.import_module(f"ember.nn.modules.{file}")
    skip = {"_ConvTransposeMixin", "_LazyConvXdMixin", "_WrappedHook"}
    for n in _torch_classes(file, private=True):
        if n not in skip:
            assert inspect.isclass(getattr(mod, n)), f"ember.nn.modules.{file}.{n}"


def test_the_imports_real_programs_write() -> None:
    from ember.nn.modules.activation import MultiheadAttention
    from ember.nn.modules.batchnorm import BatchNorm2d, _BatchNorm
    from ember.nn.modules.conv import LazyConv2d
    from ember.nn.modules.loss import CTCLoss
    from ember.nn.modules.module import Module, _IncompatibleKeys

    assert MultiheadAttention is ember.nn.MultiheadAttention
    assert _BatchNorm is norm._BatchNorm and issubclass(BatchNorm2d, _BatchNorm)
    assert LazyConv2d is ember.nn.LazyConv2d and CTCLoss is ember.nn.CTCLoss
    assert Module is ember.nn.Module
    result = ember.nn.Linear(1, 1).load_state_dict(ember.nn.Linear(1, 1).state_dict())
    assert isinstance(result, _IncompatibleKeys)


def test_absent_classes_are_really_absent() -> None:
    # when ember gains one, it moves out of ABSENT and the layout test covers it
    assert not [n for n in ABSENT if hasattr(ember.nn, n)]
