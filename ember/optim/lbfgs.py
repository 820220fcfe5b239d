"""L-BFGS: a quasi-Newton method over all parameters flattened into one vector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import enable_grad
from ._line_search import strong_wolfe
from .optimizer import Optimizer, _check_lr

__all__ = ["LBFGS"]

# What PyTorch keeps between steps in ``optimizer.state[first parameter]``, in its key order
# (after "func_evals" and "n_iter").
_KEYS = ("al", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


def _to_np(v: Any) -> Any:
    """A state value as computed with: Tensors become arrays (0-dim ones float32 scalars)."""
    if isinstance(v, Tensor):
        return v._data[()] if v._data.ndim == 0 else v._data.copy()
    if isinstance(v, list):
        return [_to_np(x) for x in v]
    return v


def _to_state(v: Any) -> Any:
    """A value as stored in the state: arrays and NumPy scalars become Tensors, as PyTorch's."""
    if isinstance(v, (np.ndarray, np.generic)):
        return _wrap(np.array(v))
    if isinstance(v, list):
        return [_to_state(x) for x in v]
    return v


class LBFGS(Optimizer):
    """L-BFGS, as ``torch.optim.LBFGS``: one parameter group; ``step(closure)`` calls
    ``closure`` (which zeroes the gradients, computes the loss, calls ``backward()`` and returns
    the loss) as many times as it needs, and returns the loss of its first call.

    Args:
        params: the parameters to optimize (one group; per-parameter options are refused).
        lr: learning rate (default 1).
        max_iter: iterations per ``step()`` (default 20).
        max_eval: function evaluations per ``step()`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the gradient's largest element is at most this (1e-7).
        tolerance_change: stop when the loss or the step changes by less than this (1e-9).
        history_size: how many past updates approximate the inverse Hessian (default 100).
        line_search_fn: None (fixed step ``lr``) or ``"strong_wolfe"``.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.tensor([3.0, -2.0]))
    >>> opt = ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure)
    tensor(13., grad_fn=<SumBackward0>)
    >>> [round(v, 4) for v in w.tolist()]
    [1.0, 1.0]
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- the flat view of all parameters ---------------------------------------------------
    def _gather_flat_grad(self) -> np.ndarray:
        views = [
            np.zeros(p._data.size, p._data.dtype) if p._grad is None else p._grad._data.ravel()
            for p in self._params
        ]
        return np.concatenate(views)

    def _add_grad(self, step_size: Any, update: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            piece = update[offset : offset + n].reshape(p._data.shape)
            p._data += piece * np.asarray(step_size, dtype=p._data.dtype)
            p._vc[0] += 1
            offset += n

    def _clone_param(self) -> list[np.ndarray]:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data: list[np.ndarray]) -> None:
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            p._vc[0] += 1

    def _directional_evaluate(self, closure: Callable, x: list, t: Any, d: np.ndarray) -> tuple:
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ---- the step --------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Perform one optimization step (up to ``max_iter`` iterations); ``closure`` is
        required. Returns the loss of the closure's first call."""
        closure = self._run_step_pre_hooks(closure)
        if closure is None:
            raise RuntimeError("LBFGS requires a closure that reevaluates the model")
        loss = self._step(enable_grad()(closure))
        self._run_step_post_hooks(closure)
        return loss

    def _step(self, closure: Callable[[], Any]) -> Any:
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        s = {k: _to_np(state.get(k)) for k in _KEYS}
        self._iterate(closure, group, state, s, loss, flat_grad)
        for k in _KEYS:
            if k != "al" or s[k] is not None:
                state[k] = _to_state(s[k])
        return orig_loss

    def _direction(self, s: dict, flat_grad: np.ndarray, history_size: int) -> None:
        """Update the curvature history with the last step and compute the new direction
        ``s['d']`` by the two-loop recursion."""
        y = flat_grad - s["prev_flat_grad"]
        step = s["d"] * s["t"]
        ys = y.dot(step)
        if ys > 1e-10:
            if len(s["old_dirs"]) == history_size:
                for k in ("old_dirs", "old_stps", "ro"):
                    s[k].pop(0)
            s["old_dirs"].append(y)
            s["old_stps"].append(step)
            s["ro"].append(1.0 / ys)
            s["H_diag"] = ys / y.dot(y)
        old_dirs, old_stps, ro = s["old_dirs"], s["old_stps"], s["ro"]
        if s["al"] is None:
            s["al"] = [None] * history_size
        al = s["al"]
        q = np.negative(flat_grad)
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q += old_dirs[i] * -al[i]
        r = q * s["H_diag"]
        if r.dtype != q.dtype:
            r = r.astype(q.dtype)
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r += old_stps[i] * (al[i] - be_i)
        s["d"] = r

    def _iterate(self, closure, group, state, s, loss, flat_grad) -> None:
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        current_evals = 1
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                s.update(d=np.negative(flat_grad), old_dirs=[], old_stps=[], ro=[], H_diag=1)
            else:
                self._direction(s, flat_grad, group["history_size"])
            s["prev_flat_grad"] = flat_grad.copy()
            s["prev_loss"] = loss
            d = s["d"]
            if state["n_iter"] == 1:
                s["t"] = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                s["t"] = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            opt_cond = False
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, s["t"], ls_func_evals = strong_wolfe(
                    obj_func, x_init, s["t"], d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals,
                )  # fmt: skip
                self._add_grad(s["t"], d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(s["t"], d)
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if (
                n_iter == max_iter
                or current_evals >= max_eval
                or opt_cond
                or np.abs(d * s["t"]).max() <= tolerance_change
                or abs(loss - s["prev_loss"]) < tolerance_change
            ):
                break
