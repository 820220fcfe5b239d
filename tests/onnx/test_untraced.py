"""A value that depends on the inputs but bypasses the tracer is refused, never frozen."""

from __future__ import annotations

import io

import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.nn.functional import relu as relu_imported_at_top

from ._lib import assert_same


class StoredFunction(nn.Module):
    """``self.act = F.relu``: the reference is taken before the export wraps ``F.relu``; the
    Linear then sees no traced input either, so the untraced value reaches the output."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = F.relu

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.fc(self.act(x))


class TopImport(nn.Module):
    """``from ember.nn.functional import relu`` at the top of the model's file."""

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return x * 2.0 - relu_imported_at_top(x)


def _export(model: nn.Module, *args: ember.Tensor) -> None:
    ember.onnx.export(model, args, io.BytesIO())


def test_stored_function_raises_naming_its_consumer() -> None:
    with pytest.raises(ember.onnx.ExportError, match="the model's output consumed a value") as e:
        _export(StoredFunction(), ember.randn(2, 4))
    assert "self.act = F.relu" in str(e.value) and "frozen as a constant" in str(e.value)


def test_function_imported_at_module_top_raises() -> None:
    with pytest.raises(ember.onnx.ExportError, match="'Tensor.__sub__' consumed a value"):
        _export(TopImport(), ember.randn(2, 4))


def test_untraced_value_meeting_a_traced_one_names_the_operation() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = F.relu

        def forward(self, x):
            return self.fc(x) + self.act(x)

    with pytest.raises(ember.onnx.ExportError, match="'Tensor.__add__' consumed a value"):
        _export(Residual(), ember.randn(2, 4))


def test_value_read_with_item_raises() -> None:
    class Item(nn.Module):
        def forward(self, x):
            return x / x.abs().sum().item()

    with pytest.raises(ember.onnx.ExportError, match="'Tensor.__truediv__'"):
        _export(Item(), ember.randn(2, 4))


def test_integer_input_through_stored_function_raises() -> None:
    class Emb(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(ember.randn(10, 3))
            self.lookup = F.embedding

        def forward(self, idx):
            return self.lookup(idx, self.weight).sum(dim=1)

    with pytest.raises(ember.onnx.ExportError, match="the model's output"):
        _export(Emb(), ember.tensor([[1, 2, 3], [4, 5, 6]]))


class Constants(nn.Module):
    """Constants that do not depend on the inputs: still exported, and right."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(ember.randn(5))
        self.noise_std = 0.0

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        pos = ember.arange(5).float()  # fixed size
        mask = (self.scale > 0).float()  # from a parameter
        causal = ember.ones(5, 5).tril()
        noise = ember.randn(5) * self.noise_std  # random draws are replayed in the second trace
        return (x + pos) * mask @ causal + noise


def test_input_independent_constants_still_export() -> None:
    assert_same(Constants(), (ember.randn(3, 5),))


def test_random_constant_is_replayed_not_refused() -> None:
    m = Constants()
    m.noise_std = 1.0
    ember.manual_seed(0)
    _export(m, ember.randn(3, 5))  # the same draws in both traces: accepted


def test_repeated_input_keeps_aliasing() -> None:
    m = nn.MultiheadAttention(4, 2)
    x = ember.randn(3, 2, 4)
    assert_same(m, (x, x, x))


def test_sorted_lengths_fall_back_to_unpermuted_integers() -> None:
    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x, lengths):
            # descending lengths are required: reversing them would fail the second trace
            n = lengths.tolist()
            if n != sorted(n, reverse=True):
                raise ValueError("lengths must be sorted in decreasing order")
            return self.fc(x)

    assert_same(Packed(), (ember.randn(2, 3), ember.tensor([3, 1])))
