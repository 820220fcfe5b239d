"""ember.utils.checkpoint (recompute in backward: values and every gradient as torch's, and
identical to running without checkpointing, dropout included) and ember.random."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import copy_weights, to_numpy


def _block(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(6, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.GELU(), lib.nn.Linear(8, 3)
    )


def _pair():
    e, t = _block(ember), _block(torch)
    copy_weights(e, t)
    return e, t


def _grads(model):
    return [to_numpy(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_values_and_gradients_match_torch(reentrant):
    e, t = _pair()
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo = ember.utils.checkpoint.checkpoint(e, ex, use_reentrant=reentrant)
    to = torch.utils.checkpoint.checkpoint(t, tx, use_reentrant=reentrant)
    np.testing.assert_allclose(to_numpy(eo), to_numpy(to), rtol=1e-5, atol=1e-6)
    assert eo.requires_grad and eo.grad_fn is not None
    (eo**2).sum().backward()
    (to**2).sum().backward()
    np.testing.assert_allclose(to_numpy(ex.grad), to_numpy(tx.grad), rtol=1e-5, atol=1e-6)
    for a, b in zip(_grads(e), _grads(t)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_checkpoint_recomputes_in_backward():
    calls = []
    lin = ember.nn.Linear(3, 3)

    def fn(x):
        calls.append(ember.is_grad_enabled())
        return lin(x).relu()

    x = ember.randn(2, 3, requires_grad=True)
    y = ember.utils.checkpoint.checkpoint(fn, x, use_reentrant=True)
    assert calls == [False]  # the forward keeps no graph
    y.sum().backward()
    assert calls == [False, True]  # backward ran fn again, recording this time


def test_non_reentrant_reaches_parameters_without_input_grad():
    e, t = _pair()
    x = np.ones((2, 6), np.float32)
    eo = ember.utils.checkpoint.checkpoint(e, ember.tensor(x), use_reentrant=False)
    to = torch.utils.checkpoint.checkpoint(t, torch.tensor(x), use_reentrant=False)
    assert eo.requires_grad is to.requires_grad is True
    eo.sum().backward()
    to.sum().backward()
    for a, b in zip(_grads(e), _grads(t)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_reentrant_without_input_grad_warns_as_torch():
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad"):
            out = lib.utils.checkpoint.checkpoint(_block(lib), lib.ones(1, 6), use_reentrant=True)
        assert out.requires_grad is False


def test_dropout_draws_the_same_masks_when_recomputed():
    model = ember.nn.Sequential(
        ember.nn.Linear(5, 16), ember.nn.Dropout(0.5), ember.nn.Linear(16, 2)
    )
    x = ember.randn(8, 5)

    def run(use_ckpt):
        ember.manual_seed(3)
        for p in model.parameters():
            p.grad = None
        xi = x.clone().requires_grad_()
        if use_ckpt:
            out = ember.utils.checkpoint.checkpoint(model, xi, use_reentrant=True)
        else:
            out = model(xi)
        out.square().sum().backward()
        after = ember.rand(1)  # the stream continues as if fn had run once
        return to_numpy(out), to_numpy(xi.grad), _grads(model), to_numpy(after)

    plain, ckpt = run(False), run(True)
    for a, b in zip(plain[:2] + (plain[3],), ckpt[:2] + (ckpt[3],)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(plain[2], ckpt[2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_torch(segments):
    e, t = _pair()
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo = ember.utils.checkpoint.checkpoint_sequential(e, segments, ex, use_reentrant=True)
    to = torch.utils.checkpoint.checkpoint_sequential(t, segments, tx, use_reentrant=True)
    np.testing.assert_allclose(to_numpy(eo), to_numpy(to), rtol=1e-5, atol=1e-6)
    eo.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(to_numpy(ex.grad), to_numpy(tx.grad), rtol=1e-5, atol=1e-6)
    for a, b in zip(_grads(e), _grads(t)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_checkpoint_argument_errors_as_torch():
    for lib in (ember, torch):
        lin, x = lib.nn.Linear(2, 2), lib.ones(1, 2, requires_grad=True)
        with pytest.raises(ValueError, match="Unexpected keyword arguments"):
            lib.utils.checkpoint.checkpoint(lin, x, use_reentrant=True, foo=1)
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            lib.utils.checkpoint.checkpoint(lin, x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.utils.checkpoint.checkpoint(lin, x, use_reentrant=False, preserve_rng_state=False)


def test_fork_rng_restores_the_state():
    ember.manual_seed(5)
    with ember.random.fork_rng():
        inside = ember.rand(3)
    after = ember.rand(3)
    assert ember.equal(inside, after)
    with ember.random.fork_rng(enabled=False):
        ember.rand(1)
    assert not ember.equal(ember.rand(3), after)
    for lib in (ember, torch):
        with pytest.raises(AssertionError):
            with lib.random.fork_rng(devices=[0]):
                pass


def test_random_module_state_functions():
    s = ember.random.get_rng_state()
    a = ember.rand(2)
    ember.random.set_rng_state(s)
    assert ember.equal(ember.rand(2), a)
    assert ember.random.manual_seed(7).initial_seed() == ember.random.initial_seed() == 7
    seeded = ember.random.seed()
    assert ember.random.initial_seed() == seeded
    assert ember.random.default_generator is ember.default_generator


def test_checkpoint_refuses_what_it_does_not_do():
    lin, x = ember.nn.Linear(2, 2), ember.ones(1, 2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="context_fn"):
        ember.utils.checkpoint.checkpoint(lin, x, use_reentrant=False, context_fn=lambda: None)
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="determinism_check"):
            lib.utils.checkpoint.checkpoint(
                lib.nn.Linear(2, 2), lib.ones(1, 2), use_reentrant=False, determinism_check="x"
            )


def test_input_changed_in_place_before_backward_is_caught_as_torch():
    for lib in (ember, torch):
        lin = lib.nn.Linear(2, 2)
        x = lib.ones(1, 2, requires_grad=True)
        h = x * 1.0
        out = lib.utils.checkpoint.checkpoint(lin, h, use_reentrant=True)
        h.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
