"""The ``Optimizer`` base: parameter groups, per-parameter state, the step loop, checkpoints.

A subclass writes only the per-parameter update: ``_init_state(p, state, group)`` fills the lazy
state of one parameter and ``_update(p, g, state, group)`` changes ``p`` in place. Both work on the
NumPy arrays behind the tensors (``p`` and ``g`` are arrays, ``state`` holds ember Tensors), so the
update runs as a few ufuncs with ``out=`` and never builds a graph. The base owns the loops over
groups and parameters, the version counters, hooks, ``zero_grad`` and ``state_dict``.

The helpers at the bottom reproduce the element-wise arithmetic order of PyTorch's CPU kernels
(``lerp_``, ``addcmul_``, ``addcdiv_``) so that float32 trajectories agree with ``torch.optim``.
"""

from __future__ import annotations

import copy
import itertools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import enable_grad
from ..ops import _parallel
from ..ops._axpy import axpy_
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """The default of a group option that every group must set (``SGD``'s lr in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return obj.type().replace("torch.", "ember.")
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _scalar_dtype() -> np.dtype:
    """The dtype of ``state['step']``: float32, or float64 when that is the default dtype."""
    return np.dtype(np.float64) if D.get_default_dtype() is D.float64 else np.dtype(np.float32)


def _step_tensor(value: float = 0.0) -> Tensor:
    return _wrap(np.array(value, dtype=_scalar_dtype()))


def _next_step(state: dict) -> float:
    """Advance the per-parameter ``state["step"]`` counter in place and return the new step."""
    step_arr = state["step"]._data
    step_arr += 1
    return float(step_arr)


def _check_lr(lr: Any) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _refuse_differentiable(differentiable: bool) -> None:
    """PyTorch's implementation flags (foreach, fused, capturable) are kept in the groups so that
    checkpoints have PyTorch's layout, but ember has one implementation; autograd through
    ``step()`` (``differentiable=True``) is not supported."""
    if differentiable:
        raise NotImplementedError(
            "ember optimizers do not support differentiable=True (no autograd through step())"
        )


class Optimizer:
    """Base class of all optimizers, as ``torch.optim.Optimizer``.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts that each define
            a parameter group (``{'params': [...], 'lr': 0.1}``).
        defaults: the default value of each option, used by groups that do not set it.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.ones(2))
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- what a subclass writes ------------------------------------------------------------
    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        """Fill the (empty) state of parameter ``p`` before its first update."""

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        """Update the array ``p`` in place from its gradient ``g``."""
        raise NotImplementedError

    def _prepare_group(self, group: dict) -> None:
        """Called once per group per step before the parameter loop (validation, scalars)."""

    def _uses_state(self, group: dict) -> bool:
        """Whether this group keeps per-parameter state (SGD without momentum keeps none)."""
        return True

    # ---- the loop --------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        Parameters whose ``.grad`` is None are skipped (their state is not created).
        """
        closure = self._run_step_pre_hooks(closure)
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state_of = self.state
        work = []  # (param, grad, state, group): checked, state made, ready to update
        size = 0  # their parameters' elements
        for group in self.param_groups:
            self._prepare_group(group)
            uses_state = self._uses_state(group)
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if g._data.shape != p._data.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}: gradient of shape {list(g._data.shape)} does not "
                        f"match its parameter of shape {list(p._data.shape)}"
                    )
                if uses_state:
                    state = state_of[p]
                    if not state:
                        self._init_state(p, state, group)
                else:
                    state = {}
                work.append((p, g, state, group))
                size += p._data.size
        _run_updates(self, work, size)
        self._run_step_post_hooks(closure)
        return loss

    def _run_step_pre_hooks(self, closure: Callable | None) -> Callable | None:
        """Run the step pre-hooks; returns the closure (a pre-hook may replace step()'s
        arguments by returning new ``(args, kwargs)``, as in PyTorch)."""
        for pre_hook in list(self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, (closure,) if closure is not None else (), {})
            if result is not None:
                args, kwargs = result
                closure = args[0] if args else kwargs.get("closure")
        return closure

    def _run_step_post_hooks(self, closure: Callable | None) -> None:
        for post_hook in list(self._optimizer_step_post_hooks.values()):
            post_hook(self, (closure,) if closure is not None else (), {})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g._grad_fn is not None:
                        g.detach_()
                    else:
                        g._rg = False
                    g._data.fill(0)
                    g._vc[0] += 1

    # ---- groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``'params'`` and optional per-group options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple):
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}"
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        if len({id(p) for p in tensors}) != len(tensors):
            import warnings

            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {which} to the optimizer"
                )
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer state in PyTorch's layout.

        ``{'state': {0: {'step': tensor(3.), 'exp_avg': ...}, ...}, 'param_groups': [{'lr': ...,
        'params': [0, 1]}, ...]}``: parameters are replaced by integer ids numbered in order of
        appearance across the groups; state tensors are returned by reference, as PyTorch does.
        """
        for pre_hook in list(self._optimizer_state_dict_pre_hooks.values()):
            pre_hook(self)
        ids: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                ids.setdefault(id(p), i)
            packed["params"] = [ids[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(ids[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        sd: dict[str, Any] = {"state": state, "param_groups": groups}
        for post_hook in list(self._optimizer_state_dict_post_hooks.values()):
            result = post_hook(self, sd)
            if result is not None:
                sd = result
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state made by ``state_dict()`` (ids are matched to parameters by position).

        State tensors are copied (cast to each parameter's floating dtype; ``'step'`` keeps its
        dtype), so the loaded optimizer never shares buffers with ``state_dict``.
        """
        state_dict = dict(state_dict)
        for pre_hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"optimizer state_dict is missing the '{key}' key")
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = dict(
            zip(
                itertools.chain.from_iterable(s["params"] for s in saved_groups),
                itertools.chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v)
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)
        for post_hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)

    # ---- hooks -----------------------------------------------------------------------------
    def _register(self, store: OrderedDict, hook: Callable, prepend: bool = False):
        handle = RemovableHandle(store)
        store[handle.id] = hook
        if prepend:
            store.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each ``step()``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each ``step()``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer)`` runs before ``state_dict()`` builds its result."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` may return a replacement state dict."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` may return a replacement before loading."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """``hook(optimizer)`` runs after ``load_state_dict()``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- Python protocol -------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in (
            "_optimizer_step_pre_hooks",
            "_optimizer_step_post_hooks",
            "_optimizer_state_dict_pre_hooks",
            "_optimizer_state_dict_post_hooks",
            "_optimizer_load_state_dict_pre_hooks",
            "_optimizer_load_state_dict_post_hooks",
        ):
            self.__dict__.setdefault(name, OrderedDict())

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


def _run_updates(opt: Optimizer, work: list, size: int) -> None:
    """``opt._update`` of every parameter in ``work`` (``size`` elements in all), in turn; or,
    for a big step on several threads, in per-core shares of about equal size run concurrently
    when that measured faster (``ops._parallel.parallel_for``, one hand-off a step). Each
    parameter's update reads and writes only its own arrays and state, so the results are the
    same either way (measured, ResNet-18's 11M parameters, SGD with momentum: 12.4 ms a step on
    one core, PyTorch 10.4 on one thread and 5.1 on two)."""
    update = opt._update
    if size < _parallel.MIN_WORK or _parallel.cores() < 2:
        # (a small model's step in turn, without shares: making them, and summing the sizes
        # apart, cost a 1-32-32-1 MLP's Adam step 49 -> 58 us)
        for p, g, state, group in work:
            update(p._data, g._data, state, group)
            p._vc[0] += 1
        return
    shares = _shares(work, _parallel.cores())

    def run(lo: int, hi: int) -> None:
        for share in shares[lo:hi]:
            for p, g, state, group in share:
                update(p._data, g._data, state, group)
                p._vc[0] += 1

    _parallel.parallel_for(run, len(shares), size, type(opt)._update, whole=True)


def _shares(work: list, parts: int) -> list[list]:
    """``work`` cut in order into up to ``parts`` runs of about equal total parameter size."""
    total = sum(p._data.size for p, *_ in work) or 1
    shares: list[list] = [[]]
    done = 0
    for item in work:
        if done >= total * len(shares) / parts and len(shares) < parts:
            shares.append([])
        shares[-1].append(item)
        done += item[0]._data.size
    return shares


def _cast_state(param: Tensor, value: Any, key: Any = None) -> Any:
    """A copy of one parameter's saved state, tensors cast to the parameter's dtype."""
    if isinstance(value, Tensor):
        data = value._data
        if key != "step" and param.dtype.kind == "f" and data.dtype != param._data.dtype:
            return _wrap(data.astype(param._data.dtype))
        return _wrap(data.copy())
    if isinstance(value, np.ndarray):
        return _cast_state(param, _wrap(value), key)
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return value


# ---- element-wise helpers in PyTorch's arithmetic order (all in place on ``a``) -------------
# PyTorch's add with an alpha and its lerp are fused multiply-adds (one rounding): axpy_ is the
# same (ops/_axpy.py), so those updates match PyTorch's bits, where NumPy's product-then-add
# differed in the last bit of ~2% of the elements.
def lerp_(a: np.ndarray, b: np.ndarray, weight: float) -> None:
    """``a.lerp_(b, weight)``: ``a + w (b - a)`` for ``|w| < 0.5``, else ``b + (w - 1)(b - a)``,
    each one fused multiply-add with ``w`` (and ``w - 1``) in ``a``'s precision, as PyTorch."""
    d = np.subtract(b, a)
    if abs(weight) < 0.5:
        axpy_(a, d, weight)
    else:
        np.copyto(a, b)
        w = a.dtype.type(weight) if a.dtype.kind == "f" else weight
        axpy_(a, d, w - 1)


def addcmul_(a: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float) -> None:
    """``a.addcmul_(t1, t2, value=v)``: ``a + (v * t1) * t2``."""
    t = np.multiply(t1, value) if value != 1 else np.copy(t1)
    t *= t2
    a += t


def addcdiv_(a: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float) -> None:
    """``a.addcdiv_(t1, t2, value=v)``: ``a + (v * t1) / t2``."""
    t = np.multiply(t1, value) if value != 1 else np.copy(t1)
    t /= t2
    a += t


def add_scaled_(a: np.ndarray, b: np.ndarray, alpha: float) -> None:
    """``a.add_(b, alpha=alpha)``: ``a + alpha b`` rounded once."""
    if alpha == 1:
        a += b
    elif alpha == -1:
        a -= b
    else:
        axpy_(a, b, alpha)


def added(g: np.ndarray, x: np.ndarray, alpha: float, fresh: bool = False) -> np.ndarray:
    """``g.add(x, alpha=alpha)``: ``g + alpha x`` rounded once, a new array (``g`` itself, updated
    in place, when ``fresh``: an array the caller made)."""
    out = g if fresh else np.array(g)
    axpy_(out, x, alpha)
    return out


def preprocess_grad(p: np.ndarray, g: np.ndarray, group: dict, coupled_decay: bool = True):
    """The gradient after ``maximize`` (negation) and coupled L2 ``weight_decay`` (g + wd p)."""
    maximize = group.get("maximize")
    if maximize:
        g = np.negative(g)
    wd = group.get("weight_decay", 0)
    if coupled_decay and wd != 0:
        g = added(g, p, wd, fresh=bool(maximize))
    return g
