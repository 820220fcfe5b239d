"""``ember.func``'s differentiation transforms: grad, grad_and_value, vjp, jvp, jacrev, jacfwd,
hessian, on ember's reverse-mode autograd (see ``_level.py``).

ember has no forward-mode AD: ``jvp`` uses the double-backward trick (the gradient of ``u^T J``
with respect to ``u``, along the tangent) and ``jacfwd`` builds the same Jacobian as ``jacrev``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..autograd import grad as _autograd_grad
from ._level import Level, settle
from ._pytree import tree_flatten, tree_unflatten
from ._vmap import check_randomness, random_guard

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


# ---- argnums -------------------------------------------------------------------------------
def _check_argnums(argnums: Any, n_args: int) -> tuple[int, ...]:
    if isinstance(argnums, int):
        nums: tuple = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        for a in argnums:
            if not isinstance(a, int):
                raise RuntimeError(f"argnum must be int, got: {type(a)}")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnum={a}, but only {n_args} positional inputs")
    nums = tuple(a % n_args for a in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return nums


def _lift_args(lv: Level, args: tuple, nums: tuple) -> tuple[tuple, list, list]:
    """The arguments with the differentiated ones replaced by fresh leaves; also the leaves and
    the spec of each differentiated argument."""
    args = list(args)
    leaves, specs = [], []
    for a in nums:
        flat, spec = tree_flatten(args[a])
        lifted = [lv.lift(t) for t in flat]
        args[a] = tree_unflatten(lifted, spec)
        leaves.append(lifted)
        specs.append(spec)
    return tuple(args), leaves, specs


def _pack(per_arg: list, specs: list, argnums: Any) -> Any:
    """Gradients (one flat list per differentiated argument) in the arguments' structure."""
    trees = [tree_unflatten(g, s) for g, s in zip(per_arg, specs)]
    return trees[0] if isinstance(argnums, int) else tuple(trees)


def _grads(outputs: list, inputs: list, grad_outputs: Any, keep: bool) -> list:
    """``autograd.grad`` with zeros for unused inputs (the graph is kept for further calls)."""
    res = _autograd_grad(
        outputs, inputs, grad_outputs, retain_graph=True, create_graph=keep, allow_unused=True
    )
    return [t.new_zeros(t.shape) if g is None else g for g, t in zip(res, inputs)]


def _split_aux(output: Any, has_aux: bool, api: str) -> tuple[Any, Any]:
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{api}(f)(*args): output of function f should be a tuple: (output, aux) if "
            "has_aux is True"
        )
    return output


def _settle_aux(aux: Any, keep: bool) -> Any:
    """The auxiliary output leaving the level: tensors only, as in PyTorch."""
    flat, spec = tree_flatten(aux)
    for t in flat:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(t)}")
    return tree_unflatten([settle(t, keep) for t in flat], spec)


# ---- grad ----------------------------------------------------------------------------------
def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """``f -> (args -> (gradient of f at args, f(args)))``; with ``has_aux`` f returns
    ``(output, aux)`` and the value is ``(output, aux)``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        nums = _check_argnums(argnums, len(args))
        with Level() as lv:
            args, leaves, specs = _lift_args(lv, args, nums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(output, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(output)}"
                )
            if output.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                    "APIs instead?"
                )
            keep = lv.outer([output])
            flat = [t for group in leaves for t in group]
            if output.requires_grad:
                gs = _grads([output], flat, None, keep)
            else:
                gs = [t.new_zeros(t.shape) for t in flat]
        per_arg, k = [], 0
        for group in leaves:
            per_arg.append(gs[k : k + len(group)])
            k += len(group)
        grads = _pack(per_arg, specs, argnums)
        value = settle(output, keep)
        if has_aux:
            return grads, (value, _settle_aux(aux, keep))
        return grads, value

    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """``f -> (args -> gradient of the scalar f at args)`` (``(gradient, aux)`` with has_aux)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ---- vjp / jvp -----------------------------------------------------------------------------
