"""Every primitive passes ``ember.autograd.gradcheck`` in float64.

Each row names the primitive it checks and a small function that must run through it (the test
walks the graph to make sure). Rows live here, in ``_gradcheck_surface.py`` and
``_gradcheck_nn.py``, and in the linalg/fft/special tables (``OTHER_TABLES``).
``test_every_primitive_has_a_row`` walks ``Primitive``'s subclasses across all of ember and sees
every table's rows, so a new primitive anywhere without a row fails.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import ember
import ember.ops
from ember.autograd.function import Primitive
from ember.ops import _linear_graph as LG
from ember.ops import elementwise as E
from ember.ops import indexing as X
from ember.ops import inplace as I
from ember.ops import join as J
from ember.ops import linalg as L
from ember.ops import reduction as R
from ember.ops import shape as S
from ember.ops import softmax as N
from ember.ops import unary as U
from ember.ops import unary_grads as UG
from tests.ops import _gradcheck_nn as _nn
from tests.ops import _gradcheck_surface as _surface
from tests.ops._cases import Arr, d
from tests.ops._gradcheck_rnn import add_rnn_rows

# The wider tensor surface: rows in _gradcheck_surface.py, added below.

ROWS: list = []


def gc(prim: type, fn, *specs: Arr, name: str = "", **kw) -> None:
    """Add a row: ``fn(*float64 tensors)`` must run through ``prim``; kw go to gradcheck."""
    ROWS.append(pytest.param(prim, fn, specs, kw, id=name or prim.__name__))


def _pos(*shape: int, low: float = 0.5, high: float = 2.0) -> Arr:
    return d(*shape, low=low, high=high)


def _unit(*shape: int) -> Arr:
    return d(*shape, low=-0.9, high=0.9)


def _idx(*rows: list) -> ember.Tensor:
    return ember.tensor(rows)


MASK = ember.tensor([[True, False, True], [False, False, True]])

# ---- elementwise -------------------------------------------------------------------------
gc(E.Add, lambda x, y: x + y, d(2, 3), d(3))
gc(E.AddScalar, lambda x: x + 2.5, d(2, 3))
gc(E.Sub, lambda x, y: x - y, d(2, 1), d(3))
gc(E.RSubScalar, lambda x: 1.5 - x, d(2, 3))
gc(E.Mul, lambda x, y: x * y, d(2, 3), d(2, 1))
gc(E.MulScalar, lambda x: x * 3.0, d(2, 3))
gc(E.Div, lambda x, y: x / y, d(2, 3), _pos(3))
gc(E.DivScalar, lambda x: x / 4.0, d(2, 3))
gc(E.Pow, lambda x, y: x**y, _pos(2, 3), d(3), name="Pow_tensor")
gc(E.Pow, lambda x: x**3, d(2, 3), name="Pow_scalar_exponent")
gc(E.Pow, lambda y: 2.0**y, d(2, 3), name="Pow_scalar_base")
gc(E.Atan2, lambda x, y: ember.atan2(x, y), d(2, 3), _pos(2, 3))
gc(E.Maximum, lambda x, y: ember.maximum(x, y), d(2, 3), d(3))
gc(E.Minimum, lambda x, y: ember.minimum(x, y), d(2, 3), d(2, 1))
gc(E.Fmax, lambda x, y: ember.fmax(x, y), d(2, 3), d(3))
gc(E.Fmin, lambda x, y: ember.fmin(x, y), d(2, 3), d(2, 1))
gc(
    E.FloorDivide,
    lambda x, y: ember.div(x, y, rounding_mode="floor"),
    _pos(2, 3, low=1.1, high=1.9),
    _pos(3, low=0.3, high=0.4),
)
gc(E.Remainder, lambda x, y: x % y, _pos(2, 3, low=1.1, high=1.9), _pos(3, low=0.7, high=0.8))
gc(E.Fmod, lambda x, y: ember.fmod(x, y), d(2, 3, low=1.1, high=1.9), _pos(3, low=0.7, high=0.8))
gc(E.Cast, lambda x: x.float(), d(2, 3), eps=1e-3)
gc(U.Neg, lambda x: -x, d(2, 3))
gc(U.Abs, lambda x: x.abs(), d(2, 3))
gc(U.Exp, lambda x: x.exp(), d(2, 3))
gc(U.Exp2, lambda x: ember.exp2(x), d(2, 3))
gc(U.Expm1, lambda x: x.expm1(), d(2, 3))
gc(U.Log, lambda x: x.log(), _pos(2, 3))
gc(U.Log2, lambda x: ember.log2(x), _pos(2, 3))
gc(U.Log10, lambda x: ember.log10(x), _pos(2, 3))
gc(U.Log1p, lambda x: x.log1p(), _pos(2, 3, low=-0.5))
gc(U.Sqrt, lambda x: x.sqrt(), _pos(2, 3))
gc(U.Rsqrt, lambda x: x.rsqrt(), _pos(2, 3))
gc(U.Sin, lambda x: x.sin(), d(2, 3))
gc(U.Cos, lambda x: x.cos(), d(2, 3))
gc(U.Tan, lambda x: ember.tan(x), _unit(2, 3))
gc(U.Asin, lambda x: ember.asin(x), _unit(2, 3))
gc(U.Acos, lambda x: ember.acos(x), _unit(2, 3))
gc(U.Atan, lambda x: ember.atan(x), d(2, 3))
gc(U.Sinh, lambda x: ember.sinh(x), d(2, 3))
gc(U.Cosh, lambda x: ember.cosh(x), d(2, 3))
gc(U.Tanh, lambda x: x.tanh(), d(2, 3))
gc(U.Asinh, lambda x: ember.asinh(x), d(2, 3))
gc(U.Acosh, lambda x: ember.acosh(x), _pos(2, 3, low=1.2, high=3.0))
gc(U.Atanh, lambda x: ember.atanh(x), _unit(2, 3))
gc(U.Reciprocal, lambda x: x.reciprocal(), _pos(2, 3))
gc(U.Square, lambda x: ember.square(x), d(2, 3))
gc(U.Sigmoid, lambda x: x.sigmoid(), d(2, 3, low=-6, high=6))
# The gradients of tanh and sigmoid as ops (what their backward records under create_graph).
gc(UG.TanhBackward, lambda g, y: UG.TanhBackward.apply(g, y), d(2, 3), _unit(2, 3))
gc(
    UG.SigmoidBackward,
    lambda g, y: UG.SigmoidBackward.apply(g, y),
    d(2, 3),
    _pos(2, 3, low=0.1, high=0.9),
)
# tanh's second derivative for y, -2 gg g y, as one op (and its own derivatives).
gc(
    UG.ScaledProduct,
    lambda a, b, c: UG.ScaledProduct.apply(a, b, c, -2),
    d(2, 3),
    d(2, 3),
    d(2, 3),
)
gc(
    UG.ScaledProduct,
    lambda a, b, c: UG.ScaledProduct.apply(a, b, c, 0.5),
    d(2, 3),
    d(3),
    d(2, 1),
    name="ScaledProduct_broadcast",
)
gc(U.Sign, lambda x: x.sign(), d(2, 3))
gc(U.Floor, lambda x: x.floor(), d(2, 3))
gc(U.Ceil, lambda x: x.ceil(), d(2, 3))
gc(U.Trunc, lambda x: x.trunc(), d(2, 3))
gc(U.Frac, lambda x: ember.frac(x), d(2, 3))
gc(U.Round, lambda x: x.round(), d(2, 3))
gc(U.Relu, lambda x: x.relu(), d(2, 3))
gc(U.Erf, lambda x: ember.erf(x), d(2, 3))
gc(U.Clamp, lambda x: x.clamp(-0.5, 0.7), d(2, 3), name="Clamp_scalar")
gc(
    U.Clamp,
    lambda x, lo, hi: x.clamp(lo, hi),
    d(2, 3),
    d(3, high=-0.5),
    d(2, 1, low=0.5),
    name="Clamp_tensor",
)
gc(E.Where, lambda x, y: ember.where(MASK, x, y), d(2, 3), d(3))
gc(E.Lerp, lambda x, y, w: ember.lerp(x, y, w), d(2, 3), d(3), d(2, 1))
gc(E.Lerp, lambda x, y: ember.lerp(x, y, 0.75), d(2, 3), d(2, 3), name="Lerp_scalar_weight")

# ---- in-place ------------------------------------------------------------------------------


def _copy_into(x, src):
    y = x * 1
    y.copy_(src)
    return y * x


gc(I._CopyFrom, _copy_into, d(2, 3), d(3))

# ---- linalg --------------------------------------------------------------------------------
gc(L.Matmul, lambda x, y: x @ y, d(2, 3), d(3, 2), name="Matmul_mat")
gc(L.Matmul, lambda x, y: x @ y, d(2, 2, 3), d(3), name="Matmul_batch_vec")
gc(L.Matmul, lambda x, y: x @ y, d(3), d(2, 3, 2), name="Matmul_vec_batch")
gc(L.Matmul, lambda x, y: x @ y, d(2, 1, 2, 3), d(2, 3, 2), name="Matmul_broadcast")
gc(L.Matmul, lambda x, y: x @ y, d(3), d(3), name="Matmul_dot")
gc(L.Linear, lambda x, w, b: L.linear(x, w, b), d(2, 3), d(4, 3), d(4), name="Linear_bias")
gc(L.Linear, lambda x, w: L.linear(x, w), d(2, 2, 3), d(2, 3), name="Linear_3d")
# Linear's three gradients as one op (what its backward records under create_graph).
gc(
    LG.LinearBackward,
    lambda g, x, w: LG.LinearBackward.apply(g, x, w, (True, True, True)),
    d(2, 4),
    d(2, 3),
    d(4, 3),
    name="LinearBackward_all",
)
gc(
    LG.LinearBackward,
    lambda g, x: LG.LinearBackward.apply(g, x, None, (False, True, True)),
    d(2, 2, 4),
    d(2, 2, 3),
    name="LinearBackward_weight_bias_3d",
)
gc(
    LG.LinearBackward,
    lambda g, w: LG.LinearBackward.apply(g, None, w, (True, False, False)),
    d(4),
    d(4, 3),
    name="LinearBackward_input_1d",
)

# ---- softmax -------------------------------------------------------------------------------
gc(N.Softmax, lambda x: x.softmax(-1), d(2, 3))
gc(N.LogSoftmax, lambda x: x.log_softmax(0), d(2, 3))

# ---- reductions ----------------------------------------------------------------------------
gc(R.Sum, lambda x: x.sum((0, 2), keepdim=True), d(2, 3, 2))
gc(R.Mean, lambda x: x.mean(-1), d(2, 3))
gc(R.Var, lambda x: x.var(1), d(2, 3), name="Var")
gc(R.Var, lambda x: x.var(correction=0), d(2, 3), name="Var_all")
gc(R.Std, lambda x: x.std(0), d(2, 3), name="Std")
gc(R.Std, lambda x: x.std(correction=0, keepdim=True), d(2, 3), name="Std_all")
gc(R.Prod, lambda x: x.prod(1), d(2, 3), name="Prod_dim")
gc(R.Prod, lambda x: (x * (x > 0)).prod(), d(2, 3), name="Prod_with_zero")
gc(R.Amax, lambda x: x.amax(1), d(2, 3), name="Amax")
gc(R.Amax, lambda x: x.min(), d(2, 3), name="Amax_min_full")
gc(R.MaxDim, lambda x: x.max(1).values, d(2, 3), name="MaxDim_max")
gc(R.MaxDim, lambda x: x.min(0, keepdim=True)[0], d(2, 3), name="MaxDim_min")
gc(R.LogSumExp, lambda x: x.logsumexp(1), d(2, 3))
gc(R.Norm2, lambda x: x.norm(dim=1), d(2, 3))
gc(R.Cumsum, lambda x: x.cumsum(1), d(2, 3))
gc(R.Cumprod, lambda x: x.cumprod(1), _pos(2, 3))

# ---- shape and indexing --------------------------------------------------------------------
gc(S.Reshape, lambda x: x.view(3, 2), d(2, 3))
gc(S.ReshapeCopy, lambda x: x.t().reshape(6), d(2, 3))
gc(S.Permute, lambda x: x.permute(2, 0, 1), d(2, 3, 2))
gc(S.Expand, lambda x: x.expand(2, 3, 2), d(3, 1))
gc(S.Repeat, lambda x: x.repeat(2, 1, 2), d(2, 3))
gc(J.Cat, lambda x, y: ember.cat([x, y], 1), d(2, 1), d(2, 3))
gc(X.Slice, lambda x: x[1:, ::2], d(3, 4))
gc(X.Index, lambda x: x[ember.tensor([0, 2, 0])], d(3, 2), name="Index_int")
gc(X.Index, lambda x: x[MASK], d(2, 3), name="Index_mask")
gc(X.IndexPut, lambda x, v: x.index_put((ember.tensor([0, 1]),), v), d(3, 2), d(2))


def _setitem(x, v):
    y = x * 1
    y[ember.tensor([2, 0])] = v
    return y


gc(X.IndexPut, _setitem, d(3, 2), d(2), name="IndexPut_setitem")
gc(X.Gather, lambda x: x.gather(1, _idx([0, 0, 2], [1, 2, 1])), d(2, 3))
gc(X.Scatter, lambda x, s: x.scatter(1, _idx([0, 2], [1, 0]), s), d(2, 3), d(2, 2), name="Scatter")
gc(
    X.Scatter,
    lambda x, s: x.scatter_add(0, _idx([0, 1, 0], [1, 1, 0]), s),
    d(2, 3),
    d(2, 3),
    name="Scatter_add",
)
gc(
    X.AddIntoZeros,
    lambda g: X.AddIntoZeros.apply(g, (3, 2), (np.array([0, 2, 0]),)),
    d(3, 2),
)
gc(X.IndexSelect, lambda x: x.index_select(0, ember.tensor([1, 1, 0])), d(2, 3))
gc(X.MaskedFill, lambda x, v: x.masked_fill(MASK, v), d(2, 3), d())
gc(S.Flip, lambda x: x.flip(0, 1), d(2, 3))
gc(S.Roll, lambda x: x.roll((1, -1), (0, 1)), d(2, 3))
gc(S.Tri, lambda x: x.tril(-1) + x.triu(1), d(3, 3))
gc(S.ConstantPad, lambda x: S.constant_pad(x, (1, -1, 0, 2)), d(2, 3))
gc(S.Clone, lambda x: x.clone(), d(2, 3))


_surface.add_rows(gc)
_nn.add_rows(gc)
add_rnn_rows(gc)


# Families whose rows live in a table of their own (same row format); the one completeness check
# below sees their rows too.
OTHER_TABLES = (
    "tests.special.test_special_gradcheck",
    "tests.linalg.test_linalg_gradcheck",
    "tests.fft.test_fft_gradcheck",
)
# Modules outside ember/ops that define primitives.
PRIMITIVE_MODULES = (
    "ember.linalg",
    "ember.fft",
    "ember.special",
    "ember.special._more",
    "ember._complex",
    "ember.distributions._math",
    "ember.nn.modules._hooks",
    "ember.nn.utils._matrix",
)
# Primitives still without a row (gradchecked, where they are, in their family's own tests).
# The list may only shrink: a listed primitive that gains a row, or disappears, fails the check.
NOT_YET_IN_A_TABLE = {
    "ember.distributions._math.GammaReparam",
    "ember.ops.ctc.CTCLossNLL",
    "ember.ops.distance.Pdist",
}


def _all_rows() -> list:
    rows = list(ROWS)
    for name in OTHER_TABLES:
        rows += importlib.import_module(name).t.rows
    return rows


def _all_primitives() -> set:
    """Every primitive ember defines (every ember/ops module and the modules listed above)."""
    for info in pkgutil.iter_modules(ember.ops.__path__):
        importlib.import_module(f"ember.ops.{info.name}")
    for name in PRIMITIVE_MODULES:
        importlib.import_module(name)
    found, stack = set(), [Primitive]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    base = ember.ops._util.Primitive  # the ops' base class, not an op
    return {c for c in found if c is not base and c.__module__.startswith("ember.")}


def _graph_primitives(outputs: tuple) -> set:
    seen, prims = set(), set()
    stack = [o.grad_fn for o in outputs if isinstance(o, ember.Tensor) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        prims.add(type(node)._fn)
        for e in node.next_edges:
            if isinstance(e, tuple):
                stack.append(e[0])
    return prims


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def test_every_primitive_has_a_row():
    # One check for every family: the rows of this table and of the OTHER_TABLES.
    covered = {_name(p.values[0]) for p in _all_rows()}
    every = {_name(c) for c in _all_primitives()}
    missing = sorted(every - covered - NOT_YET_IN_A_TABLE)
    assert not missing, f"add a gradcheck row (tests/ops/test_gradcheck.py) for: {missing}"
    stale = sorted(NOT_YET_IN_A_TABLE & covered) + sorted(NOT_YET_IN_A_TABLE - every)
    assert not stale, f"remove from NOT_YET_IN_A_TABLE (it has a row, or is gone): {stale}"


@pytest.mark.parametrize("prim, fn, specs, kw", ROWS)
def test_gradcheck(prim, fn, specs, kw):
    inputs = [
        ember.tensor(s.make(seed=k + 3).astype(np.float64), requires_grad=True)
        for k, s in enumerate(specs)
    ]
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert prim in _graph_primitives(outs), f"{prim.__name__} is not in the graph of this row"
    assert ember.autograd.gradcheck(fn, inputs, **kw)
