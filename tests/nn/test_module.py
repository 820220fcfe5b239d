"""nn.Module: registration, attribute protocol, traversal, modes, conversions, printing, copying.

Every behaviour PyTorch has is checked side by side: the same construction in ember and torch,
then names, orders, reprs and error types/messages are compared.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.nn._lib import copy_into_torch, make_linear_cls, make_net_cls, norm, same_error
from tests.parity import assert_close


def both(fn):
    """``fn(lib)`` for ember and torch."""
    return fn(ember), fn(torch)


# ---- registration through attributes ------------------------------------------------------------
def test_parameter_registration_order_and_names():
    def build(lib):
        m = lib.nn.Module()
        m.b = lib.nn.Parameter(lib.zeros(2))
        m.a = lib.nn.Parameter(lib.zeros(3))
        m.plain = lib.zeros(4)  # a plain tensor attribute is neither parameter nor buffer
        return m

    e, t = both(build)
    assert (
        [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()] == ["b", "a"]
    )
    assert list(e._buffers) == list(t._buffers) == []
    assert "plain" in e.__dict__ and "plain" not in e._parameters
    assert list(e.state_dict()) == list(t.state_dict()) == ["b", "a"]


def test_nn_tutorial_weight_replacement():
    """``layer.weight = nn.Parameter(torch.FloatTensor([[0]]))`` replaces the registered weight."""

    def run(lib):
        layer = make_linear_cls(lib)(1, 1)
        layer.weight = lib.nn.Parameter(lib.FloatTensor([[0]]))
        layer.bias = lib.nn.Parameter(lib.FloatTensor([0]))
        out = layer(lib.tensor([[3.0]]))
        out.sum().backward()
        return layer, out

    (e, eo), (t, to) = both(run)
    assert_close(eo, to)
    assert_close(e.weight.grad, t.weight.grad)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert isinstance(e.weight, nn.Parameter) and e.weight.requires_grad


@pytest.mark.parametrize("kind", ["parameter", "module", "buffer"])
def test_assign_before_init(kind):
    def run(lib):
        class Bad(lib.nn.Module):
            def __init__(self):
                if kind == "parameter":
                    self.w = lib.nn.Parameter(lib.zeros(1))
                elif kind == "module":
                    self.m = lib.nn.Module()
                else:
                    self.register_buffer("b", lib.zeros(1))

        Bad()

    same_error(run)


def test_assign_non_parameter_to_parameter_name():
    def run(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(2))
        m.w = lib.zeros(2)

    e_msg, _ = same_error(run)
    assert "as parameter 'w'" in e_msg


def test_assign_none_keeps_parameter_key():
    def run(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.zeros(2))
        m.w = None
        return m

    e, t = both(run)
    assert list(e._parameters) == list(t._parameters) == ["w"]
    assert e.w is None and list(e.parameters()) == [] and list(e.state_dict()) == []


def test_assign_non_module_to_module_name():
    def run(lib):
        m = lib.nn.Module()
        m.child = lib.nn.Module()
        m.child = 3

    same_error(run)
    m = nn.Module()
    m.child = nn.Module()
    m.child = None
    assert list(m._modules) == ["child"] and m.child is None


def test_buffer_reassignment_keeps_persistence_and_type_checks():
    def run(lib):
        m = lib.nn.Module()
        m.register_buffer("keep", lib.zeros(2))
        m.register_buffer("tmp", lib.zeros(2), persistent=False)
        m.keep = lib.ones(3)
        m.tmp = lib.ones(3)
        return m

    e, t = both(run)
    assert list(e.state_dict()) == list(t.state_dict()) == ["keep"]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert e.keep.shape == (3,)

    def bad(lib):
        m = lib.nn.Module()
        m.register_buffer("b", lib.zeros(2))
        m.b = [1, 2]

    same_error(bad)


@pytest.mark.parametrize("persistent", [True, False])
def test_nn_buffer_assignment(persistent):
    def run(lib):
        m = lib.nn.Module()
        m.buf = lib.nn.Buffer(lib.arange(3.0), persistent=persistent)
        return m

    e, t = both(run)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()] == ["buf"]
    assert type(e.buf) is ember.Tensor  # stored as a plain tensor, as torch
    assert type(t.buf) is torch.Tensor


def test_parameter_replaces_attribute_of_other_kind():
    def run(lib):
        m = lib.nn.Module()
        m.register_buffer("x", lib.zeros(1))
        m.x = lib.nn.Parameter(lib.zeros(1))
        m.y = 5
        m.y = lib.nn.Parameter(lib.zeros(1))
        return m

    e, t = both(run)
    assert list(e._parameters) == list(t._parameters) == ["x", "y"]
    assert list(e._buffers) == list(t._buffers) == []
    assert "y" not in e.__dict__


# ---- register_* checks, in PyTorch's order ------------------------------------------------------
REGISTER_CASES = {
    "param_name_int": lambda lib, m: m.register_parameter(1, None),
    "param_name_dot": lambda lib, m: m.register_parameter("a.b", None),
    "param_name_empty": lambda lib, m: m.register_parameter("", None),
    "param_exists": lambda lib, m: m.register_parameter("attr", None),
    "param_wrong_type": lambda lib, m: m.register_parameter("p", lib.zeros(1)),
    "param_dot_before_type": lambda lib, m: m.register_parameter("a.b", 3),
    "param_non_leaf": lambda lib, m: m.register_parameter("p", _non_leaf_param(lib)),
    "buffer_name_int": lambda lib, m: m.register_buffer(1, None),
    "buffer_name_dot": lambda lib, m: m.register_buffer("a.b", None),
    "buffer_name_empty": lambda lib, m: m.register_buffer("", None),
    "buffer_exists": lambda lib, m: m.register_buffer("attr", None),
    "buffer_wrong_type": lambda lib, m: m.register_buffer("b", 3),
    "module_not_module": lambda lib, m: m.add_module("c", 3),
    "module_name_int": lambda lib, m: m.add_module(1, lib.nn.Module()),
    "module_exists_before_dot": lambda lib, m: m.add_module("attr", lib.nn.Module()),
    "module_name_dot": lambda lib, m: m.add_module("a.b", lib.nn.Module()),
    "module_name_empty": lambda lib, m: m.register_module("", lib.nn.Module()),
}


def _non_leaf_param(lib):
    p = lib.nn.Parameter(lib.zeros(1))
    q = p * 2
    # Make a Parameter-typed non-leaf: the class is swapped, the graph node kept.
    q.__class__ = lib.nn.Parameter
    return q


@pytest.mark.parametrize("case", sorted(REGISTER_CASES))
def test_register_errors(case):
    def run(lib):
        m = lib.nn.Module()
        m.attr = 1
        REGISTER_CASES[case](lib, m)

    same_error(run)


def test_register_none_and_reregister():
    def run(lib):
        m = lib.nn.Module()
        m.register_parameter("p", None)
        m.register_parameter("p", lib.nn.Parameter(lib.zeros(1)))  # same name: allowed
        m.register_buffer("b", None)
        m.add_module("c", None)
        m.register_module("d", lib.nn.Module())
        return m

    e, t = both(run)
    assert list(e._parameters) == list(t._parameters)
    assert list(e.state_dict()) == list(t.state_dict()) == ["p"]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()] == ["d"]


def test_getattr_and_delattr():
    def run(lib):
        m = lib.nn.Module()
        m.p = lib.nn.Parameter(lib.zeros(1))
        m.register_buffer("b", lib.zeros(1))
        m.c = lib.nn.Module()
        m.x = 1
        for name in ("p", "b", "c", "x"):
            delattr(m, name)
        return m

    e, t = both(run)
    assert not e._parameters and not e._buffers and not e._modules

    def missing(lib):
        lib.nn.Module().nothing  # noqa: B018

    same_error(missing)

    def del_missing(lib):
        del lib.nn.Module().nothing

    same_error(del_missing, exact=False)


# ---- traversal -----------------------------------------------------------------------------------
def test_named_traversal_matches_torch():
    e, t = make_net_cls(ember)(), make_net_cls(torch)()
    for meth, kwargs in [
        ("named_parameters", {}),
        ("named_parameters", {"prefix": "model"}),
        ("named_parameters", {"recurse": False}),
        ("named_buffers", {}),
        ("named_buffers", {"prefix": "x", "recurse": False}),
        ("named_children", {}),
        ("named_modules", {}),
        ("named_modules", {"prefix": "root"}),
    ]:
        en = [n for n, _ in getattr(e, meth)(**kwargs)]
        tn = [n for n, _ in getattr(t, meth)(**kwargs)]
        assert en == tn, meth
    assert len(list(e.parameters())) == len(list(t.parameters())) == 5
    assert len(list(e.parameters(recurse=False))) == 1
    assert len(list(e.buffers())) == len(list(t.buffers())) == 4
    assert [type(m).__name__ for m in e.modules()] == [type(m).__name__ for m in t.modules()]
    assert [type(m).__name__ for m in e.children()] == [type(m).__name__ for m in t.children()]


def test_shared_parameter_and_module_once():
    def run(lib):
        lin = make_linear_cls(lib)(2, 2)
        m = lib.nn.Module()
        m.a = lin
        m.b = lin
        m.extra = lib.nn.Module()
        m.extra.w = lin.weight  # a tied parameter
        return m

    e, t = both(run)
    for kw in [{}, {"remove_duplicate": False}]:
        assert [n for n, _ in e.named_parameters(**kw)] == [n for n, _ in t.named_parameters(**kw)]
        assert [n for n, _ in e.named_modules(**kw)] == [n for n, _ in t.named_modules(**kw)]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    # state_dict lists the tied parameter under every key
    assert list(e.state_dict()) == list(t.state_dict())
    assert len(list(e.parameters())) == 2


@pytest.mark.parametrize(
    "method,target",
    [
        ("get_submodule", ""),
        ("get_submodule", "block"),
        ("get_submodule", "block.fc"),
        ("get_parameter", "block.fc.weight"),
        ("get_parameter", "scale"),
        ("get_buffer", "block.running"),
        ("get_buffer", "block.scratch"),
    ],
)
def test_get_by_path(method, target):
    e = make_net_cls(ember)()
    got = getattr(e, method)(target)
    expected = e
    for part in [p for p in target.split(".") if p]:
        expected = getattr(expected, part)
    assert got is expected


@pytest.mark.parametrize(
    "method,target",
    [
        ("get_submodule", "nope"),
        ("get_submodule", "block.running"),
        ("get_submodule", "block.fc.nope"),
        ("get_parameter", "block.running"),
        ("get_parameter", "block.nope"),
        ("get_buffer", "block.fc.weight"),
        ("get_buffer", "nope.x"),
    ],
)
def test_get_by_path_errors(method, target):
    same_error(lambda lib: getattr(make_net_cls(lib)(), method)(target))


def test_set_submodule():
    def run(lib):
        m = make_net_cls(lib)()
        m.set_submodule("block.fc", lib.nn.Module())
        m.set_submodule("block.new", lib.nn.Module())
        return m

    e, t = both(run)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    same_error(lambda lib: make_net_cls(lib)().set_submodule("block.nope", lib.nn.Module(), True))


# ---- modes -------------------------------------------------------------------------------------
def test_train_eval_recursive():
    def run(lib):
        m = make_net_cls(lib)()
        r1 = m.eval()
        flags_eval = [x.training for x in m.modules()]
        r2 = m.train()
        flags_train = [x.training for x in m.modules()]
        m.block.train(False)
        return m, r1 is m and r2 is m, flags_eval, flags_train, [x.training for x in m.modules()]

    (_, *e), (_, *t) = both(run)
    assert e == t
    assert e[1] == [False] * 4 and e[2] == [True] * 4
    same_error(lambda lib: lib.nn.Module().train("yes"))


def test_requires_grad_and_zero_grad():
    e = make_net_cls(ember)()
    assert e.requires_grad_(False) is e
    assert not any(p.requires_grad for p in e.parameters())
    e.requires_grad_()
    out = e(ember.randn(4, 3)).sum()
    out.backward()
    assert all(p.grad is not None for p in e.parameters())
    grads = [p.grad for p in e.parameters()]
    e.zero_grad(set_to_none=False)
    for p, g in zip(e.parameters(), grads):
        assert p.grad is g and not np.any(p.grad.numpy())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())


def test_apply_children_first():
    def run(lib):
        m = make_net_cls(lib)()
        seen = []
        assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
        return seen

    e, t = both(run)
    assert e == t and e[-1] == "Net"


# ---- conversions --------------------------------------------------------------------------------
def test_to_double_keeps_identity_and_int_buffers():
    e = make_net_cls(ember)()
    t = make_net_cls(torch)()
    params = list(e.parameters())
    e(ember.randn(2, 3)).sum().backward()
    assert e.to(ember.float64) is e
    t.to(torch.float64)
    assert [p is q for p, q in zip(params, e.parameters())] == [True] * 5
    e_types = {k: v.dtype.name for k, v in e.state_dict().items()}
    t_types = {k: str(v.dtype).replace("torch.", "") for k, v in t.state_dict().items()}
    assert e_types == t_types
    assert e.block.steps.dtype == ember.int64
    assert all(p.grad.dtype == ember.float64 for p in e.parameters())
    assert e.block.scratch.dtype == ember.float64


@pytest.mark.parametrize(
    "call,dtype",
    [
        (lambda m, lib: m.double(), "float64"),
        (lambda m, lib: m.half(), "float16"),
        (lambda m, lib: m.double().float(), "float32"),
        (lambda m, lib: m.to(lib.zeros(1, dtype=lib.float64)), "float64"),
        (lambda m, lib: m.to(dtype=lib.float64), "float64"),
        (lambda m, lib: m.to("cpu", lib.float64), "float64"),
        (lambda m, lib: m.to("cpu"), "float32"),
        (lambda m, lib: m.cpu(), "float32"),
        (lambda m, lib: m.type(lib.float64), "float64"),
    ],
)
def test_conversions(call, dtype):
    def run(lib):
        m = make_net_cls(lib)()
        assert call(m, lib) is m
        return {k: str(v.dtype).split(".")[-1] for k, v in m.state_dict().items()}

    e, t = both(run)
    assert e == t
    assert e["scale"] == dtype


def test_type_casts_integer_buffers_too():
    def run(lib):
        m = make_net_cls(lib)()
        m.type(lib.float64)
        return str(m.block.steps.dtype).split(".")[-1]

    assert both(run) == ("float64", "float64")


def test_to_rejects_integer_dtype():
    same_error(lambda lib: make_net_cls(lib)().to(lib.int64))


def test_to_forward_matches_torch_in_float64():
    e = make_net_cls(ember)()
    t = make_net_cls(torch)()
    copy_into_torch(e, t)
    e.double()
    t.double()
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)), rtol=1e-12, atol=1e-12)


# ---- printing ----------------------------------------------------------------------------------
def test_repr_matches_torch():
    def run(lib):
        m = make_net_cls(lib)()
        m.seq = lib.nn.Sequential(make_linear_cls(lib)(1, 2), lib.nn.Module())
        return repr(m)

    e, t = both(run)
    assert e == t
    assert "  (block): Block(\n    (fc): MyLinear(in_features=3, out_features=3)\n  )" in e


def test_repr_multiline_extra_repr():
    def run(lib):
        class Multi(lib.nn.Module):
            def extra_repr(self):
                return "a=1\nb=2"

        class Single(lib.nn.Module):
            def extra_repr(self):
                return "k=3"

        outer = Single()
        outer.inner = Multi()
        return repr(Multi()), repr(Single()), repr(outer), repr(lib.nn.Module())

    e, t = both(run)
    assert e == t


def test_dir_lists_registered_names():
    e = make_net_cls(ember)()
    t = make_net_cls(torch)()
    d = dir(e)
    for name in ("scale", "block", "head", "temp", "forward", "training"):
        assert name in d
    assert d == sorted(d)
    registered = {"scale", "block", "head", "temp"}
    assert registered <= set(d) and registered <= set(dir(t))
    seq = nn.Sequential(nn.Module(), nn.Module())
    assert not any(k.isdigit() for k in dir(seq))


# ---- calling -----------------------------------------------------------------------------------
def test_missing_forward_and_init_args():
    same_error(lambda lib: lib.nn.Module()(1))
    same_error(lambda lib: lib.nn.Module(3))
    same_error(lambda lib: lib.nn.Module(x=3))


def test_forward_kwargs_pass_through():
    class Add(nn.Module):
        def forward(self, x, *, y=1):
            return x + y

    assert Add()(ember.tensor(1.0), y=2).item() == 3.0


# ---- copying and pickling ----------------------------------------------------------------------
def test_deepcopy_gives_independent_parameters():
    e = make_net_cls(ember)()
    e(ember.randn(2, 3)).sum().backward()
    c = copy.deepcopy(e)
    assert repr(c) == repr(e)
    for (n1, p1), (n2, p2) in zip(e.named_parameters(), c.named_parameters()):
        assert n1 == n2 and p1 is not p2 and isinstance(p2, nn.Parameter)
        assert p2.requires_grad and np.array_equal(p1.numpy(force=True), p2.numpy(force=True))
        assert np.shares_memory(p1._data, p2._data) is False
    with ember.no_grad():
        c.scale.mul_(10)
    assert e.scale.item() == 1.0 and c.scale.item() == 10.0
    assert c.block.steps.dtype == ember.int64
    assert "scratch" in c.block._non_persistent_buffers_set


def test_deepcopy_keeps_ties():
    lin = make_linear_cls(ember)(2, 2)
    m = nn.Sequential(lin, lin)
    c = copy.deepcopy(m)
    assert c[0] is c[1] and c[0] is not lin


def test_pickle_round_trip():
    e = nn.Sequential(nn.Module())
    e[0].w = nn.Parameter(ember.arange(3.0))
    e[0].register_buffer("b", ember.ones(2), persistent=False)
    r = pickle.loads(pickle.dumps(e))
    assert repr(r) == repr(e)
    assert list(r.state_dict()) == ["0.w"]
    assert isinstance(r[0].w, nn.Parameter) and r[0].w.tolist() == [0.0, 1.0, 2.0]


def test_setstate_fills_missing_attributes():
    m = nn.Module()
    state = m.__getstate__()
    for key in ("_forward_pre_hooks", "_state_dict_pre_hooks", "_non_persistent_buffers_set"):
        del state[key]
    fresh = nn.Module.__new__(nn.Module)
    fresh.__setstate__(state)
    assert fresh._forward_pre_hooks == {} and fresh._non_persistent_buffers_set == set()


# ---- ember's warning for modules hidden in plain containers ------------------------------------
@pytest.mark.parametrize(
    "value,expect",
    [
        (lambda: [nn.Module(), nn.Module()], "nn.ModuleList"),
        (lambda: (nn.Module(),), "nn.ModuleList"),
        (lambda: {"a": nn.Module()}, "nn.ModuleDict"),
        (lambda: [nn.Parameter(ember.zeros(1))], "nn.ParameterList"),
        (lambda: {"p": nn.Parameter(ember.zeros(1))}, "nn.ParameterDict"),
    ],
)
def test_plain_container_warning(value, expect):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = value()

    with pytest.warns(UserWarning, match=r"Net\.layers is a plain Python") as rec:
        net = Net()
    assert expect in str(rec[0].message)
    assert list(net.parameters()) == []  # indeed not registered, as in PyTorch


def test_no_warning_for_plain_values():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.kernel_size = (3, 3)
            self.names = ["a"]
            self.cfg = {"x": 1}
            self.empty = []
            self._flat_weights = [nn.Parameter(ember.zeros(1))]  # private: a layer's internals

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Net()


def test_error_messages_normalised():
    # norm() only unifies library names; keep it honest.
    assert norm("ember.Size([1])") == "torch.Size([1])"
