"""The linear family against torch: F.linear / F.bilinear, Linear, Bilinear, Identity, Flatten,
Unflatten (values, gradients of input, weight and bias; default initialisation; errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.nn as enn
import ember.nn.functional as F
from ember.ops.bilinear import Bilinear as BilinearPrim
from tests.parity import assert_close, check_op, copy_weights, rand_array


@pytest.mark.parametrize(
    "xshape, out_f, bias",
    [
        ((5, 3), 4, True),
        ((5, 3), 4, False),
        ((2, 3, 7), 6, True),
        ((2, 1, 3, 7), 5, True),
        ((7,), 3, True),
        ((7,), 3, False),
        ((0, 4), 2, True),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_f_linear_parity(xshape, out_f, bias, dtype):
    x = rand_array(xshape, dtype, 1)
    w = rand_array((out_f, xshape[-1]), dtype, 2)
    if bias:
        b = rand_array((out_f,), dtype, 3)
        check_op(F.linear, TF.linear, x, w, b, rtol=1e-5, atol=1e-5)
    else:
        check_op(F.linear, TF.linear, x, w, rtol=1e-5, atol=1e-5)


def test_f_linear_on_views_and_empty_features():
    # N-D inputs run as one folded GEMM; a transposed view is copied by the fold.
    x = rand_array((3, 2, 4), np.float32, 1)
    w = rand_array((5, 4), np.float32, 2)
    b = rand_array((5,), np.float32, 3)
    check_op(
        lambda x, w, b: F.linear(x.transpose(0, 1), w, b),
        lambda x, w, b: TF.linear(x.transpose(0, 1), w, b),
        x,
        w,
        b,
        rtol=1e-5,
        atol=1e-5,
    )
    out = F.linear(ember.zeros(2, 3, 0), ember.zeros(5, 0), ember.ones(5))
    assert out.shape == (2, 3, 5) and bool((out == 1).all())
    m = ember.matmul(ember.zeros(2, 3, 0), ember.zeros(0, 5))
    assert m.shape == (2, 3, 5) and not bool(m.any())


@pytest.mark.parametrize(
    "in_f, out_f, bias, xshape",
    [(6, 4, True, (5, 6)), (6, 4, False, (3, 2, 6)), (3, 1, True, (3,)), (20, 30, True, (8, 20))],
)
def test_linear_module_parity(in_f, out_f, bias, xshape):
    em = enn.Linear(in_f, out_f, bias=bias)
    tm = tnn.Linear(in_f, out_f, bias=bias)
    copy_weights(em, tm)
    assert repr(em) == repr(tm)
    x = rand_array(xshape, np.float32, 4)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    eo, to = em(ex), tm(tx)
    assert_close(eo, to, rtol=1e-5, atol=1e-6)
    up = rand_array(tuple(to.shape), np.float32, 5)
    eo.backward(ember.tensor(up))
    to.backward(torch.tensor(up))
    assert_close(ex.grad, tx.grad, rtol=1e-5, atol=1e-5)
    assert_close(em.weight.grad, tm.weight.grad, rtol=1e-5, atol=1e-5)
    if bias:
        assert_close(em.bias.grad, tm.bias.grad, rtol=1e-5, atol=1e-5)
    else:
        assert em.bias is None and "bias" not in dict(em.named_parameters())


def test_linear_default_init_bounds():
    m = enn.Linear(784, 256)
    bound = 1 / math.sqrt(784)
    w, b = m.weight._data.copy(), m.bias._data.copy()
    assert w.shape == (256, 784) and b.shape == (256,)
    assert w.dtype == np.float32 and m.weight.requires_grad
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound): std bound/sqrt(3), and the range is actually used.
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound and abs(w.mean()) < 0.01 * bound
    m.reset_parameters()
    assert not np.array_equal(m.weight._data, w)
    m64 = enn.Linear(3, 2, dtype=ember.float64)
    assert m64.weight.dtype is ember.float64 and m64.bias.dtype is ember.float64


def test_linear_shape_error_names_layer_and_expected_size():
    m = enn.Linear(784, 256)
    with pytest.raises(RuntimeError) as e:
        m(ember.randn(64, 100))
    msg = str(e.value)
    assert "mat1 and mat2 shapes cannot be multiplied (64x100 and 784x256)" in msg
    assert msg.endswith(
        "expected input with 784 features in its last dimension, got 100 "
        "(in Linear(in_features=784, out_features=256, bias=True))"
    )
    with pytest.raises(RuntimeError, match=r"\(64x100 and 784x256\)"):
        tnn.Linear(784, 256)(torch.randn(64, 100))  # torch's gist, for comparison
    with pytest.raises(RuntimeError, match=r"\(6x5 and 4x3\).*expected input with 4 features"):
        enn.Linear(4, 3)(ember.randn(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"\(64x100 and 784x256\).*with 784 features.*got 100"):
        F.linear(ember.randn(64, 100), ember.randn(256, 784))


def test_linear_type_and_dtype_errors():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        F.linear(ember.randn(2, 3, dtype=ember.float64), ember.randn(4, 3))
    with pytest.raises(TypeError, match=r"linear\(\): argument 'input' \(position 1\)"):
        F.linear([[1.0, 2.0]], ember.randn(4, 2))
    with pytest.raises(TypeError, match=r"argument 'input' \(position 1\) must be Tensor"):
        enn.Linear(2, 3)([[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"argument 'weight' \(position 2\) must be Tensor"):
        F.linear(ember.randn(2), [[1.0, 2.0]])


def test_replaced_bias_of_wrong_size_raises_runtime_error():
    m = enn.Linear(3, 4)
    m.bias = enn.Parameter(ember.zeros(5))
    with pytest.raises(RuntimeError, match="size of tensor a \\(4\\) must match"):
        m(ember.randn(2, 3))


def test_weights_can_be_replaced_as_in_the_nn_tutorial():
    layer = enn.Linear(1, 1)
    layer.weight = enn.Parameter(ember.FloatTensor([[0]]))
    layer.bias = enn.Parameter(ember.FloatTensor([0]))
    assert layer(ember.tensor([[3.0]])).tolist() == [[0.0]]


def test_mlp_training_steps_match_torch():
    """Linear-ReLU-Linear with a hand-written SGD update: the same losses step by step."""
    em = enn.Sequential(enn.Linear(8, 16), enn.ReLU(), enn.Linear(16, 3))
    tm = tnn.Sequential(tnn.Linear(8, 16), tnn.ReLU(), tnn.Linear(16, 3))
    copy_weights(em, tm)
    x = rand_array((32, 8), np.float32, 6)
    y = rand_array((32, 3), np.float32, 7)
    ex, ey, tx, ty = ember.tensor(x), ember.tensor(y), torch.tensor(x), torch.tensor(y)
    for _ in range(5):
        el = ((em(ex) - ey) ** 2).mean()
        tl = ((tm(tx) - ty) ** 2).mean()
        assert_close(el, tl, rtol=1e-5, atol=1e-6)
        em.zero_grad()
        tm.zero_grad()
        el.backward()
        tl.backward()
        with ember.no_grad():
            for p in em.parameters():
                p -= 0.1 * p.grad
        with torch.no_grad():
            for p in tm.parameters():
                p -= 0.1 * p.grad


# ---- bilinear -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "lead, i, j, o, bias",
    [((5,), 3, 4, 2, True), ((5,), 3, 4, 2, False), ((2, 3), 4, 2, 5, True), ((), 3, 2, 4, True)],
)
def test_f_bilinear_parity(lead, i, j, o, bias):
    x1 = rand_array(lead + (i,), np.float32, 1)
    x2 = rand_array(lead + (j,), np.float32, 2)
    w = rand_array((o, i, j), np.float32, 3)
    args = (x1, x2, w) + ((rand_array((o,), np.float32, 4),) if bias else ())
    check_op(F.bilinear, TF.bilinear, *args, rtol=1e-5, atol=1e-5)


def test_bilinear_module_parity_and_init():
    em = enn.Bilinear(5, 3, 4)
    tm = tnn.Bilinear(5, 3, 4)
    assert repr(em) == repr(tm)
    bound = 1 / math.sqrt(5)
    assert np.abs(em.weight._data).max() <= bound and np.abs(em.bias._data).max() <= bound
    copy_weights(em, tm)
    a, b = rand_array((6, 5), np.float32, 1), rand_array((6, 3), np.float32, 2)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    eo, to = em(ea, eb), tm(ta, tb)
    assert_close(eo, to, rtol=1e-5, atol=1e-5)
    eo.sum().backward()
    to.sum().backward()
    for e, t in [(ea, ta), (eb, tb), (em.weight, tm.weight), (em.bias, tm.bias)]:
        assert_close(e.grad, t.grad, rtol=1e-5, atol=1e-5)


def test_bilinear_gradcheck():
    g = [rand_array(s, np.float64, k) for k, s in enumerate([(2, 3), (2, 4), (2, 3, 4), (2,)])]
    ts = [ember.tensor(a, requires_grad=True) for a in g]
    assert ember.autograd.gradcheck(BilinearPrim.apply, ts)
    assert ember.autograd.gradcheck(lambda a, b, w: BilinearPrim.apply(a, b, w, None), ts[:3])


def test_bilinear_errors():
    w = ember.randn(5, 3, 4)
    with pytest.raises(RuntimeError, match="input2 size does not match weight size: got 5"):
        F.bilinear(ember.randn(2, 3), ember.randn(2, 5), w)
    with pytest.raises(RuntimeError, match="input1 size does not match weight size: got 2"):
        F.bilinear(ember.randn(2, 2), ember.randn(2, 4), w)
    with pytest.raises(RuntimeError, match="input batch dimensions do not match at dim 0"):
        F.bilinear(ember.randn(2, 3), ember.randn(3, 4), w)
    with pytest.raises(RuntimeError, match="bias size does not match weight size: got 4"):
        F.bilinear(ember.randn(2, 3), ember.randn(2, 4), w, ember.randn(4))
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=3"):
        enn.Bilinear(3, 4, 5)(ember.randn(2, 3), ember.randn(2, 6))
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        enn.Bilinear(0, 4, 5)


# ---- Identity, Flatten, Unflatten -------------------------------------------------------------
def test_identity():
    m = enn.Identity(54, unused_argument1=0.1)
    assert repr(m) == repr(tnn.Identity(54, unused_argument1=0.1)) == "Identity()"
    x = ember.randn(3, 4)
    assert m(x) is x


@pytest.mark.parametrize(
    "args, shape",
    [((), (4, 3, 2, 5)), ((0, -1), (4, 3, 2)), ((1, 2), (2, 3, 4, 5)), ((-3, -2), (2, 3, 4, 5))],
)
def test_flatten(args, shape):
    em, tm = enn.Flatten(*args), tnn.Flatten(*args)
    assert repr(em) == repr(tm)
    check_op(em, tm, rand_array(shape, np.float32, 1))


@pytest.mark.parametrize(
    "dim, sizes, shape",
    [(1, (2, 5), (3, 10)), (-1, [2, 2, 3], (2, 12)), (0, (4, -1), (8, 3)), (1, (5, 5), (2, 25, 1))],
)
def test_unflatten(dim, sizes, shape):
    em, tm = enn.Unflatten(dim, sizes), tnn.Unflatten(dim, sizes)
    assert repr(em) == repr(tm)
    check_op(em, tm, rand_array(shape, np.float32, 2))


def test_unflatten_errors():
    with pytest.raises(
        TypeError, match="unflattened_size must be tuple of ints, but found element"
    ):
        enn.Unflatten(1, (2, 2.5))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type"):
        enn.Unflatten(1, 5)


def test_flatten_linear_pipeline():
    em = enn.Sequential(enn.Flatten(), enn.Linear(12, 2), enn.Unflatten(1, (1, 2)))
    tm = tnn.Sequential(tnn.Flatten(), tnn.Linear(12, 2), tnn.Unflatten(1, (1, 2)))
    copy_weights(em, tm)
    check_op(em, tm, rand_array((5, 3, 2, 2), np.float32, 3), grad_rtol=1e-5, grad_atol=1e-5)


def test_docstring_examples_run():
    """The ``>>>`` examples in this family's docstrings are executed."""
    import doctest
    import importlib

    names = [
        "ember.nn.modules.linear",
        "ember.nn.modules.activation",
        "ember.nn.modules.dropout",
        "ember.nn.functional._linear",
        "ember.nn.functional._activation",
        "ember.nn.functional._dropout",
        "ember.nn.init",
        "ember.nn.utils.clip_grad",
        "ember.nn.utils.convert_parameters",
    ]
    attempted = 0
    for name in names:
        res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, name
        attempted += res.attempted
    assert attempted >= 20
