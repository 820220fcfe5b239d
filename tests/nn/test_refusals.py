"""The deliberate refusals: features ember does not have raise a clear NotImplementedError
(PyTorch's type where PyTorch refuses too), never a crash or a silent wrong result."""

from __future__ import annotations

import pytest
import torch

import ember
import ember.nn.functional as F


def test_interpolate_antialias_is_refused_clearly() -> None:
    with pytest.raises(NotImplementedError, match="antialias=True"):
        F.interpolate(ember.randn(1, 1, 8, 8), size=4, mode="bilinear", antialias=True)


def test_interpolate_rank_error_matches_torch() -> None:
    with pytest.raises(NotImplementedError) as theirs:
        torch.nn.functional.interpolate(torch.randn(4, 4), size=2)
    with pytest.raises(NotImplementedError, match="Only 3D, 4D and 5D input") as ours:
        F.interpolate(ember.randn(4, 4), size=2)
    assert "got 2D" in str(theirs.value) and "got 2D" in str(ours.value)


def test_sparse_embedding_gradients_are_refused() -> None:
    with pytest.raises(NotImplementedError, match="sparse=False"):
        F.embedding(ember.tensor([0, 1]), ember.randn(3, 2), sparse=True)


def test_per_sample_weights_only_with_sum_as_torch() -> None:
    idx, w = [0, 1, 2, 1], (3, 2)
    with pytest.raises(NotImplementedError):
        torch.nn.functional.embedding_bag(
            torch.tensor(idx),
            torch.randn(*w),
            torch.tensor([0, 2]),
            mode="mean",
            per_sample_weights=torch.ones(4),
        )
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported"):
        F.embedding_bag(
            ember.tensor(idx),
            ember.randn(*w),
            ember.tensor([0, 2]),
            mode="mean",
            per_sample_weights=ember.ones(4),
        )


def test_norm_base_without_input_check_is_abstract() -> None:
    from ember.nn.modules.normalization import _NormBase

    class Bare(_NormBase):
        pass

    with pytest.raises(NotImplementedError):
        Bare(3)._check_input_dim(ember.zeros(2, 3))
