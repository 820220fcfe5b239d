"""The Optimizer base: errors as PyTorch, groups, zero_grad, closures, hooks, in-place updates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.optim as optim

ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


def _w(*shape):
    return ember.ones(*shape, requires_grad=True)


@pytest.mark.parametrize("name", ALL)
def test_errors_match_torch(name):
    cls = getattr(optim, name)
    tcls = getattr(torch.optim, name)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        tcls([])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        cls([_w(2)], lr=-1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        tcls([torch.ones(2, requires_grad=True)], lr=-1)
    with pytest.raises(
        TypeError, match="should be an iterable of Tensors or dicts, but got ember.FloatTensor"
    ):
        cls(_w(2))
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got int"):
        cls(3)
    w = _w(2)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        cls([{"params": [w]}, {"params": [w]}])


def test_other_errors():
    with pytest.raises(
        TypeError, match="optimizer can only optimize Tensors, but one of the params is int"
    ):
        optim.SGD([1, 2], lr=0.1)
    x = _w(2)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.SGD([x], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero"):
        optim.SGD([x], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([x], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        optim.Adadelta([x], rho=1.5)
    with pytest.raises(TypeError, match="organized in ordered collections"):
        optim.SGD([{"params": {x}}], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([x], lr=0.1).add_param_group([x])
    opt = optim.SGD([x], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})
    with pytest.raises(NotImplementedError, match="differentiable"):
        optim.Adam([x], differentiable=True)


def test_groups_defaults_and_add_param_group():
    a, b, c = _w(2), _w(3), _w(1)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["params"] == [b]
    opt.add_param_group({"params": [c], "weight_decay": 0.01})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    t = torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    assert set(opt.param_groups[0]) == set(t.param_groups[0])
    assert "SGD (" in repr(opt) and "Parameter Group 1" in repr(opt)


def test_named_parameters_groups():
    a, b = _w(2), _w(3)
    opt = optim.Adam([("a", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]


def test_update_in_place_and_version_counter():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    data_before = w._data
    v0 = w._version
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w._data is data_before
    assert w._version == v0 + 1
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])
    assert w.requires_grad and w.is_leaf


def test_params_without_grad_are_skipped():
    a, b = _w(2), _w(2)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = ember.ones(2)
    opt.step()
    assert b not in opt.state and a in opt.state
    np.testing.assert_array_equal(b.detach().numpy(), [1, 1])


def test_zero_grad():
    w = _w(3)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad.numpy(), [0, 0, 0])
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_loss():
    w = ember.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.detach().numpy(), [1.5])


def test_step_hooks_and_state_dict_hooks():
    w = _w(2)
    opt = optim.SGD([w], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    w.grad = ember.ones(2)
    opt.step()
    assert calls == ["pre", "post"]
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]
    assert opt.state_dict()["extra"] == 1


def test_sgd_without_momentum_keeps_no_state():
    w = _w(2)
    opt = optim.SGD([w], lr=0.1)
    w.grad = ember.ones(2)
    opt.step()
    assert opt.state_dict()["state"] == {}


def test_adagrad_state_is_eager():
    w = _w(2)
    sd = optim.Adagrad([w], initial_accumulator_value=0.3).state_dict()
    np.testing.assert_allclose(sd["state"][0]["sum"].numpy(), [0.3, 0.3])
    assert sd["state"][0]["step"].item() == 0.0


def test_float64_params_stay_float64():
    w = ember.ones(3, dtype=ember.float64, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = ember.ones(3, dtype=ember.float64)
    opt.step()
    assert w.dtype == ember.float64 and opt.state[w]["exp_avg"].dtype == ember.float64
