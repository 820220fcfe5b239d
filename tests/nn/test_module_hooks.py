"""Module hooks: forward (pre-)hooks, full backward (pre-)hooks, global hooks, handles.

Call orders, arguments and effects are compared with torch on the same construction.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.nn.modules import module as module_mod
from tests.nn._lib import copy_into_torch, make_linear_cls, same_error
from tests.parity import assert_close, to_numpy


def both(fn):
    return fn(ember), fn(torch)


def _shapes(seq):
    return [None if g is None else tuple(g.shape) for g in seq]


# ---- forward pre-hooks and forward hooks ---------------------------------------------------------
def test_forward_hook_order_and_arguments():
    def run(lib):
        log = []
        outer = lib.nn.Sequential(make_linear_cls(lib)(2, 2), make_linear_cls(lib)(2, 1))
        for name, m in outer.named_modules():
            m.register_forward_pre_hook(lambda mod, args, n=name: log.append(("pre", n, len(args))))
            m.register_forward_hook(
                lambda mod, args, out, n=name: log.append(("post", n, tuple(out.shape)))
            )
        outer(lib.ones(3, 2))
        return log

    e, t = both(run)
    assert e == t
    assert e[0] == ("pre", "", 1) and e[-1] == ("post", "", (3, 1))


def test_pre_hook_replaces_args_and_hook_replaces_output():
    def run(lib):
        lin = make_linear_cls(lib)(2, 2)
        with lib.no_grad():
            lin.weight.copy_(lib.eye(2))
            lin.bias.zero_()
        lin.register_forward_pre_hook(lambda m, args: args[0] * 2)  # non-tuple: wrapped
        lin.register_forward_pre_hook(lambda m, args: (args[0] + 1,))
        lin.register_forward_hook(lambda m, args, out: out * 10)
        lin.register_forward_hook(lambda m, args, out: None)  # None keeps the output
        return lin(lib.ones(1, 2))

    e, t = both(run)
    assert_close(e, t)
    assert e.tolist() == [[30.0, 30.0]]


def test_hooks_with_kwargs_and_prepend():
    def run(lib):
        log = []

        class KW(lib.nn.Module):
            def forward(self, x, *, scale=1.0):
                return x * scale

        m = KW()
        m.register_forward_pre_hook(lambda mod, a: log.append("pre1"))
        m.register_forward_pre_hook(lambda mod, a: log.append("pre0"), prepend=True)

        def pre_kw(mod, args, kwargs):
            log.append(("pre_kw", sorted(kwargs)))
            return args, {"scale": 3.0}

        m.register_forward_pre_hook(pre_kw, with_kwargs=True)
        m.register_forward_hook(lambda mod, a, out: log.append("hook1"))
        m.register_forward_hook(
            lambda mod, a, kw, out: (log.append(("hook_kw", kw["scale"])), out + 1)[1],
            with_kwargs=True,
            prepend=True,
        )
        out = m(lib.ones(2), scale=2.0)
        return log, out.tolist()

    e, t = both(run)
    assert e == t
    assert e[1] == [4.0, 4.0]


def test_pre_hook_with_kwargs_bad_return():
    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        m.register_forward_pre_hook(lambda mod, a, k: 5, with_kwargs=True)
        m(lib.ones(1, 1))

    same_error(run)


def test_always_call_hook_runs_when_forward_raises():
    def run(lib):
        log = []

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        m.register_forward_hook(lambda mod, a, out: log.append(("always", out)), always_call=True)
        m.register_forward_hook(lambda mod, a, out: log.append("normal"))
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
        return log

    e, t = both(run)
    assert e == t == [("always", None)]


def test_handle_remove_and_context_manager():
    calls = []
    m = make_linear_cls(ember)(1, 1)
    h = m.register_forward_hook(lambda *a: calls.append(1))
    m(ember.ones(1, 1))
    h.remove()
    h.remove()  # twice is harmless
    m(ember.ones(1, 1))
    with m.register_forward_pre_hook(lambda *a: calls.append(2)):
        m(ember.ones(1, 1))
    m(ember.ones(1, 1))
    assert calls == [1, 2]
    assert not m._forward_hooks and not m._forward_pre_hooks
    h = m.register_forward_hook(lambda *a: None, with_kwargs=True, always_call=True)
    h.remove()
    assert not m._forward_hooks_with_kwargs and not m._forward_hooks_always_called


def test_forward_called_directly_skips_hooks():
    calls = []
    m = make_linear_cls(ember)(1, 1)
    m.register_forward_hook(lambda *a: calls.append(1))
    m.forward(ember.ones(1, 1))
    assert calls == []


def test_global_hooks_run_first():
    def run(lib):
        log = []
        mm = lib.nn.modules.module
        m = make_linear_cls(lib)(1, 1)
        m.register_forward_pre_hook(lambda *a: log.append("local_pre"))
        m.register_forward_hook(lambda *a: log.append("local_post"))
        handles = [
            mm.register_module_forward_pre_hook(lambda *a: log.append("global_pre")),
            mm.register_module_forward_hook(lambda *a: log.append("global_post")),
        ]
        try:
            m(lib.ones(1, 1))
        finally:
            for h in handles:
                h.remove()
        m(lib.ones(1, 1))
        return log

    e, t = both(run)
    assert e == t


def test_global_registration_hooks():
    def run(lib):
        log = []
        mm = lib.nn.modules.module
        hs = [
            mm.register_module_parameter_registration_hook(
                lambda m, n, v: log.append(("param", n))
            ),
            mm.register_module_buffer_registration_hook(lambda m, n, v: log.append(("buf", n))),
            mm.register_module_module_registration_hook(lambda m, n, v: log.append(("mod", n))),
        ]
        try:
            make_linear_cls(lib)(1, 1)
            m = lib.nn.Module()
            m.register_buffer("b", lib.zeros(1))
            m.child = lib.nn.Module()
        finally:
            for h in hs:
                h.remove()
        return log

    e, t = both(run)
    assert e == t


# ---- full backward hooks ------------------------------------------------------------------------
def _pair():
    e = make_linear_cls(ember)(3, 2)
    t = make_linear_cls(torch)(3, 2)
    copy_into_torch(e, t)
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    return e, t, x


def test_full_backward_hook_arguments_match_torch():
    e, t, x = _pair()
    seen = {}

    def hook(tag):
        def h(mod, grad_input, grad_output):
            seen[tag] = (grad_input, grad_output)

        return h

    e.register_full_backward_hook(hook("e"))
    t.register_full_backward_hook(hook("t"))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (e(ex) ** 2).sum().backward()
    (t(tx) ** 2).sum().backward()
    (egi, ego), (tgi, tgo) = seen["e"], seen["t"]
    assert isinstance(egi, tuple) and isinstance(ego, tuple)
    assert len(egi) == len(tgi) == 1 and len(ego) == len(tgo) == 1
    assert_close(egi[0], tgi[0])
    assert_close(ego[0], tgo[0])
    assert_close(ex.grad, tx.grad)
    assert_close(e.weight.grad, t.weight.grad)


def test_full_backward_hook_replaces_grad_input():
    e, t, x = _pair()
    for m in (e, t):
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    e(ex).sum().backward()
    t(tx).sum().backward()
    assert_close(ex.grad, tx.grad)
    assert_close(e.weight.grad, t.weight.grad)  # parameters are not affected


def test_backward_pre_hook_replaces_grad_output():
    e, t, x = _pair()
    log = {"e": [], "t": []}
    for tag, m in (("e", e), ("t", t)):
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * -2,))
        m.register_full_backward_hook(lambda mod, gi, go, tag=tag: log[tag].append(to_numpy(go[0])))
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    e(ex).sum().backward()
    t(tx).sum().backward()
    assert_close(ex.grad, tx.grad)
    assert_close(e.weight.grad, t.weight.grad)
    assert_close(e.bias.grad, t.bias.grad)
    np.testing.assert_allclose(log["e"][0], log["t"][0])


def test_backward_hooks_multi_input_output():
    def run(lib):
        seen = []

        class Two(lib.nn.Module):
            def forward(self, a, k, b, c):
                return a * k + b, b * c

        m = Two()
        m.register_full_backward_hook(
            lambda mod, gi, go: seen.append([None if g is None else g.tolist() for g in gi + go])
        )
        a = lib.ones(2, requires_grad=True)
        b = lib.full((2,), 3.0, requires_grad=True)
        c = lib.ones(2)  # does not require grad
        y1, y2 = m(a, 2.0, b, c)
        (y1.sum() + (y2 * 2).sum()).backward()
        return seen, a.grad.tolist(), b.grad.tolist()

    e, t = both(run)
    assert e == t
    # grad_input: a, the float (None), b, and c (zeros: it does not require grad); grad_output
    assert e[0] == [[[2.0, 2.0], None, [3.0, 3.0], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]]


def test_backward_hook_when_no_input_requires_grad():
    def run(lib):
        seen = []
        m = make_linear_cls(lib)(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, _shapes(go))))
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            m(lib.ones(1, 2)).sum().backward()
        return seen

    e, t = both(run)
    assert e == t == [((None,), [(1, 2)])]


def test_backward_hook_wrong_count_raises():
    def run(lib):
        m = make_linear_cls(lib)(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()

    same_error(run)


def test_mixing_legacy_and_full_backward_hooks_raises():
    def run(lib):
        m = lib.nn.Module()
        m.register_full_backward_hook(lambda *a: None)
        m.register_backward_hook(lambda *a: None)

    same_error(run)

    def run2(lib):
        m = lib.nn.Module()
        m.register_backward_hook(lambda *a: None)
        m.register_full_backward_hook(lambda *a: None)

    same_error(run2)


def test_legacy_backward_hook_is_called():
    calls = []
    m = make_linear_cls(ember)(2, 2)
    m.register_backward_hook(lambda mod, gi, go: calls.append(len(go)))
    m(ember.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == [1]


def test_global_full_backward_hook():
    def run(lib):
        seen = []
        mm = lib.nn.modules.module
        h = mm.register_module_full_backward_hook(
            lambda mod, gi, go: seen.append(type(mod).__name__)
        )
        hp = mm.register_module_full_backward_pre_hook(
            lambda mod, go: seen.append("pre_" + type(mod).__name__)
        )
        try:
            seq = lib.nn.Sequential(make_linear_cls(lib)(2, 2), make_linear_cls(lib)(2, 1))
            seq(lib.ones(1, 2, requires_grad=True)).sum().backward()
        finally:
            h.remove()
            hp.remove()
        return seen

    e, t = both(run)
    assert e == t


def test_backward_hooks_removed_and_no_grad():
    calls = []
    m = make_linear_cls(ember)(2, 2)
    h = m.register_full_backward_hook(lambda *a: calls.append(1))
    with ember.no_grad():
        out = m(ember.ones(1, 2, requires_grad=True))
    assert not out.requires_grad
    h.remove()
    m(ember.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == []


def test_hook_output_keeps_version_counter():
    """Modifying a hooked module's output in place is an error (torch raises at the in-place op,
    ember when backward meets the changed saved tensor)."""

    def run(lib):
        m = make_linear_cls(lib)(2, 2)
        m.register_full_backward_hook(lambda *a: None)
        y = m(lib.ones(1, 2, requires_grad=True))
        z = y * y
        y.add_(1)
        z.sum().backward()

    same_error(run, exact=False)


# ---- state_dict hooks ---------------------------------------------------------------------------
def test_state_dict_pre_and_post_hooks():
    def run(lib):
        log = []
        m = lib.nn.Sequential(make_linear_cls(lib)(1, 1))
        m[0].register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre", prefix, kv)))

        def post(mod, sd, prefix, meta):
            log.append(("post", prefix, sorted(sd), meta["version"]))
            sd[prefix + "added"] = lib.zeros(1)

        m[0].register_state_dict_post_hook(post)
        keys = list(m.state_dict(keep_vars=True))
        return log, keys

    e, t = both(run)
    assert e == t
    assert e[1][-1] == "0.added"


def test_state_dict_post_hook_must_return_none():
    def run(lib):
        m = lib.nn.Module()
        m.register_state_dict_post_hook(lambda *a: {})
        m.state_dict()

    same_error(run)


def test_private_state_dict_hook_may_replace_root_result():
    def run(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(1))
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"replaced": 1})
        return m.state_dict()

    assert both(run) == ({"replaced": 1}, {"replaced": 1})


def test_load_state_dict_pre_and_post_hooks():
    def run(lib):
        log = []
        m = lib.nn.Sequential(make_linear_cls(lib)(1, 1))

        def pre(mod, sd, prefix, meta, strict, missing, unexpected, errors):
            log.append(("pre", type(mod).__name__, prefix, sorted(sd)))
            sd[prefix + "bias"] = lib.full((1,), 7.0)  # a pre-hook may edit the state_dict

        m[0].register_load_state_dict_pre_hook(pre)
        m.register_load_state_dict_post_hook(
            lambda mod, keys: log.append(("post", list(keys.missing_keys)))
        )
        sd = {"0.weight": lib.ones(1, 1)}
        res = m.load_state_dict(sd)
        return log, repr(res), m[0].bias.item()

    e, t = both(run)
    assert e == t
    assert e[2] == 7.0


def test_load_post_hook_can_clear_keys():
    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        m.register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.clear())
        res = m.load_state_dict({"weight": lib.full((1, 1), 5.0)})
        return repr(res), m.weight.item()

    e, t = both(run)
    assert e == t == ("<All keys matched successfully>", 5.0)


def test_load_post_hook_returning_value_raises():
    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        m.register_load_state_dict_post_hook(lambda mod, keys: 1)
        m.load_state_dict(m.state_dict())

    same_error(run)


def test_removable_handle_exported():
    assert module_mod.RemovableHandle is nn.modules.module.RemovableHandle
    h = nn.Module().register_forward_hook(lambda *a: None)
    assert isinstance(h, module_mod.RemovableHandle) and isinstance(h.id, int)
