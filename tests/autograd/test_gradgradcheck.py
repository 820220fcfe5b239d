"""``gradgradcheck`` on every primitive: the gradcheck table's rows (tests/ops/test_gradcheck.py)
run through second derivatives too.

``test_every_primitive_is_covered_or_expected_to_raise`` walks every ``Primitive`` subclass in
ember: each one is either twice differentiable and has a gradcheck row (checked here with
gradgradcheck), or is listed in ``EXPECTED_TO_RAISE``; those with a row are checked to raise
when differentiated twice, the nn-family ones through one call per family below.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
import ember.ops
from ember.autograd.function import Primitive
from ember.autograd.gradcheck import GradcheckError
from tests.ops.test_gradcheck import ROWS as _CORE_ROWS
from tests.special.test_special_gradcheck import t as _special

# The core table and ember.special's (whose rows take no gradcheck keywords).
ROWS = _CORE_ROWS + [pytest.param(*p.values, {}, id=f"special-{p.id}") for p in _special.rows]

# Not yet twice differentiable: differentiating their gradient raises a RuntimeError naming the
# op.
EXPECTED_TO_RAISE = {
    "ember.ops.activation.Hardsigmoid",  # PyTorch has no double backward for it either
    # ember.distributions' private primitives (GammaReparam raises PyTorch's NotImplementedError:
    # tests/distributions/test_math.py).
    "ember.distributions._math.Cholesky",
    "ember.distributions._math.GammaReparam",
    "ember.distributions._math.SolveTriangular",
    # Added by the wider-surface families; twice differentiable in torch, not yet here.
    "ember._complex.Angle",
    "ember._complex.Complex",
    "ember._complex.Conj",
    "ember._complex.Imag",
    "ember._complex.Polar",
    "ember._complex.Real",
    "ember._complex.ViewAsComplex",
    "ember._complex.ViewAsReal",
    "ember.nn.utils._matrix.MatrixExp",
    "ember.nn.utils._matrix.Solve",
    "ember.ops.ctc.CTCLossNLL",
    "ember.ops.cumulative.LogCumSumExp",
    "ember.ops.distance.Pdist",
    "ember.ops.fft.FftC2C",
    "ember.ops.fft.FftC2R",
    "ember.ops.fft.FftR2C",
    "ember.ops.index_ops.ScatterReduce",
    "ember.ops.linalg_decomp.Cholesky",
    "ember.ops.linalg_decomp.Eigh",
    "ember.ops.linalg_decomp.Eigvalsh",
    "ember.ops.linalg_decomp.Qr",
    "ember.ops.linalg_decomp.Svd",
    "ember.ops.linalg_decomp.Svdvals",
    "ember.ops.linalg_lu.Lu",
    "ember.ops.linalg_lu.LuFactor",
    "ember.ops.linalg_lu.SolveTriangular",
    "ember.ops.linalg_solve.Cross",
    "ember.ops.linalg_solve.Det",
    "ember.ops.linalg_solve.Diagonal",
    "ember.ops.linalg_solve.Inv",
    "ember.ops.linalg_solve.MatrixExp",
    "ember.ops.linalg_solve.Pinv",
    "ember.ops.linalg_solve.Slogdet",
    "ember.ops.linalg_solve.Solve",
    "ember.ops.products.Einsum",
    "ember.ops.stacking.Strided",
}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _all_primitives() -> set:
    for info in pkgutil.iter_modules(ember.ops.__path__):
        importlib.import_module(f"ember.ops.{info.name}")
    # The packages outside ember.ops that define primitives: imported here so that the walk
    # does not depend on which tests ran first.
    for mod in (
        "ember._complex",
        "ember.distributions._math",
        "ember.nn.modules._hooks",
        "ember.nn.utils._matrix",
        "ember.special._ops",
    ):
        importlib.import_module(mod)
    found, stack = set(), [Primitive]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    base = ember.ops._util.Primitive  # the ops' base class, not an op
    return {c for c in found if c is not base and c.__module__.startswith("ember.")}


def test_every_primitive_is_covered_or_expected_to_raise():
    covered = {p.values[0] for p in ROWS}
    problems = []
    for cls in sorted(_all_primitives(), key=_name):
        name = _name(cls)
        if name in EXPECTED_TO_RAISE:
            if cls.twice_differentiable:
                problems.append(f"{name} is twice differentiable: remove it from EXPECTED_TO_RAISE")
        elif not cls.twice_differentiable:
            problems.append(f"{name}: make it twice differentiable or add it to EXPECTED_TO_RAISE")
        elif cls not in covered:
            problems.append(f"{name}: add a row to tests/ops/test_gradcheck.py")
    stale = EXPECTED_TO_RAISE - {_name(c) for c in _all_primitives()}
    problems += [f"{n} no longer exists: remove it from EXPECTED_TO_RAISE" for n in sorted(stale)]
    assert not problems, "\n".join(problems)


def _inputs(specs):
    return [
        ember.tensor(s.make(seed=k + 3).astype(np.float64), requires_grad=True)
        for k, s in enumerate(specs)
    ]


@pytest.mark.parametrize("prim, fn, specs, kw", ROWS)
def test_gradgradcheck(prim, fn, specs, kw):
    inputs = _inputs(specs)
    if _name(prim) in EXPECTED_TO_RAISE:
        with pytest.raises(RuntimeError, match=f"cannot differentiate {prim.__name__} twice"):
            ember.autograd.gradgradcheck(fn, inputs, **kw)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the Cast row's float32 output
        assert ember.autograd.gradgradcheck(fn, inputs, **kw)


@pytest.mark.parametrize("prim, fn, specs, kw", ROWS)
def test_create_graph_first_derivatives_equal_first_order_ones(prim, fn, specs, kw):
    # gradgradcheck differentiates the create_graph formula against itself: this checks its
    # values against the first-order (array) formula.
    inputs = _inputs(specs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        outs = fn(*inputs)
        outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.requires_grad]
        rng = np.random.default_rng(2)
        vs = [
            ember.tensor(rng.uniform(-1, 1, o.shape).astype(o.detach().numpy().dtype)) for o in outs
        ]
        first = ember.autograd.grad(outs, inputs, vs, retain_graph=True, allow_unused=True)
        graph = ember.autograd.grad(outs, inputs, vs, create_graph=True, allow_unused=True)
    for a, b in zip(first, graph):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b.detach().numpy(), a.numpy(), rtol=1e-10, atol=1e-12)


# One call per nn family: the first derivatives under create_graph equal the first-order ones
# (to rounding), and the second raises, naming the op (or runs, for twice-differentiable ops).
def _nn_calls():
    rng = np.random.default_rng(0)

    def t(*shape):
        return ember.tensor(rng.uniform(-1, 1, shape), requires_grad=True)

    lstm = ember.nn.LSTM(3, 2).double()
    return {
        "Gelu": lambda: F.gelu(t(2, 3)),
        "LeakyRelu": lambda: F.leaky_relu(t(2, 3), 0.1),
        "ConvNd": lambda: F.conv2d(t(1, 2, 4, 4), t(3, 2, 3, 3)),
        "MaxPoolNd": lambda: F.max_pool2d(t(1, 1, 4, 4), 2) ** 2,
        "LayerNorm": lambda: F.layer_norm(t(2, 4), (4,)),
        "BatchNormTrain": lambda: F.batch_norm(t(4, 3), None, None, training=True),
        "CrossEntropy": lambda: F.cross_entropy(t(3, 4), ember.tensor([0, 3, 1])),
        "Embedding": lambda: F.embedding(ember.tensor([1, 0, 2]), t(3, 2)) ** 2,
        "LSTMLayer": lambda: lstm(t(2, 1, 3))[0],
        "Attention": lambda: F.scaled_dot_product_attention(t(1, 2, 3), t(1, 2, 3), t(1, 2, 3)),
        "Interpolate": lambda: F.interpolate(t(1, 1, 3), scale_factor=2, mode="linear") ** 2,
        "Bilinear": lambda: F.bilinear(t(2, 3), t(2, 2), t(4, 3, 2)),
    }


@pytest.mark.parametrize("op", sorted(_nn_calls()))
def test_nn_primitives_under_create_graph(op):
    call = _nn_calls()[op]
    out = call()
    leaves = _leaves(out)
    first = ember.autograd.grad(out.sum(), leaves, retain_graph=True)
    graph = ember.autograd.grad(out.sum(), leaves, create_graph=True)
    for a, b in zip(first, graph):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    total = sum((g * g).sum() for g in graph)
    if not any(n.endswith(f".{op}") for n in EXPECTED_TO_RAISE):
        total.backward()  # twice differentiable now (values: test_higher_order.py)
        assert all(leaf.grad is not None for leaf in leaves)
        return
    with pytest.raises(RuntimeError, match=f"cannot differentiate {op} twice"):
        total.backward()


def _leaves(out):
    leaves, seen, stack = [], set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if isinstance(e, ember.Tensor) and id(e) not in seen:
                seen.add(id(e))
                leaves.append(e)
            elif isinstance(e, tuple):
                stack.append(e[0])
    return leaves


def test_gradgradcheck_signature_and_failure_like_torch():
    for m in (ember, torch):
        x = m.tensor([0.3, 0.9], dtype=m.float64, requires_grad=True)
        v = m.tensor([1.0, -2.0], dtype=m.float64, requires_grad=True)
        assert m.autograd.gradgradcheck(lambda a: a.sin() * a, (x,), (v,), atol=1e-5)

    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a.detach() ** 2 * g  # detached: a wrong second derivative

    x = ember.tensor([0.3, 0.9], dtype=ember.float64, requires_grad=True)
    assert not ember.autograd.gradgradcheck(Wrong.apply, (x,), raise_exception=False)
    with pytest.raises(GradcheckError):
        ember.autograd.gradgradcheck(Wrong.apply, (x,))
