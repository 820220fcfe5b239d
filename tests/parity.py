"""The parity harness: run an ember call and the matching torch call on the same inputs and
compare shapes, dtypes, values and the gradient of every input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import ember

__all__ = [
    "to_torch",
    "to_numpy",
    "assert_close",
    "check_op",
    "copy_weights",
    "rand_array",
]


def to_numpy(x: Any) -> np.ndarray:
    """The values of an ember or torch tensor (or array) as a NumPy array."""
    if isinstance(x, ember.Tensor):
        return np.array(x._data)
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    return np.asarray(x)


def to_torch(x: ember.Tensor, requires_grad: bool | None = None) -> torch.Tensor:
    """A torch copy of an ember tensor (keeps requires_grad unless told otherwise)."""
    t = torch.from_numpy(np.array(x._data))
    rg = x.requires_grad if requires_grad is None else requires_grad
    return t.requires_grad_(rg) if rg else t


def _dtype_name(x: Any) -> str:
    if isinstance(x, ember.Tensor):
        return x.dtype.name
    return str(x.dtype).replace("torch.", "")


def assert_close(
    actual: Any,
    expected: Any,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_dtype: bool = True,
    what: str = "",
) -> None:
    """Compare an ember result with a torch result: shape, dtype and values."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)), f"{what}: expected a sequence, got {actual!r}"
        assert len(actual) == len(expected), f"{what}: lengths {len(actual)} vs {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, check_dtype, f"{what}[{i}]")
        return
    if not isinstance(expected, (torch.Tensor, ember.Tensor, np.ndarray)):
        assert actual == expected or np.isclose(actual, expected, rtol=rtol, atol=atol), (
            f"{what}: {actual!r} != {expected!r}"
        )
        return
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch {e.shape}"
    if check_dtype and isinstance(expected, torch.Tensor):
        assert _dtype_name(actual) == _dtype_name(expected), (
            f"{what}: dtype {_dtype_name(actual)} != torch {_dtype_name(expected)}"
        )
    if a.dtype == np.bool_ or e.dtype == np.bool_:
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(
            a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, err_msg=what
        )


def rand_array(
    shape: tuple, dtype: Any = np.float32, seed: int = 0, low: float = -2.0, high: float = 2.0
) -> np.ndarray:
    """Deterministic random test data."""
    g = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        # np.asarray: shape () must give a 0-d array, not a NumPy scalar (check_op passes
        # non-arrays through unchanged).
        return np.asarray(g.uniform(low, high, shape).astype(dtype))
    if np.dtype(dtype).kind == "b":
        return np.asarray(g.random(shape) < 0.5)
    return np.asarray(g.integers(int(low), int(high) + 1, shape).astype(dtype))


def check_op(
    ember_fn: Callable,
    torch_fn: Callable,
    *inputs: Any,
    grad: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    grad_rtol: float | None = None,
    grad_atol: float | None = None,
    check_dtype: bool = True,
    seed: int = 1,
) -> None:
    """Run ``ember_fn`` and ``torch_fn`` on the same inputs; compare outputs and gradients.

    ``inputs`` are NumPy arrays (floating ones require grad when ``grad``) or any other value
    passed unchanged to both functions. The backward pass uses the same random upstream
    gradient for every floating output.
    """
    e_in, t_in = [], []
    for x in inputs:
        if isinstance(x, np.ndarray):
            rg = grad and x.dtype.kind == "f"
            e = ember.tensor(x, requires_grad=rg)
            t = torch.tensor(x, requires_grad=rg)
            e_in.append(e)
            t_in.append(t)
        else:
            e_in.append(x)
            t_in.append(x)
    e_out = ember_fn(*e_in)
    t_out = torch_fn(*t_in)
    assert_close(e_out, t_out, rtol, atol, check_dtype, "forward")
    if not grad:
        return
    e_outs = e_out if isinstance(e_out, (tuple, list)) else (e_out,)
    t_outs = t_out if isinstance(t_out, (tuple, list)) else (t_out,)
    g = np.random.default_rng(seed)
    e_roots, t_roots, e_gs, t_gs = [], [], [], []
    for eo, to in zip(e_outs, t_outs):
        if isinstance(to, torch.Tensor) and to.requires_grad:
            assert eo.requires_grad, "ember output does not require grad but torch's does"
            up = g.standard_normal(tuple(to.shape)).astype(to_numpy(to).dtype)
            e_roots.append(eo)
            t_roots.append(to)
            e_gs.append(ember.tensor(up))
            t_gs.append(torch.tensor(up))
    if not t_roots:
        return
    ember.autograd.backward(e_roots, e_gs)
    torch.autograd.backward(t_roots, t_gs)
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not np.any(to_numpy(e.grad)), f"grad of input {i}"
                continue
            assert e.grad is not None, f"ember gave no gradient for input {i}"
            assert_close(
                e.grad,
                t.grad,
                grad_rtol if grad_rtol is not None else rtol * 10,
                grad_atol if grad_atol is not None else atol * 10,
                check_dtype,
                f"grad of input {i}",
            )


def copy_weights(ember_module: Any, torch_module: Any) -> None:
    """Load an ember module's state_dict into the matching torch module."""
    sd = {k: torch.from_numpy(np.array(v._data)) for k, v in ember_module.state_dict().items()}
    torch_module.load_state_dict(sd)
