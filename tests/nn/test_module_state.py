"""state_dict / load_state_dict, side by side with torch: keys, order, values, metadata, errors,
atomicity, ``assign``, extra state, version-aware ``_load_from_state_dict`` and ember's extras."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.nn._lib import copy_into_torch, make_linear_cls, make_net_cls, norm, same_error
from tests.parity import assert_close, to_numpy


def both(fn):
    return fn(ember), fn(torch)


def pair():
    e, t = make_net_cls(ember)(), make_net_cls(torch)()
    copy_into_torch(e, t)
    return e, t


def to_torch_sd(sd):
    return OrderedDict((k, torch.from_numpy(np.array(v._data))) for k, v in sd.items())


def to_ember_sd(sd):
    return OrderedDict((k, ember.tensor(v.detach().numpy().copy())) for k, v in sd.items())


# ---- state_dict ------------------------------------------------------------------------------
def test_keys_order_values_and_metadata():
    e, t = pair()
    esd, tsd = e.state_dict(), t.state_dict()
    assert type(esd) is OrderedDict
    assert (
        list(esd)
        == list(tsd)
        == [
            "scale",
            "temp",
            "block.running",
            "block.steps",
            "block.fc.weight",
            "block.fc.bias",
            "head.weight",
            "head.bias",
        ]
    )
    for k in esd:
        assert_close(esd[k], tsd[k], what=k)
        assert not esd[k].requires_grad
    assert dict(esd._metadata) == dict(tsd._metadata)


def test_version_in_metadata():
    def run(lib):
        class V2(lib.nn.Module):
            _version = 2

        m = lib.nn.Module()
        m.child = V2()
        return dict(m.state_dict()._metadata)

    e, t = both(run)
    assert e == t == {"": {"version": 1}, "child": {"version": 2}}


def test_values_share_memory_and_keep_vars():
    e = make_net_cls(ember)()
    sd = e.state_dict()
    assert type(sd["scale"]) is ember.Tensor
    assert np.shares_memory(sd["scale"]._data, e.scale._data)
    with ember.no_grad():
        e.scale.fill_(5.0)
    assert sd["scale"].item() == 5.0
    kv = e.state_dict(keep_vars=True)
    assert kv["scale"] is e.scale and kv["block.fc.weight"] is e.block.fc.weight


def test_destination_prefix_and_positional_args():
    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        dest = OrderedDict()
        out = m.state_dict(destination=dest, prefix="p.")
        with pytest.warns(FutureWarning):
            out2 = m.state_dict(None, "q.")
        return out is dest, list(out), list(out2), dict(out2._metadata)

    e, t = both(run)
    assert e == t


def test_none_entries_skipped_and_tied_keys():
    def run(lib):
        lin = make_linear_cls(lib)(2, 2, bias=False)
        m = lib.nn.Module()
        m.a = lin
        m.b = lib.nn.Module()
        m.b.w = lin.weight
        m.register_buffer("nothing", None)
        return list(m.state_dict())

    e, t = both(run)
    assert e == t == ["a.weight", "b.w"]


def _extra_cls(lib):
    class WithExtra(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.zeros(1))
            self.note = {"step": 1}

        def get_extra_state(self):
            return dict(self.note)

        def set_extra_state(self, state):
            self.note = dict(state)

    return WithExtra


def test_extra_state_round_trip():
    def run(lib):
        m = lib.nn.Sequential(_extra_cls(lib)())
        sd = m.state_dict()
        keys = list(sd)
        m2 = lib.nn.Sequential(_extra_cls(lib)())
        sd["0._extra_state"] = {"step": 42}
        res = m2.load_state_dict(sd)
        missing = m2.load_state_dict({"0.w": lib.zeros(1)}, strict=False)
        return keys, repr(res), m2[0].note, list(missing.missing_keys)

    e, t = both(run)
    assert e == t
    assert e[0] == ["0.w", "0._extra_state"] and e[2] == {"step": 42}


def test_unexpected_extra_state():
    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        return m.load_state_dict(
            {**m.state_dict(), "_extra_state": 1}, strict=False
        ).unexpected_keys

    assert both(run) == (["_extra_state"], ["_extra_state"])


# ---- load_state_dict ---------------------------------------------------------------------------
def test_load_copies_in_place_and_keeps_identity():
    e, t = pair()
    src = make_net_cls(ember)()
    params = dict(e.named_parameters())
    res = e.load_state_dict(src.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    for name, p in e.named_parameters():
        assert p is params[name] and p.requires_grad
        assert np.array_equal(p.numpy(force=True), src.get_parameter(name).numpy(force=True))
    # and the same values load into torch
    t.load_state_dict(to_torch_sd(e.state_dict()))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))


def test_load_from_torch_state_dict():
    e, t = make_net_cls(ember)(), make_net_cls(torch)()
    e.load_state_dict(to_ember_sd(t.state_dict()))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))


def test_missing_and_unexpected_strict_message():
    def run(lib):
        m = make_net_cls(lib)()
        sd = m.state_dict()
        del sd["head.bias"], sd["scale"]
        sd["head.extra"] = lib.zeros(1)
        sd["nope.weight"] = lib.zeros(1)
        m.load_state_dict(sd)

    e_msg, t_msg = same_error(run, exact=False)
    assert e_msg.startswith(t_msg)  # ember may append hints after PyTorch's text
    assert e_msg.startswith(
        'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "scale", '
        '"head.bias". \n\tUnexpected key(s) in state_dict: '
    )


def test_non_strict_returns_keys():
    def run(lib):
        m = make_net_cls(lib)()
        sd = m.state_dict()
        del sd["head.bias"]
        sd["block.fc.extra"] = lib.zeros(1)
        res = m.load_state_dict(sd, strict=False)
        return list(res.missing_keys), list(res.unexpected_keys), norm(repr(res))

    e, t = both(run)
    assert e == t
    assert e[0] == ["head.bias"] and e[1] == ["block.fc.extra"]


@pytest.mark.parametrize("strict", [True, False])
def test_size_mismatch_raises_even_non_strict(strict):
    def run(lib):
        m = make_net_cls(lib)()
        sd = m.state_dict()
        sd["head.weight"] = lib.zeros(5, 3)
        m.load_state_dict(sd, strict=strict)

    same_error(run)


def test_error_order_missing_unexpected_size():
    def run(lib):
        m = make_net_cls(lib)()
        sd = m.state_dict()
        del sd["temp"]
        sd["x"] = lib.zeros(1)
        sd["head.bias"] = lib.zeros(7)
        m.load_state_dict(sd)

    same_error(run)


def test_non_mapping_and_non_tensor_value():
    same_error(lambda lib: make_linear_cls(lib)(1, 1).load_state_dict([("weight", 1)]))

    def run(lib):
        m = make_linear_cls(lib)(1, 1)
        m.load_state_dict({"weight": [[1.0]], "bias": lib.zeros(1)})

    e_msg, t_msg = same_error(run, exact=False)
    assert 'While copying the parameter named "weight"' in e_msg and "list" in e_msg


def test_load_is_atomic():
    e = make_net_cls(ember)()
    before = {k: v.numpy(force=True).copy() for k, v in e.state_dict().items()}
    other = make_net_cls(ember)()
    for bad in ("missing", "size", "unexpected", "type"):
        sd = other.state_dict()
        if bad == "missing":
            del sd["head.bias"]
        elif bad == "size":
            sd["head.bias"] = ember.zeros(9)
        elif bad == "unexpected":
            sd["zzz"] = ember.zeros(1)
        else:
            sd["scale"] = "not a tensor"
        with pytest.raises(RuntimeError):
            e.load_state_dict(sd)
        for k, v in e.state_dict().items():
            assert np.array_equal(v.numpy(), before[k]), (bad, k)


def test_atomic_with_post_hook_that_fails():
    e = make_linear_cls(ember)(2, 2)
    before = e.weight.numpy(force=True).copy()
    e.register_load_state_dict_post_hook(lambda m, keys: keys.missing_keys.append("made.up"))
    with pytest.raises(RuntimeError, match="made.up"):
        e.load_state_dict(make_linear_cls(ember)(2, 2).state_dict())
    assert np.array_equal(e.weight.numpy(force=True), before)


def test_persistent_and_non_persistent_buffers():
    def run(lib):
        m = make_net_cls(lib)()
        sd = m.state_dict()
        sd["block.running"] = lib.full((3,), 4.0)
        m.load_state_dict(sd)
        bad = dict(sd)
        bad["block.scratch"] = lib.zeros(2)  # a non-persistent buffer is not loadable
        res = m.load_state_dict(bad, strict=False)
        return m.block.running.tolist(), m.block.scratch.tolist(), res.unexpected_keys

    e, t = both(run)
    assert e == t
    assert e[2] == ["block.scratch"]


def test_none_parameter_key_is_unexpected():
    def run(lib):
        m = make_linear_cls(lib)(1, 1, bias=False)
        return m.load_state_dict(
            {"weight": lib.zeros(1, 1), "bias": lib.zeros(1)}, strict=False
        ).unexpected_keys

    assert both(run) == (["bias"], ["bias"])


def test_dtype_cast_and_zero_dim_compat():
    def run(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(2))
        m.s = lib.nn.Parameter(lib.tensor(0.0))
        m.load_state_dict({"w": lib.tensor([1.5, 2.5], dtype=lib.float64), "s": lib.tensor([3.0])})
        return str(m.w.dtype).split(".")[-1], m.w.tolist(), m.s.shape == (), m.s.item()

    e, t = both(run)
    assert e == t == ("float32", [1.5, 2.5], True, 3.0)


def test_assign_replaces_tensors_keeps_requires_grad():
    def run(lib):
        m = make_net_cls(lib)()
        m.head.weight.requires_grad_(False)
        new = make_net_cls(lib)().state_dict()
        new["block.running"] = lib.full((3,), 2.0, dtype=lib.float64)
        old_w = m.head.weight
        m.load_state_dict(new, assign=True)
        return (
            m.head.weight is not old_w,
            isinstance(m.head.weight, lib.nn.Parameter),
            m.head.weight.requires_grad,
            m.block.fc.weight.requires_grad,
            str(m.block.running.dtype).split(".")[-1],
            list(m.state_dict()),
        )

    e, t = both(run)
    assert e == t
    assert e[:5] == (True, True, False, True, "float64")


def test_version_aware_load_from_state_dict():
    """A layer that bumped ``_version`` can upgrade old checkpoints (as BatchNorm does)."""

    def run(lib):
        class Counter(lib.nn.Module):
            _version = 2

            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.zeros(1))
                self.register_buffer("count", lib.tensor(5))

            def _load_from_state_dict(self, sd, prefix, meta, strict, missing, unexpected, errs):
                if meta.get("version", 1) < 2 and prefix + "count" not in sd:
                    sd[prefix + "count"] = lib.tensor(0)
                super()._load_from_state_dict(sd, prefix, meta, strict, missing, unexpected, errs)

        m = lib.nn.Sequential(Counter())
        old = OrderedDict([("0.w", lib.ones(1))])
        old._metadata = OrderedDict([("", {"version": 1}), ("0", {"version": 1})])
        res = m.load_state_dict(old)
        new = OrderedDict([("0.w", lib.ones(1))])
        new._metadata = OrderedDict([("", {"version": 1}), ("0", {"version": 2})])
        with pytest.raises(RuntimeError, match="count"):
            m.load_state_dict(new)
        return repr(res), m[0].count.item(), m[0].w.item()

    e, t = both(run)
    assert e == t == ("<All keys matched successfully>", 0, 1.0)


def test_load_from_state_dict_called_directly_applies():
    m = make_linear_cls(ember)(1, 1)
    missing, unexpected, errors = [], [], []
    m._load_from_state_dict(
        {"weight": ember.ones(1, 1), "bias": ember.ones(1)},
        "",
        {},
        True,
        missing,
        unexpected,
        errors,
    )
    assert m.weight.item() == 1.0 and not (missing or unexpected or errors)


def test_incompatible_keys_repr_and_fields():
    e = make_linear_cls(ember)(1, 1).load_state_dict({"weight": ember.zeros(1, 1)}, strict=False)
    t = make_linear_cls(torch)(1, 1).load_state_dict({"weight": torch.zeros(1, 1)}, strict=False)
    assert repr(e) == repr(t) and str(e) == str(t)
    missing, unexpected = e
    assert missing == ["bias"] and unexpected == [] and e.missing_keys is missing


# ---- ember extras --------------------------------------------------------------------------------
def test_strip_prefix_and_key_map():
    src = make_net_cls(ember)()
    wrapped = OrderedDict(("module." + k, v) for k, v in src.state_dict().items())
    e = make_net_cls(ember)()
    with pytest.raises(RuntimeError) as err:
        e.load_state_dict(wrapped)
    assert "strip_prefix='module.'" in str(err.value)
    assert repr(e.load_state_dict(wrapped, strip_prefix="module.")) == (
        "<All keys matched successfully>"
    )
    assert np.array_equal(e.head.weight.numpy(force=True), src.head.weight.numpy(force=True))

    renamed = OrderedDict((k.replace("head.", "out."), v) for k, v in src.state_dict().items())
    res = e.load_state_dict(renamed, key_map=lambda k: k.replace("out.", "head."))
    assert repr(res) == "<All keys matched successfully>"
    res = e.load_state_dict(
        src.state_dict(), strict=False, key_map=lambda k: None if k.startswith("head") else k
    )
    assert res.missing_keys == ["head.weight", "head.bias"]


def test_did_you_mean_hint():
    e = make_net_cls(ember)()
    sd = e.state_dict()
    sd["head.wieght"] = sd.pop("head.weight")
    with pytest.raises(RuntimeError) as err:
        e.load_state_dict(sd)
    msg = str(err.value)
    assert msg.index("Missing key(s)") < msg.index('did you mean "head.wieght" for "head.weight"')


def test_warning_when_non_strict_load_matches_nothing():
    e = make_linear_cls(ember)(1, 1)
    with pytest.warns(UserWarning, match="loaded nothing"):
        e.load_state_dict({"model.weight": ember.zeros(1, 1)}, strict=False)


def test_model_prefix_hint():
    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = make_linear_cls(ember)(1, 1)

    src = make_linear_cls(ember)(1, 1).state_dict()
    with pytest.raises(RuntimeError, match="key_map=lambda k: 'net.' \\+ k"):
        Wrap().load_state_dict(src)
    res = Wrap().load_state_dict(src, key_map=lambda k: "net." + k)
    assert not res.missing_keys


def test_values_loaded_match_torch_after_training_step():
    """A round trip through both libraries keeps the forward and backward identical."""
    e, t = pair()
    x = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    ex, tx = ember.tensor(x), torch.tensor(x)
    e(ex).sum().backward()
    t(tx).sum().backward()
    for (n, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-5, what=n)
    with ember.no_grad():
        for p in e.parameters():
            p.sub_(0.1 * p.grad)
    t.load_state_dict(to_torch_sd(e.state_dict()))
    assert_close(e(ex), t(tx))
    assert to_numpy(t.head.weight).shape == (2, 3)
