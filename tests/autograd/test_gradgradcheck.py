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
from tests.fft.test_fft_gradcheck import t as _fft
from tests.linalg import test_linalg_gradcheck as _linalg
from tests.ops.test_gradcheck import ROWS as _OPS_ROWS
from tests.special.test_special_gradcheck import t as _special

# The gradcheck table's rows, and those of the family tables (same format, no gradcheck
# keywords): linalg, fft/complex and ember.special.
ROWS = _OPS_ROWS + [
    pytest.param(*p.values, {}, id=f"{name}-{p.id}")
    for name, table in (("linalg", _linalg.t), ("fft", _fft), ("special", _special))
    for p in table.rows
]

# Not yet twice differentiable: differentiating their gradient raises a RuntimeError naming the
# op.
EXPECTED_TO_RAISE = {
    "ember.ops.activation.Hardsigmoid",  # PyTorch has no double backward for it either
    # The Gamma sample's reparameterisation gradient raises PyTorch's NotImplementedError
    # (tests/distributions/test_math.py).
    "ember.distributions._math.GammaReparam",
    "ember.ops.ctc.CTCLossNLL",  # PyTorch has no double backward for it either: its error
    "ember.ops.distance.Pdist",  # PyTorch has no double backward for it either: its error
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
        "LSTMInputLayer": lambda: lstm(t(2, 1, 3))[0],
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


def _pdist_gradient(m):
    x = m.tensor([[0.1, 0.5], [0.7, -0.2], [0.3, 0.9]], dtype=m.float64, requires_grad=True)
    return m.autograd.grad(m.pdist(x).sum(), x, create_graph=True)[0]


def _ctc_gradient(m):
    lp = m.linspace(-2, 1, 40, dtype=m.float64).reshape(5, 2, 4).log_softmax(2)
    lp = lp.detach().requires_grad_()
    loss = m.nn.functional.ctc_loss(lp, m.tensor([[1, 2], [3, 1]]), [5, 5], [2, 2])
    return m.autograd.grad(loss, lp, create_graph=True)[0]


@pytest.mark.parametrize("gradient", [_pdist_gradient, _ctc_gradient])
def test_ops_torch_cannot_differentiate_twice_raise_torchs_error(gradient):
    # pdist and ctc_loss: PyTorch has no double backward; ember gives the same exception and
    # message when the gradient is differentiated (first derivatives under create_graph work).
    errors = []
    for m in (ember, torch):
        g = gradient(m)
        with pytest.raises(RuntimeError) as info:
            (g * g).sum().backward()
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
