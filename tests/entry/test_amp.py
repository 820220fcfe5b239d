"""ember.amp: GradScaler step for step against torch.amp.GradScaler('cpu'), the disabled
pass-through, autocast's recorded state and warnings, compile and jit (eager)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.parity import copy_weights, to_numpy


def _pair(seed=0):
    torch.manual_seed(seed)
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    e = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh(), ember.nn.Linear(8, 2))
    copy_weights(e, t)
    return e, t


def _run(lib, model, scaler, steps, x, y, blowups):
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    record = []
    for i in range(steps):
        opt.zero_grad()
        loss = ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
        if i in blowups:  # an overflowing step: the scaler must skip it and back off
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        if i % 4 == 1:
            scaler.unscale_(opt)
        ret = scaler.step(opt)
        scaler.update()
        grads = [to_numpy(p.grad) for p in model.parameters()]
        record.append((scaler.get_scale(), scaler._get_growth_tracker(), ret, grads))
    return record, [to_numpy(p) for p in model.parameters()]


@pytest.mark.parametrize("blowups", [(), (2, 3, 11)])
def test_grad_scaler_trajectory_matches_torch(blowups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    e, t = _pair()
    es = ember.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    ts = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    er, ep = _run(ember, e, es, 24, x, y, blowups)
    tr, tp = _run(torch, t, ts, 24, x, y, blowups)
    for i, ((s1, g1, r1, gr1), (s2, g2, r2, gr2)) in enumerate(zip(er, tr)):
        assert (s1, g1, r1) == (s2, g2, r2), f"step {i}"
        for a, b in zip(gr1, gr2):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"grad, step {i}")
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert es.state_dict() == ts.state_dict()


def test_grad_scaler_default_device_disables_itself_as_torch():
    for mod in (ember, torch):
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            s = mod.amp.GradScaler()
        assert s.is_enabled() is False
        assert s.get_scale() == 1.0 and s.state_dict() == {}
    with pytest.warns(FutureWarning):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert ember.cuda.amp.GradScaler().is_enabled() is False


def test_disabled_scaler_passes_everything_through():
    e, _ = _pair()
    opt = ember.optim.SGD(e.parameters(), lr=0.1)
    s = ember.amp.GradScaler("cpu", enabled=False)
    loss = e(ember.ones(2, 4)).sum()
    assert s.scale(loss) is loss
    loss.backward()
    before = [p.detach().clone() for p in e.parameters()]
    s.unscale_(opt)
    assert s.step(opt) is None
    s.update()
    assert any(not ember.equal(a, b) for a, b in zip(before, e.parameters()))
    s.load_state_dict({})


def test_scaler_errors_as_torch():
    for mod in (ember, torch):
        lin = mod.nn.Linear(2, 1)
        opt = mod.optim.SGD(lin.parameters(), lr=0.1)
        s = mod.amp.GradScaler("cpu")
        with pytest.raises(AssertionError, match="_scale is None"):
            s.step(opt)
        s.scale(lin(mod.ones(1, 2)).sum()).backward()
        s.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called"):
            s.unscale_(opt)
        with pytest.raises(RuntimeError, match="Closure use"):
            s.step(opt, closure=lambda: 0)
        s.step(opt)
        with pytest.raises(RuntimeError, match="after step"):
            s.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called since the last update"):
            s.step(opt)
        s.update(new_scale=8.0)
        assert s.get_scale() == 8.0
        with pytest.raises(RuntimeError, match="source state dict is empty"):
            s.load_state_dict({})
        with pytest.raises(AssertionError, match="growth factor"):
            mod.amp.GradScaler("cpu", growth_factor=0.5)
        with pytest.raises(ValueError, match="outputs must be"):
            s.scale(3)


def test_scaler_scales_lists_and_pickles():
    s = ember.amp.GradScaler("cpu", init_scale=4.0)
    out = s.scale([ember.ones(2), (ember.ones(1),)])
    assert out[0].tolist() == [4.0, 4.0] and out[1][0].tolist() == [4.0]
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.get_scale() == 4.0 and s2.state_dict() == s.state_dict()


def test_autocast_state_as_torch():
    for mod in (ember, torch):
        assert mod.is_autocast_enabled("cpu") is False
        with mod.autocast(device_type="cpu"):
            assert mod.is_autocast_enabled("cpu") is True
            assert mod.get_autocast_dtype("cpu") == mod.bfloat16
            with mod.autocast(device_type="cpu", enabled=False):
                assert mod.is_autocast_enabled("cpu") is False
            assert mod.is_autocast_enabled("cpu") is True
        assert mod.is_autocast_enabled("cpu") is False
        with mod.autocast("cpu", dtype=mod.float16):
            assert mod.get_autocast_dtype("cpu") == mod.float16
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with mod.autocast("cuda"):
                pass
        with pytest.warns(UserWarning, match="target dtype is not supported"):
            ac = mod.autocast("cpu", dtype=mod.float64)
        with ac:
            assert mod.is_autocast_enabled("cpu") is False
        with pytest.raises(RuntimeError, match="Expected one of"):
            mod.autocast("xyz")
        with pytest.raises(ValueError):
            mod.autocast(1)


def test_autocast_runs_ops_at_input_precision():
    # ember's documented difference: ops inside CPU autocast keep float32 (torch: bfloat16).
    e, t = _pair()
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)

    @ember.autocast(device_type="cpu", dtype=ember.bfloat16)
    def fwd(inp):
        assert ember.is_autocast_enabled("cpu")
        return e(inp)

    out = fwd(ember.tensor(x))
    assert out.dtype == ember.float32
    np.testing.assert_allclose(to_numpy(out), to_numpy(t(torch.tensor(x))), rtol=1e-5, atol=1e-6)


def test_custom_fwd_casts_inputs_inside_autocast():
    class Double(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float64)
        def forward(ctx, x):
            ctx.dtype_seen = x.dtype
            ctx.enabled = ember.is_autocast_enabled("cpu")
            return x * 2

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g * 2

    x = ember.ones(2, requires_grad=True)
    with ember.autocast("cpu"):
        y = Double.apply(x)
    assert y.dtype == ember.float64
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(ValueError):
        ember.amp.custom_fwd(device_type=1)


def test_compile_runs_eagerly_and_returns_the_model():
    e, t = _pair()
    assert ember.compile(e) is e
    assert ember.compile(e, mode="max-autotune", fullgraph=True, backend="inductor") is e

    @ember.compile
    def f(x):
        return x + 1

    @ember.compile(backend="eager")
    def g(x):
        return x * 2

    assert f(ember.ones(1)).tolist() == [2.0] and g(ember.ones(1)).tolist() == [2.0]
    for mod in (ember, torch):
        with pytest.raises(AssertionError):
            mod.compile(3)
        with pytest.raises(RuntimeError, match="Either mode or options"):
            mod.compile(f, mode="default", options={})


def test_jit_script_and_trace_run_eagerly():
    e, _ = _pair()
    assert ember.jit.script(e) is e
    assert ember.jit.trace(e, ember.ones(1, 4)) is e
    with pytest.raises(RuntimeError):  # trace runs the function on the example once
        ember.jit.trace(e, ember.ones(1, 5))
    assert ember.jit.is_scripting() is False and ember.jit.is_tracing() is False

    @ember.jit.ignore
    def h(x):
        return x

    assert h(1) == 1
    for fn in (ember.jit.save, ember.jit.load):
        with pytest.raises(NotImplementedError, match="TorchScript"):
            fn(e, "model.pt")


def test_deprecated_device_amp_spellings_as_torch():
    for mod in (ember, torch):
        with pytest.warns(FutureWarning, match="torch.amp.autocast\\('cuda'"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                with mod.cuda.amp.autocast():
                    assert mod.is_autocast_enabled("cuda") is False
        with pytest.warns(FutureWarning, match="torch.amp.autocast\\('cpu'"):
            with mod.cpu.amp.autocast():
                assert mod.is_autocast_enabled("cpu") is True
                assert mod.get_autocast_dtype("cpu") == mod.bfloat16
        with pytest.warns(FutureWarning, match="torch.amp.GradScaler\\('cpu'"):
            assert mod.cpu.amp.GradScaler().is_enabled() is True
    assert ember.amp.is_autocast_available("cpu") is torch.amp.is_autocast_available("cpu")