def _only_tensors(leaves: list, api: str) -> None:
    for t in leaves:
        if not isinstance(t, Tensor):
            raise RuntimeError(
                f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(t)}"
            )


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` returns one gradient per primal."""
    with Level() as lv:
        args, leaves, specs = _lift_args(lv, primals, tuple(range(len(primals))))
        output, aux = _split_aux(func(*args), has_aux, "vjp")
        out_flat, out_spec = tree_flatten(output)
        _only_tensors(out_flat, "vjp(f, *primals)")
        keep = lv.outer(out_flat)
    flat_in = [t for group in leaves for t in group]

    def vjp_fn(cotangents: Any) -> tuple:
        ct_flat, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {ct_spec.pprint()}, primal output: "
                f"{out_spec.pprint()}"
            )
        pairs = [(o, c) for o, c in zip(out_flat, ct_flat) if o.requires_grad]
        with Level():
            if pairs and flat_in:
                gs = _grads([o for o, _ in pairs], flat_in, [c for _, c in pairs], keep)
            else:
                gs = [t.new_zeros(t.shape) for t in flat_in]
        per_arg, k = [], 0
        for group in leaves:
            per_arg.append(gs[k : k + len(group)])
            k += len(group)
        return tuple(tree_unflatten(g, s) for g, s in zip(per_arg, specs))

    out = tree_unflatten([settle(t, keep) for t in out_flat], out_spec)
    if has_aux:
        return out, vjp_fn, _settle_aux(aux, keep)
    return out, vjp_fn


def jvp(
    func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False
) -> tuple:
    """``(f(*primals), J @ tangents)``, by differentiating a vector-Jacobian product with respect
    to its vector (ember has no forward mode)."""
    if not isinstance(primals, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid "
            "to call f(*primals)."
        )
    p_flat, p_spec = tree_flatten(primals)
    t_flat, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            "structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
            f"Got primals with structure {p_spec} and tangents with structure {t_spec}"
        )
    for p, t in zip(p_flat, t_flat):
        for x, what in ((p, "primals"), (t, "tangents")):
            if not isinstance(x, Tensor):
                raise RuntimeError(
                    f"jvp(f, primals, tangents): Expected {what} to only contain Tensors, got "
                    f"{type(x)}"
                )
        if p.shape != t.shape:
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    with Level() as lv:
        lifted = [lv.lift(p) for p in p_flat]
        output, aux = _split_aux(func(*tree_unflatten(lifted, p_spec)), has_aux, "jvp")
        out_flat, out_spec = tree_flatten(output)
        _only_tensors(out_flat, "jvp(f, primals, tangents)")
        keep = lv.outer(out_flat + list(t_flat))
        res = _jvp_flat(out_flat, lifted, list(t_flat), keep)
    out = tree_unflatten([settle(t, keep) for t in out_flat], out_spec)
    jv = tree_unflatten(res, out_spec)
    if has_aux:
        return out, jv, _settle_aux(aux, keep)
    return out, jv


def _jvp_flat(outs: list, inputs: list, tangents: list, keep: bool) -> list:
    """``J v`` for each output: ``u -> u^T J`` is linear in ``u``; its gradient along ``v``
    with respect to ``u`` is ``J v``."""
    live = [o for o in outs if o.requires_grad]
    if not live:
        return [o.new_zeros(o.shape) for o in outs]
    us = [o.new_zeros(o.shape).requires_grad_(True) for o in live]
    vjps = _autograd_grad(live, inputs, us, create_graph=True, allow_unused=True)
    pairs = [(g, t) for g, t in zip(vjps, tangents) if g is not None and g.requires_grad]
    if pairs:
        got = _grads([g for g, _ in pairs], us, [t for _, t in pairs], keep)
    else:
        got = [u.new_zeros(u.shape) for u in us]
    it = iter(got)
    return [next(it) if o.requires_grad else o.new_zeros(o.shape) for o in outs]


# ---- Jacobians -----------------------------------------------------------------------------
def jacrev(
    func: Callable,
    argnums: Any = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
    _preallocate_and_copy: bool = False,
) -> Callable:
    """``f -> (args -> Jacobian)``: for each output leaf, its Jacobian against the arguments in
    ``argnums`` (shape ``output.shape + input.shape``), one backward pass per output element."""
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _jacobian(func, argnums, has_aux, args, kwargs, "jacrev")

    return wrapper


def jacfwd(
    func: Callable, argnums: Any = 0, has_aux: bool = False, *, randomness: str = "error"
) -> Callable:
    """The same Jacobian as ``jacrev`` (ember computes it in reverse mode); random operations
    inside ``func`` follow ``randomness`` as in PyTorch's vmap-based jacfwd."""
    check_randomness(randomness)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with random_guard(randomness):
            return _jacobian(func, argnums, has_aux, args, kwargs, "jacfwd")

    return wrapper


# The transform PyTorch builds each Jacobian from, as its error messages name it.
_API_NAMES = {"jacrev": "vjp(f, *primals)", "jacfwd": "jvp(f, primals, tangents)"}


def _jacobian(func, argnums, has_aux: bool, args: tuple, kwargs: dict, api: str) -> Any:
    from .. import stack

    nums = _check_argnums(argnums, len(args))
    with Level() as lv:
        args, leaves, specs = _lift_args(lv, args, nums)
        output, aux = _split_aux(func(*args, **kwargs), has_aux, api)
        out_flat, out_spec = tree_flatten(output)
        _only_tensors(out_flat, _API_NAMES[api])
        keep = lv.outer(out_flat)
        flat_in = [t for group in leaves for t in group]
        per_out = []
        for o in out_flat:
            rows: list[list] = [[] for _ in flat_in]
            flat_o = o.reshape(-1)
            for j in range(o.numel()):
                if flat_o.requires_grad:
                    gs = _grads([flat_o[j]], flat_in, None, keep)
                else:
                    gs = [t.new_zeros(t.shape) for t in flat_in]
                for r, g in zip(rows, gs):
                    r.append(g)
            jac = [
                (stack(r, 0) if r else t.new_zeros((0, *t.shape))).reshape(
                    tuple(o.shape) + tuple(t.shape)
                )
                for r, t in zip(rows, flat_in)
            ]
            per_arg, k = [], 0
            for group in leaves:
                per_arg.append(jac[k : k + len(group)])
                k += len(group)
            per_out.append(_pack(per_arg, specs, argnums))
    result = tree_unflatten(per_out, out_spec)
    if has_aux:
        return result, _settle_aux(aux, keep)
    return result


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """``jacfwd(jacrev(func, argnums), argnums)``: the Hessian of a scalar-output ``func``."""
    return jacfwd(jacrev(func, argnums), argnums)
