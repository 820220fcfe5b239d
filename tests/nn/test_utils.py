"""nn.utils against torch: gradient clipping on the same gradients (norm types 2, 1, inf...),
clip_grad_value_, parameter vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils as tutils

import ember
import ember.nn as enn
from ember.nn import utils
from tests.parity import assert_close, copy_weights, rand_array


def _pair(shapes, seed: int = 0, scale: float = 1.0, dtype=np.float32):
    """ember and torch parameters with identical gradients."""
    eps, tps = [], []
    for k, s in enumerate(shapes):
        v = rand_array(s, dtype, seed + k)
        g = rand_array(s, dtype, seed + 100 + k) * scale
        e = enn.Parameter(ember.tensor(v))
        e.grad = ember.tensor(g)
        t = torch.nn.Parameter(torch.tensor(v))
        t.grad = torch.tensor(g)
        eps.append(e)
        tps.append(t)
    return eps, tps


SHAPES = [(4, 3), (3,), (2, 2, 5)]


@pytest.mark.parametrize("norm_type", [2, 2.0, 1, float("inf"), "inf", 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    eps, tps = _pair(SHAPES, seed=1)
    en = utils.clip_grad_norm_(eps, max_norm, norm_type=norm_type)
    tn = tutils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert isinstance(en, ember.Tensor) and en.ndim == 0
    assert_close(en, tn, rtol=1e-6, atol=0)
    for e, t in zip(eps, tps):
        assert_close(e.grad, t.grad, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_float64_and_single_tensor():
    eps, tps = _pair([(5, 5)], seed=2, scale=10.0, dtype=np.float64)
    en = utils.clip_grad_norm_(eps[0], 1.0)
    tn = tutils.clip_grad_norm_(tps[0], 1.0)
    assert en.dtype is ember.float64
    assert_close(en, tn, rtol=1e-12)
    assert_close(eps[0].grad, tps[0].grad, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(eps[0].grad._data), 1.0, rtol=1e-5)


def test_clip_grad_norm_in_place_on_model_and_none_grads():
    em = enn.Sequential(enn.Linear(4, 3), enn.Linear(3, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    copy_weights(em, tm)
    x = rand_array((8, 4), np.float32, 3)
    (em[0](ember.tensor(x)) ** 2).sum().backward()  # the second layer gets no gradient
    (tm[0](torch.tensor(x)) ** 2).sum().backward()
    grad_arrays = [p.grad._data for p in em.parameters() if p.grad is not None]
    en = utils.clip_grad_norm_(em.parameters(), 0.1)
    tn = tutils.clip_grad_norm_(tm.parameters(), 0.1)
    assert_close(en, tn, rtol=1e-6)
    for e, t in zip(em.parameters(), tm.parameters()):
        if t.grad is None:
            assert e.grad is None
        else:
            assert_close(e.grad, t.grad, rtol=1e-6, atol=1e-8)
    assert all(p.grad._data is a for p, a in zip(list(em.parameters())[:2], grad_arrays))


def test_clip_grad_norm_empty_and_nonfinite():
    assert_close(utils.clip_grad_norm_([], 1.0), tutils.clip_grad_norm_([], 1.0))
    eps, tps = _pair([(3,)], seed=4)
    eps[0].grad._data[1] = np.nan
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients"):
        utils.clip_grad_norm_(eps, 1.0, error_if_nonfinite=True)
    tps[0].grad[1] = float("nan")
    en = utils.clip_grad_norm_(eps, 1.0, foreach=True)
    tn = tutils.clip_grad_norm_(tps, 1.0, foreach=True)
    assert np.isnan(en.item()) and np.isnan(tn.item())


def test_get_total_norm_and_clip_grads_with_norm():
    eps, tps = _pair(SHAPES, seed=5)
    egrads = [p.grad for p in eps]
    tgrads = [p.grad for p in tps]
    for nt in (2.0, 1.0, float("inf")):
        assert_close(utils.get_total_norm(egrads, nt), tutils.get_total_norm(tgrads, nt), rtol=1e-6)
    total_e = utils.get_total_norm(egrads)
    total_t = tutils.get_total_norm(tgrads)
    utils.clip_grads_with_norm_(eps, 0.3, total_e)
    tutils.clip_grads_with_norm_(tps, 0.3, total_t)
    for e, t in zip(eps, tps):
        assert_close(e.grad, t.grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("clip_value", [0.1, 0.5, 5])
def test_clip_grad_value_matches_torch(clip_value):
    eps, tps = _pair(SHAPES, seed=6)
    assert utils.clip_grad_value_(eps, clip_value) is None
    tutils.clip_grad_value_(tps, clip_value)
    for e, t in zip(eps, tps):
        assert_close(e.grad, t.grad, rtol=0, atol=0)
    single, tsingle = _pair([(7,)], seed=7)
    utils.clip_grad_value_(single[0], clip_value)
    tutils.clip_grad_value_(tsingle[0], clip_value)
    assert_close(single[0].grad, tsingle[0].grad, rtol=0, atol=0)


def test_parameters_to_vector_and_back():
    em = enn.Linear(4, 3)
    tm = torch.nn.Linear(4, 3)
    copy_weights(em, tm)
    ev = utils.parameters_to_vector(em.parameters())
    tv = tutils.parameters_to_vector(tm.parameters())
    assert_close(ev, tv)
    # Differentiable: the gradient flows back to every parameter.
    w = rand_array((15,), np.float32, 8)
    (ev * ember.tensor(w)).sum().backward()
    (tv * torch.tensor(w)).sum().backward()
    assert_close(em.weight.grad, tm.weight.grad)
    assert_close(em.bias.grad, tm.bias.grad)
    new = rand_array((15,), np.float32, 9)
    utils.vector_to_parameters(ember.tensor(new), em.parameters())
    tutils.vector_to_parameters(torch.tensor(new), tm.parameters())
    assert_close(em.weight, tm.weight)
    assert_close(em.bias, tm.bias)
    assert em.weight.shape == (3, 4) and em.weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        utils.vector_to_parameters([1.0, 2.0], em.parameters())


def test_importable_like_torch():
    from ember.nn.utils import clip_grad_norm_, parameters_to_vector  # noqa: F401

    assert ember.nn.utils.clip_grad.clip_grad_norm_ is utils.clip_grad_norm_
    assert ember.nn.utils.convert_parameters.vector_to_parameters is utils.vector_to_parameters
