"""The parity harness: run an ember call and the matching torch call on the same inputs and
compare shapes, dtypes, values and the gradient of every input."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
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
    "LayerCase",
    "layer_case",
    "check_layer",
    "num_threads",
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


# ---- layers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerCase:
    """One layer built the same way in both libraries: ``getattr(lib.nn, name)(*args, **kwargs)``.

    ``input`` is a shape (random data), an array, or a function ``seed -> array``. ``steps``
    inputs run in training mode, then ``eval_steps`` in eval mode (running statistics).
    ``randomize`` gives the parameters values in general position before the copy to torch.
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    input: Any = None
    rtol: float = 1e-5
    atol: float = 1e-5
    grad_rtol: float | None = None
    grad_atol: float | None = None
    steps: int = 1
    eval_steps: int = 0
    randomize: bool = False

    def build(self, lib: Any) -> Any:
        """The layer in ``lib`` (``ember`` or ``torch``)."""
        return getattr(lib.nn, self.name)(*self.args, **self.kwargs)

    def data(self, seed: int) -> np.ndarray:
        if callable(self.input):
            return self.input(seed)
        if isinstance(self.input, np.ndarray):
            return self.input
        return rand_array(tuple(self.input), seed=seed)

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


def layer_case(
    name: str, args: tuple = (), kwargs: dict | None = None, **options: Any
) -> LayerCase:
    """A :class:`LayerCase` row, e.g.
    ``layer_case("Conv2d", (1, 6, 5), {"stride": 2}, input=(2, 1, 9, 9))``.
    Parametrize with ``ids=str`` to name each test after the layer call."""
    return LayerCase(name, tuple(args), dict(kwargs or {}), **options)


def _randomize(module: Any, seed: int = 11) -> None:
    g = np.random.default_rng(seed)
    for p in module.parameters():
        p.data = ember.tensor(g.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32))


def check_layer(case: LayerCase) -> tuple[Any, Any]:
    """Build ``case`` in both libraries, check the reprs match, copy ember's parameters and
    buffers into torch, then for every step compare the output(s), the gradient of the input
    and of every parameter, and every buffer. Returns the two layers."""
    em, tm = case.build(ember), case.build(torch)
    assert repr(em) == repr(tm), f"repr {em!r} != torch {tm!r}"
    if case.randomize:
        _randomize(em)
    if list(tm.parameters()) or list(tm.buffers()):
        copy_weights(em, tm)
    grtol = case.grad_rtol if case.grad_rtol is not None else case.rtol * 10
    gatol = case.grad_atol if case.grad_atol is not None else case.atol * 10
    modes = [True] * case.steps + [False] * case.eval_steps
    for step, train in enumerate(modes):
        em.train(train)
        tm.train(train)
        _check_layer_step(em, tm, case.data(step), case.rtol, case.atol, grtol, gatol, step)
    return em, tm


def _check_layer_step(em, tm, x, rtol, atol, grtol, gatol, seed) -> None:
    rg = x.dtype.kind == "f"
    ex, tx = ember.tensor(x, requires_grad=rg), torch.tensor(x, requires_grad=rg)
    ey, ty = em(ex), tm(tx)
    assert_close(ey, ty, rtol, atol, what="forward")
    e_outs = ey if isinstance(ey, (tuple, list)) else (ey,)
    t_outs = ty if isinstance(ty, (tuple, list)) else (ty,)
    g = np.random.default_rng(seed + 100)
    roots = [(e, t) for e, t in zip(e_outs, t_outs) if t.requires_grad]
    if roots:
        ups = [g.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype) for _, t in roots]
        ember.autograd.backward([e for e, _ in roots], [ember.tensor(u) for u in ups])
        torch.autograd.backward([t for _, t in roots], [torch.tensor(u) for u in ups])
        if rg:
            assert_close(ex.grad, tx.grad, grtol, gatol, what="input grad")
        tp = dict(tm.named_parameters())
        for name, p in em.named_parameters():
            assert_close(p.grad, tp[name].grad, grtol, gatol, what=f"grad of {name}")
    tb = dict(tm.named_buffers())
    for name, b in em.named_buffers():
        assert_close(b, tb[name], rtol, atol, what=f"buffer {name}")
    em.zero_grad()
    tm.zero_grad()


@contextlib.contextmanager
def num_threads(n: int):
    """``ember.set_num_threads(n)`` inside the block, the previous count restored after."""
    before = ember.get_num_threads()
    ember.set_num_threads(n)
    try:
        yield
    finally:
        ember.set_num_threads(before)
