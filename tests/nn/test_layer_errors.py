"""A layer names itself in an error (``nn/modules/_errors.py``): the pooling, normalisation,
embedding, RNN and attention layers raise PyTorch's exception type, with the functional op's
message and `` (in <the layer's repr>)`` appended."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import ember


def _raise(lib: Any, layer: str, args: tuple, make_inputs: Any) -> BaseException:
    """The exception the layer ``lib.nn.<layer>(*args)`` raises on ``make_inputs(lib)``."""
    module = getattr(lib.nn, layer)(*args)
    with pytest.raises(Exception) as info:
        module(*make_inputs(lib))
    return info.value, module


def _check(layer: str, args: tuple, make_inputs: Any) -> None:
    (err, module), (want, _) = (
        _raise(ember, layer, args, make_inputs),
        _raise(torch, layer, args, make_inputs),
    )
    assert type(err) is type(want)
    assert str(err).endswith(f" (in {module!r})")


@pytest.mark.parametrize(
    "layer,args,make_inputs",
    [
        ("MaxPool2d", (2,), lambda m: (m.randn(2),)),
        ("AvgPool2d", (3,), lambda m: (m.randn(1, 1, 2, 2),)),
        ("AvgPool1d", (3,), lambda m: (m.randn(1, 1, 2),)),
        ("AdaptiveAvgPool2d", (2,), lambda m: (m.randn(3),)),
        ("AdaptiveMaxPool1d", (2,), lambda m: (m.randn(3),)),
        ("MaxUnpool1d", (2,), lambda m: (m.randn(1, 1, 2), m.tensor([[[0, 9]]]))),
    ],
)
def test_pooling_layers_name_themselves(layer: str, args: tuple, make_inputs: Any) -> None:
    _check(layer, args, make_inputs)


@pytest.mark.parametrize(
    "layer,args,make_inputs",
    [
        ("BatchNorm1d", (3,), lambda m: (m.randn(4, 5),)),
        ("InstanceNorm1d", (3,), lambda m: (m.randn(2),)),
        ("LayerNorm", (4,), lambda m: (m.randn(2, 3),)),
        ("GroupNorm", (2, 4), lambda m: (m.randn(2, 3),)),
        ("RMSNorm", (4,), lambda m: (m.randn(2, 3),)),
        ("LocalResponseNorm", (2,), lambda m: (m.randn(3),)),
    ],
)
def test_normalization_layers_name_themselves(layer: str, args: tuple, make_inputs: Any) -> None:
    _check(layer, args, make_inputs)


@pytest.mark.parametrize(
    "layer,args,make_inputs",
    [
        ("Embedding", (3, 2), lambda m: (m.tensor([5]),)),
        ("Embedding", (3, 2), lambda m: (m.randn(2),)),
        ("EmbeddingBag", (3, 2), lambda m: (m.tensor([5]),)),
    ],
)
def test_embedding_layers_name_themselves(layer: str, args: tuple, make_inputs: Any) -> None:
    _check(layer, args, make_inputs)


@pytest.mark.parametrize(
    "layer,args,make_inputs",
    [
        ("RNN", (3, 4), lambda m: (m.randn(5, 2, 7),)),
        ("LSTM", (3, 4), lambda m: (m.randn(5, 2, 7),)),
        ("GRU", (3, 4, 2), lambda m: (m.randn(5, 2, 3), m.zeros(1, 2, 4))),
        ("RNNCell", (3, 4), lambda m: (m.randn(2, 5),)),
        ("LSTMCell", (3, 4), lambda m: (m.randn(2, 5),)),
        ("GRUCell", (3, 4), lambda m: (m.randn(2, 5),)),
    ],
)
def test_rnn_layers_name_themselves(layer: str, args: tuple, make_inputs: Any) -> None:
    _check(layer, args, make_inputs)


@pytest.mark.parametrize(
    "make_inputs",
    [
        lambda m: (m.randn(3, 2, 5),) * 3,  # the wrong embedding size
        lambda m: (m.randn(3, 2, 4), m.randn(4, 2, 4), m.randn(3, 2, 4)),  # key/value lengths
    ],
)
def test_attention_layer_names_itself(make_inputs: Any) -> None:
    _check("MultiheadAttention", (4, 2), make_inputs)


def test_innermost_layer_is_named_once() -> None:
    inner = ember.nn.LayerNorm(4)
    outer = ember.nn.Sequential(ember.nn.Linear(3, 3), inner)
    with pytest.raises(RuntimeError) as info:
        outer(ember.randn(2, 3))
    assert str(info.value).count(" (in ") == 1 and str(info.value).endswith(f"(in {inner!r})")
