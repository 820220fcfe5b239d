"""optim.swa_utils against torch: AveragedModel (SWA, avg_fn, multi_avg_fn, use_buffers),
SWALR's learning rates, update_bn's statistics, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))


def _pair():
    e, t = _net(ember), _net(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return e, t


def _train_step(lib, net, opt, k):
    rng = np.random.default_rng(k)
    x = lib.tensor(rng.standard_normal((8, 3)).astype(np.float32))
    opt.zero_grad()
    (net(x) ** 2).mean().backward()
    opt.step()


def _assert_state_dicts(esd, tsd):
    assert list(esd) == list(tsd)
    for k in tsd:
        np.testing.assert_allclose(esd[k].numpy(), tsd[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


# name -> {argument: (factory in swa_utils, its arguments) or a plain value}
AVERAGING = {
    "swa": {},
    "ema_avg_fn": {"avg_fn": ("get_ema_avg_fn", 0.9)},
    "ema_multi": {"multi_avg_fn": ("get_ema_multi_avg_fn", 0.8)},
    "swa_buffers": {"use_buffers": True},
    "ema_multi_buffers": {"multi_avg_fn": ("get_ema_multi_avg_fn", 0.5), "use_buffers": True},
    "swa_avg_fn": {"avg_fn": ("get_swa_avg_fn",)},
}


def _kwargs(lib, spec):
    return {
        k: (getattr(lib.optim.swa_utils, v[0])(*v[1:]) if isinstance(v, tuple) else v)
        for k, v in spec.items()
    }


@pytest.mark.parametrize("name", list(AVERAGING))
def test_averaged_model_matches_torch(name):
    e, t = _pair()
    e_avg = ember.optim.swa_utils.AveragedModel(e, **_kwargs(ember, AVERAGING[name]))
    t_avg = torch.optim.swa_utils.AveragedModel(t, **_kwargs(torch, AVERAGING[name]))
    e_opt = ember.optim.SGD(e.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(t.parameters(), lr=0.1)
    for k in range(20):
        _train_step(ember, e, e_opt, k)
        _train_step(torch, t, t_opt, k)
        e_avg.update_parameters(e)
        t_avg.update_parameters(t)
        _assert_state_dicts(e_avg.state_dict(), t_avg.state_dict())
    x = np.random.default_rng(99).standard_normal((5, 3)).astype(np.float32)
    e_avg.eval()
    t_avg.eval()
    np.testing.assert_allclose(
        e_avg(ember.tensor(x)).detach().numpy(),
        t_avg(torch.tensor(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert e_avg.n_averaged.dtype == ember.int64 and e_avg.n_averaged.item() == 20


def test_swa_multi_avg_fn_refuses_integer_buffers_as_torch():
    """With use_buffers, BatchNorm's integer num_batches_tracked reaches the in-place SWA
    average, which PyTorch refuses (RuntimeError); the float-only model averages fine."""
    for lib in (ember, torch):
        su = lib.optim.swa_utils
        net = _net(lib)
        avg = su.AveragedModel(net, multi_avg_fn=su.get_swa_multi_avg_fn(), use_buffers=True)
        avg.update_parameters(net)
        with pytest.raises(RuntimeError):
            avg.update_parameters(net)
    e, t = _pair()
    e_lin, t_lin = e[0], t[0]
    e_avg = ember.optim.swa_utils.AveragedModel(
        e_lin, multi_avg_fn=ember.optim.swa_utils.get_swa_multi_avg_fn()
    )
    t_avg = torch.optim.swa_utils.AveragedModel(
        t_lin, multi_avg_fn=torch.optim.swa_utils.get_swa_multi_avg_fn()
    )
    for k in range(3):
        for lin, lib in ((e_lin, ember), (t_lin, torch)):
            with lib.no_grad():
                lin.weight.add_(0.1 * (k + 1))
        e_avg.update_parameters(e_lin)
        t_avg.update_parameters(t_lin)
    _assert_state_dicts(e_avg.state_dict(), t_avg.state_dict())


def test_averaged_model_state_dict_loads_both_ways():
    e, t = _pair()
    e_avg = ember.optim.swa_utils.AveragedModel(e)
    t_avg = torch.optim.swa_utils.AveragedModel(t)
    e_avg.update_parameters(e)
    t_avg.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in e_avg.state_dict().items()})
    _assert_state_dicts(e_avg.state_dict(), t_avg.state_dict())
    fresh = ember.optim.swa_utils.AveragedModel(_net(ember))
    fresh.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_avg.state_dict().items()})
    _assert_state_dicts(fresh.state_dict(), t_avg.state_dict())


def test_averaging_errors_match_torch():
    for lib in (ember, torch):
        su = lib.optim.swa_utils
        with pytest.raises(ValueError, match="Invalid decay value"):
            su.get_ema_multi_avg_fn(1.5)
        with pytest.raises(ValueError, match="Invalid decay value"):
            su.get_ema_avg_fn(-0.1)
        with pytest.raises(AssertionError, match="Only one of avg_fn"):
            su.AveragedModel(
                lib.nn.Linear(1, 1),
                avg_fn=su.get_swa_avg_fn(),
                multi_avg_fn=su.get_swa_multi_avg_fn(),
            )


SWALR_CASES = [
    {"swa_lr": 0.05},
    {"swa_lr": 0.05, "anneal_epochs": 3, "anneal_strategy": "linear"},
    {"swa_lr": [0.01, 0.2], "anneal_epochs": 5},
    {"swa_lr": 0.3, "anneal_epochs": 0},
]


@pytest.mark.parametrize("kwargs", SWALR_CASES, ids=str)
def test_swalr_learning_rates_match_torch(kwargs):
    lrs = {}
    for lib in (ember, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
        seen = [sched.get_last_lr()]
        for _ in range(12):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        lrs[lib.__name__] = seen
        sd = sched.state_dict()
        assert "optimizer" not in sd and "anneal_func" not in sd
        again = lib.optim.swa_utils.SWALR(opt, **kwargs)
        again.load_state_dict(sd)
        assert again.anneal_func(0.5) == sched.anneal_func(0.5)
    np.testing.assert_allclose(lrs["ember"], lrs["torch"], rtol=1e-12)


def test_swalr_errors_match_torch():
    for lib in (ember, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        with pytest.raises(ValueError, match="anneal_strategy must be one of"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
        with pytest.raises(ValueError):
            lib.optim.swa_utils.SWALR(opt, [0.1, 0.2])


@pytest.mark.parametrize("as_tuples", [False, True])
def test_update_bn_matches_torch(as_tuples):
    e, t = _pair()
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((6, 3)).astype(np.float32) * 2 + 1 for _ in range(4)]
    for lib, net in ((ember, e), (torch, t)):
        net.eval()
        loader = [(lib.tensor(b), lib.zeros(6)) if as_tuples else lib.tensor(b) for b in batches]
        lib.optim.swa_utils.update_bn(loader, net)
        assert not net.training
        assert net[1].momentum == 0.1
    _assert_state_dicts(e.state_dict(), t.state_dict())


def test_update_bn_without_batch_norm_is_a_no_op():
    net = ember.nn.Linear(2, 2)
    before = net.weight.detach().numpy().copy()
    ember.optim.swa_utils.update_bn([ember.ones(1, 2)], net)
    np.testing.assert_array_equal(net.weight.detach().numpy(), before)
