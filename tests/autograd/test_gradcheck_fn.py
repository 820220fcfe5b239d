"""ember.autograd.gradcheck: passes right backwards, catches wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.autograd.function import Primitive
from ember.autograd.gradcheck import GradcheckError


class GoodSquare(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class WrongSquare(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x * g  # missing the factor 2


class GoodMul(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x


class SwappedMul(Primitive):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * x, g * y  # gradients swapped


class WrongSign(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        return -g  # neither sign nor cos


class GoodSin(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.cos()


def _x(shape=(3, 2), seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_passes_right_backwards():
    assert gradcheck(GoodSquare.apply, (_x(),))
    assert gradcheck(GoodMul.apply, (_x(seed=1), _x(seed=2)))
    assert gradcheck(GoodSin.apply, (_x((4,)),))
    assert gradcheck(lambda a, b: (a @ b.T).tanh().sum(1), (_x(seed=3), _x(seed=4)))


def test_detects_wrong_backwards():
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (_x(),))
    with pytest.raises(GradcheckError):
        gradcheck(SwappedMul.apply, (_x(seed=1), _x(seed=2)))
    with pytest.raises(GradcheckError):
        gradcheck(WrongSign.apply, (_x((4,)),))
    assert isinstance(GradcheckError("x"), RuntimeError)


def test_raise_exception_false_returns_false():
    assert gradcheck(WrongSquare.apply, (_x(),), raise_exception=False) is False
    assert gradcheck(GoodSquare.apply, (_x(),), raise_exception=False) is True


def test_only_inputs_requiring_grad_are_checked():
    y = ember.tensor(np.random.default_rng(5).standard_normal((3, 2)))  # no grad
    # with y constant the swapped backward is wrong for x: d(xy)/dx = y, it returns x
    with pytest.raises(GradcheckError):
        gradcheck(SwappedMul.apply, (_x(seed=1), y))


def test_multiple_outputs_and_non_tensor_args():
    def f(a, k):
        return a * k, a.exp()

    assert gradcheck(f, (_x(), 3.0))


def test_needs_a_grad_input_and_warns_on_float32():
    with pytest.raises(ValueError):
        gradcheck(GoodSquare.apply, (ember.ones(2, dtype=ember.float64),))
    x32 = ember.tensor([0.5, 1.5], requires_grad=True)
    with pytest.warns(UserWarning, match="double precision"):
        assert gradcheck(GoodSquare.apply, (x32,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_tolerances():
    class Slightly(Primitive):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g * 1.001

    assert gradcheck(Slightly.apply, (_x(),), rtol=1e-2)
    with pytest.raises(GradcheckError):
        gradcheck(Slightly.apply, (_x(),), rtol=1e-5, atol=1e-7)
