"""Shared helpers: compare ember and torch pytrees, compare errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close

RNG = np.random.default_rng(0)
X = RNG.standard_normal(3)
Y = RNG.standard_normal((2, 3))
BATCH = RNG.standard_normal((4, 3))


def close_tree(e, t, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """Same containers (tuple/list/dict keys), same tensors, same requires_grad."""
    if isinstance(t, dict):
        assert isinstance(e, dict) and list(e) == list(t)
        for k in t:
            close_tree(e[k], t[k], rtol, atol)
    elif isinstance(t, (tuple, list)):
        assert type(e) is type(t) and len(e) == len(t), (type(e), type(t))
        for a, b in zip(e, t):
            close_tree(a, b, rtol, atol)
    elif isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor)
        assert_close(e, t, rtol=rtol, atol=atol)
        assert e.requires_grad == t.requires_grad
    else:
        assert e == t


def words(message: str) -> str:
    return "".join(message.replace("ember.", "torch.").replace("ember", "torch").split())


def same_error(fn) -> None:
    """``fn(ember_or_torch)`` raises the same exception type and message in both."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(type(te.value)) as ee:
        fn(ember)
    assert words(str(ee.value)) == words(str(te.value))


def both(build):
    """``build(lib)`` for ember and torch."""
    return build(ember), build(torch)
