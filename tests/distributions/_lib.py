"""Shared helpers: the same distribution built in ember and in torch from NumPy parameters,
and comparisons of tensors (values and gradients) between the two."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import ember


def to_lib(lib: Any, value: Any, grad: bool = False) -> Any:
    """``value`` (NumPy array or Python number) as a tensor of ``lib`` (numbers stay numbers)."""
    if isinstance(value, np.ndarray):
        t = lib.tensor(value.copy())
        if grad and value.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return value


def build(lib: Any, name: str, params: dict, grad: bool = False, **kw: Any) -> tuple:
    """``lib.distributions.<name>(**params)`` and the tensors it was given (for gradients)."""
    tensors = {k: to_lib(lib, v, grad) for k, v in params.items()}
    dist = getattr(lib.distributions, name)(**tensors, **kw)
    return dist, tensors


def np_of(t: Any) -> np.ndarray:
    if isinstance(t, ember.Tensor):
        return np.asarray(t.detach().numpy())
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def assert_same(e: Any, t: Any, rtol: float = 1e-6, atol: float = 1e-8, what: str = "") -> None:
    """Same shape, dtype kind and values (NaN/inf positions included)."""
    a, b = np_of(e), np_of(t)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    assert a.dtype == b.dtype or (a.dtype.kind == b.dtype.kind), f"{what}: {a.dtype} vs {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what, equal_nan=True)


def grads_of(out: Any, tensors: dict) -> dict:
    """Gradients of ``out.sum()`` with respect to the floating tensors in ``tensors``."""
    leaves = {k: v for k, v in tensors.items() if getattr(v, "requires_grad", False)}
    if not leaves:
        return {}
    for v in leaves.values():
        v.grad = None
    out.sum().backward()
    return {k: v.grad for k, v in leaves.items()}


def assert_same_grads(e_out, e_tensors, t_out, t_tensors, rtol=1e-6, atol=1e-8, what=""):
    ge, gt = grads_of(e_out, e_tensors), grads_of(t_out, t_tensors)
    assert set(ge) == set(gt)
    for k in gt:
        assert (ge[k] is None) == (gt[k] is None), f"{what}: grad of {k} None-ness"
        if gt[k] is not None:
            assert_same(ge[k], gt[k], rtol, atol, f"{what}: grad of {k}")
