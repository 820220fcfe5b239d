"""The ops the differential fuzzer draws from: each entry says how many tensor operands the op
takes, how to draw its other arguments, and how to call it in either library.

``fn(m, args, p)`` calls the op with library ``m`` (ember or torch) on tensors ``args`` and drawn
parameters ``p``; ``params(c, args)`` draws ``p`` with the chooser ``c`` (see ``_programs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NAN, INF = float("nan"), float("inf")
SCALARS = [0, 1, -1, 2, 3, -7, 2.5, -0.5, 0.0, -0.0, 1e-3, 1e30, INF, -INF, NAN, True, 2**40]


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    fn: Callable[[Any, list, dict], Any]
    params: Callable[[Any, list], dict] = lambda c, args: {}
    inplace: bool = False  # writes into its first operand (run on a clone or a view of one)


def _none(c, args):
    return {}


def _dim(c, args, *, allow_none: bool = True) -> dict:
    nd = args[0].dim()
    choices = list(range(-max(nd, 1), max(nd, 1)))
    if allow_none:
        choices.append(None)
    return {"dim": c.choice(choices + [nd + 1])}  # now and then out of range


def _dim_keep(c, args) -> dict:
    return {**_dim(c, args), "keepdim": c.choice([False, True])}


def _dim_req(c, args) -> dict:
    return _dim(c, args, allow_none=False)


def _dim_req_keep(c, args) -> dict:
    return {**_dim_req(c, args), "keepdim": c.choice([False, True])}


def _scalar(c, args) -> dict:
    return {"s": c.choice(SCALARS)}


def _unary(name: str) -> Op:
    return Op(name, 1, lambda m, a, p: getattr(m, name)(a[0]))


def _binary(name: str) -> Op:
    return Op(name, 2, lambda m, a, p: getattr(m, name)(a[0], a[1]))


def _reduce(name: str) -> Op:
    def fn(m, a, p):
        if p["dim"] is None:
            return getattr(m, name)(a[0])
        return getattr(m, name)(a[0], p["dim"], keepdim=p["keepdim"])

    return Op(name, 1, fn, _dim_keep)


UNARY = [
    "abs", "neg", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "sigmoid", "floor", "ceil", "round", "trunc", "frac", "sign", "reciprocal", "erf",
    "relu", "square", "isnan", "isinf", "isfinite", "logical_not", "bitwise_not", "nan_to_num",
]  # fmt: skip
BINARY = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "float_power", "atan2", "maximum", "minimum", "fmax", "fmin", "eq", "ne", "lt", "le", "gt",
    "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
]  # fmt: skip
REDUCE = ["sum", "mean", "prod", "amax", "amin", "logsumexp", "all", "any", "std", "var"]


def _clamp_params(c, args):
    lo = c.choice([None, -1.0, 0, 0.5, -INF, NAN])
    hi = c.choice([None, 1.0, 2, -1.0, INF])
    return {"lo": lo, "hi": hi}


def _narrow_params(c, args):
    p = _dim_req(c, args)
    return {**p, "start": c.integers(-2, 3), "length": c.integers(-1, 3)}


def _perm_params(c, args):
    nd = args[0].dim()
    return {"perm": c.permutation(nd)}


def _shape_params(c, args):
    n = args[0].numel()
    return {"shape": c.choice([(-1,), (n,), (1, -1), (-1, 1), (n, 1, 1), (2, -1), (-1, -1)])}


def _topk_params(c, args):
    p = _dim_req(c, args)
    return {**p, "k": c.integers(0, 3), "largest": c.choice([True, False])}


def _sort_params(c, args):
    return {**_dim_req(c, args), "descending": c.choice([False, True])}


def _div_mode(c, args):
    return {"mode": c.choice([None, "trunc", "floor"])}


OPS: list[Op] = [
    *(_unary(n) for n in UNARY),
    *(_binary(n) for n in BINARY),
    *(_reduce(n) for n in REDUCE),
    Op("div_mode", 2, lambda m, a, p: m.div(a[0], a[1], rounding_mode=p["mode"]), _div_mode),
    Op("add_scalar", 1, lambda m, a, p: a[0] + p["s"], _scalar),
    Op("rsub_scalar", 1, lambda m, a, p: p["s"] - a[0], _scalar),
    Op("mul_scalar", 1, lambda m, a, p: a[0] * p["s"], _scalar),
    Op("div_scalar", 1, lambda m, a, p: a[0] / p["s"], _scalar),
    Op("rdiv_scalar", 1, lambda m, a, p: p["s"] / a[0], _scalar),
    Op("floordiv_scalar", 1, lambda m, a, p: a[0] // p["s"], _scalar),
    Op("mod_scalar", 1, lambda m, a, p: a[0] % p["s"], _scalar),
    Op("pow_scalar", 1, lambda m, a, p: a[0] ** p["s"], _scalar),
    Op("rpow_scalar", 1, lambda m, a, p: p["s"] ** a[0], _scalar),
    Op("eq_scalar", 1, lambda m, a, p: a[0] == p["s"], _scalar),
    Op("lt_scalar", 1, lambda m, a, p: a[0] < p["s"], _scalar),
    Op("clamp", 1, lambda m, a, p: m.clamp(a[0], p["lo"], p["hi"]), _clamp_params),
    Op(
        "where",
        3,
        lambda m, a, p: m.where(a[0] > 0 if a[0].dtype != m.bool else a[0], a[1], a[2]),
    ),
    Op("lerp", 3, lambda m, a, p: m.lerp(a[0], a[1], a[2])),
    Op("addcmul", 3, lambda m, a, p: m.addcmul(a[0], a[1], a[2], value=p["s"]), _scalar),
    Op("addcdiv", 3, lambda m, a, p: m.addcdiv(a[0], a[1], a[2], value=p["s"]), _scalar),
    Op("max_dim", 1, lambda m, a, p: tuple(m.max(a[0], p["dim"], p["keepdim"])), _dim_req_keep),
    Op("min_dim", 1, lambda m, a, p: tuple(m.min(a[0], p["dim"], p["keepdim"])), _dim_req_keep),
    Op("max_all", 1, lambda m, a, p: m.max(a[0])),
    Op("argmax", 1, lambda m, a, p: m.argmax(a[0], p["dim"], p["keepdim"]), _dim_keep),
    Op("argmin", 1, lambda m, a, p: m.argmin(a[0], p["dim"], p["keepdim"]), _dim_keep),
    Op("count_nonzero", 1, lambda m, a, p: m.count_nonzero(a[0], p["dim"]), _dim),
    Op("cumsum", 1, lambda m, a, p: m.cumsum(a[0], p["dim"]), _dim_req),
    Op("cumprod", 1, lambda m, a, p: m.cumprod(a[0], p["dim"]), _dim_req),
    Op("softmax", 1, lambda m, a, p: m.softmax(a[0], p["dim"]), _dim_req),
    Op("log_softmax", 1, lambda m, a, p: m.log_softmax(a[0], p["dim"]), _dim_req),
    Op(
        "sort",
        1,
        lambda m, a, p: tuple(m.sort(a[0], dim=p["dim"], descending=p["descending"], stable=True)),
        _sort_params,
    ),
    Op(
        "topk",
        1,
        lambda m, a, p: tuple(m.topk(a[0], p["k"], p["dim"], p["largest"])),
        _topk_params,
    ),
    Op("reshape", 1, lambda m, a, p: a[0].reshape(p["shape"]), _shape_params),
    Op("view", 1, lambda m, a, p: a[0].view(p["shape"]), _shape_params),
    Op("permute", 1, lambda m, a, p: a[0].permute(*p["perm"]), _perm_params),
    Op("transpose", 1, lambda m, a, p: a[0].transpose(0, -1)),
    Op("t", 1, lambda m, a, p: a[0].t()),
    Op("flatten", 1, lambda m, a, p: m.flatten(a[0])),
    Op(
        "squeeze",
        1,
        lambda m, a, p: a[0].squeeze() if p["dim"] is None else a[0].squeeze(p["dim"]),
        _dim,
    ),
    Op("unsqueeze", 1, lambda m, a, p: a[0].unsqueeze(p["dim"]), _dim_req),
    Op("flip", 1, lambda m, a, p: m.flip(a[0], [p["dim"]]), _dim_req),
    Op(
        "narrow",
        1,
        lambda m, a, p: m.narrow(a[0], p["dim"], p["start"], p["length"]),
        _narrow_params,
    ),
    Op("select", 1, lambda m, a, p: a[0][..., 1]),
    Op("slice_step", 1, lambda m, a, p: a[0][::2]),
    Op("index_neg", 1, lambda m, a, p: a[0][-1]),
    Op("expand", 1, lambda m, a, p: a[0].expand(2, *a[0].shape)),
    Op("repeat", 1, lambda m, a, p: a[0].repeat(*([2] + [1] * a[0].dim()))),
    Op("roll", 1, lambda m, a, p: m.roll(a[0], 1, p["dim"]), _dim),
    Op("tril", 1, lambda m, a, p: m.tril(a[0])),
    Op("triu", 1, lambda m, a, p: m.triu(a[0], 1)),
    Op("cat", 2, lambda m, a, p: m.cat([a[0], a[1]], p["dim"]), _dim_req),
    Op("stack", 2, lambda m, a, p: m.stack([a[0], a[1]], p["dim"]), _dim_req),
    Op("chunk", 1, lambda m, a, p: tuple(m.chunk(a[0], 2, p["dim"])), _dim_req),
    Op("split", 1, lambda m, a, p: tuple(m.split(a[0], 1, p["dim"])), _dim_req),
    Op("matmul", 2, lambda m, a, p: m.matmul(a[0], a[1])),
    Op("contiguous", 1, lambda m, a, p: a[0].t().contiguous() if a[0].dim() == 2 else a[0]),
    Op("to_float64", 1, lambda m, a, p: a[0].to(m.float64)),
    Op("to_int32", 1, lambda m, a, p: a[0].to(m.int32)),
    Op("to_bool", 1, lambda m, a, p: a[0].bool()),
    Op("add_", 2, lambda m, a, p: a[0].add_(a[1]), inplace=True),
    Op("sub_", 2, lambda m, a, p: a[0].sub_(a[1]), inplace=True),
    Op("mul_", 2, lambda m, a, p: a[0].mul_(a[1]), inplace=True),
    Op("div_", 2, lambda m, a, p: a[0].div_(a[1]), inplace=True),
    Op("mul_scalar_", 1, lambda m, a, p: a[0].mul_(p["s"]), _scalar, inplace=True),
    Op("clamp_", 1, lambda m, a, p: a[0].clamp_(p["lo"], p["hi"]), _clamp_params, inplace=True),
    Op("fill_", 1, lambda m, a, p: a[0].fill_(p["s"]), _scalar, inplace=True),
    Op("zero_", 1, lambda m, a, p: a[0].zero_(), inplace=True),
    Op("exp_", 1, lambda m, a, p: a[0].exp_(), inplace=True),
    Op("copy_", 2, lambda m, a, p: a[0].copy_(a[1]), inplace=True),
    Op(
        "masked_fill_",
        1,
        lambda m, a, p: a[0].masked_fill_(a[0] > 0, p["s"]),
        _scalar,
        inplace=True,
    ),
    Op("setitem", 1, lambda m, a, p: a[0].__setitem__(..., p["s"]) or a[0], _scalar, inplace=True),
]
