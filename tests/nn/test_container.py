"""Containers side by side with torch: Sequential, ModuleList, ModuleDict, ParameterList,
ParameterDict: construction, indexing, mutation, names, reprs, errors and training."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.nn._lib import make_linear_cls, norm, same_error
from tests.parity import assert_close


def both(fn):
    return fn(ember), fn(torch)


def lins(lib, n, i=2, o=2):
    L = make_linear_cls(lib)
    return [L(i, o) for _ in range(n)]


def names(m):
    return list(m._modules)


class Tag:
    """A module factory tagging each module so structure can be compared across libraries."""

    @staticmethod
    def make(lib, tag):
        class T(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.tag = tag

            def forward(self, x):
                return x + tag

            def extra_repr(self):
                return f"tag={tag}"

        return T()


def tags(container):
    return [m.tag for m in container]


# ---- Sequential --------------------------------------------------------------------------------
def test_sequential_forward_chain_matches_torch():
    e = nn.Sequential(*lins(ember, 3, 4, 4))
    t = torch.nn.Sequential(*lins(torch, 3, 4, 4))
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    assert_close(e(ex), t(tx))
    e(ex).pow(2).sum().backward()
    t(tx).pow(2).sum().backward()
    assert_close(ex.grad, tx.grad, rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, what=n)


def test_sequential_ordered_dict_and_repr():
    def run(lib):
        seq = lib.nn.Sequential(
            OrderedDict([("first", Tag.make(lib, 1)), ("second", Tag.make(lib, 2))])
        )
        return repr(seq), names(seq), seq.first.tag, seq(lib.zeros(1)).tolist()

    e, t = both(run)
    assert e == t


def test_sequential_plain_dict_rejected():
    same_error(lambda lib: lib.nn.Sequential({"a": lib.nn.Module()}), exact=False)


@pytest.mark.parametrize(
    "op",
    [
        lambda s, lib: (tags(s[1:3]), names(s[1:3]), type(s[1:]).__name__),
        lambda s, lib: (s[-1].tag, s[0].tag, len(s)),
        lambda s, lib: tags(s[::-2]),
        lambda s, lib: (s.__setitem__(1, Tag.make(lib, 9)), tags(s), names(s)),
        lambda s, lib: (s.__delitem__(1), tags(s), names(s)),
        lambda s, lib: (s.__delitem__(slice(0, 2)), tags(s), names(s)),
        lambda s, lib: (s.pop(-1).tag, tags(s), names(s)),
        lambda s, lib: (s.append(Tag.make(lib, 7)) is s, tags(s), names(s)),
        lambda s, lib: (s.extend([Tag.make(lib, 7), Tag.make(lib, 8)]) is s, tags(s), names(s)),
        lambda s, lib: (s.insert(1, Tag.make(lib, 5)) is s, tags(s), names(s)),
        lambda s, lib: (s.insert(-1, Tag.make(lib, 5)) is s, tags(s), names(s)),
        lambda s, lib: (s.insert(3, Tag.make(lib, 5)) is s, tags(s), names(s)),
        lambda s, lib: (tags(s + s), names(s + s)),
        lambda s, lib: (tags(s * 2), names(2 * s)),
        lambda s, lib: (s.__iadd__(s[:1]) is s, tags(s), names(s)),
        lambda s, lib: (s.__imul__(2) is s, tags(s), names(s)),
        lambda s, lib: [n for n, _ in s.named_parameters()],
        lambda s, lib: s(lib.zeros(1)).tolist(),
        lambda s, lib: repr(s),
        lambda s, lib: [k for k in dir(s) if k.isdigit()],
    ],
)
def test_sequential_operations(op):
    def run(lib):
        s = lib.nn.Sequential(*(Tag.make(lib, i) for i in range(3)))
        return op(s, lib)

    e, t = both(run)
    assert e == t


@pytest.mark.parametrize(
    "op",
    [
        lambda s, lib: (tags(s[1:3]), names(s[1:3])),  # a slice keeps the names
        lambda s, lib: (s.b.tag, s[-1].tag),
        lambda s, lib: (s.__delitem__(0), tags(s), names(s)),  # del renumbers every key
        lambda s, lib: (s.pop(1).tag, names(s)),
        lambda s, lib: (s.append(Tag.make(lib, 7)) is s, names(s)),
        lambda s, lib: (tags(s + s), names(s + s)),
        lambda s, lib: repr(s),
        lambda s, lib: [n for n, _ in s.named_modules()],
    ],
)
def test_named_sequential_operations(op):
    def run(lib):
        s = lib.nn.Sequential(OrderedDict((n, Tag.make(lib, i)) for i, n in enumerate("abc")))
        return op(s, lib)

    e, t = both(run)
    assert e == t


@pytest.mark.parametrize(
    "op",
    [
        lambda s, lib: s[5],
        lambda s, lib: s[-4],
        lambda s, lib: s["a"],
        lambda s, lib: s.__setitem__(3, Tag.make(lib, 1)),
        lambda s, lib: s.__delitem__(3),
        lambda s, lib: s.insert(1, 3),
        lambda s, lib: s.insert(5, lib.nn.Module()),
        lambda s, lib: s + [1],
        lambda s, lib: s * 0,
        lambda s, lib: s * 1.5,
        lambda s, lib: s.append(3),
    ],
)
def test_sequential_errors(op):
    def run(lib):
        s = lib.nn.Sequential(*(Tag.make(lib, i) for i in range(3)))
        op(s, lib)

    same_error(run, exact=False)


def test_sequential_index_error_message():
    same_error(lambda lib: lib.nn.Sequential(lib.nn.Module())[5])


# ---- ModuleList -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [
        lambda s, lib: (tags(s[1:]), type(s[1:]).__name__, names(s[1:])),
        lambda s, lib: (s[-1].tag, len(s)),
        lambda s, lib: (s.__setitem__(-1, Tag.make(lib, 9)), tags(s)),
        lambda s, lib: (s.__delitem__(0), tags(s), names(s)),
        lambda s, lib: (s.__delitem__(slice(None, None, 2)), tags(s), names(s)),
        lambda s, lib: (s.pop(1).tag, tags(s), names(s)),
        lambda s, lib: (s.append(Tag.make(lib, 5)) is s, tags(s)),
        lambda s, lib: (s.extend((Tag.make(lib, 5), Tag.make(lib, 6))) is s, tags(s)),
        lambda s, lib: (s.insert(0, Tag.make(lib, 5)), tags(s), names(s)),
        lambda s, lib: (tags(s + [Tag.make(lib, 4)]), type(s + s).__name__),
        lambda s, lib: (s.__iadd__([Tag.make(lib, 4)]) is s, tags(s)),
        lambda s, lib: [n for n, _ in s.named_modules()],
        lambda s, lib: repr(s),
    ],
)
def test_modulelist_operations(op):
    def run(lib):
        s = lib.nn.ModuleList([Tag.make(lib, i) for i in range(3)])
        return op(s, lib)

    e, t = both(run)
    assert e == t


@pytest.mark.parametrize(
    "op",
    [
        lambda s, lib: s[3],
        lambda s, lib: s.extend(5),
        lambda s, lib: s.append(5),
        lambda s, lib: s(lib.zeros(1)),
        lambda s, lib: s["0"],
    ],
)
def test_modulelist_errors(op):
    def run(lib):
        op(lib.nn.ModuleList([Tag.make(lib, 0)]), lib)

    same_error(run, exact=False)


def test_modulelist_repr_collapses_repeats():
    def run(lib):
        L = make_linear_cls(lib)
        ml = lib.nn.ModuleList([L(2, 2), L(2, 2), L(2, 2), L(2, 3), L(2, 2), L(2, 2)])
        ml.append(lib.nn.Sequential(L(1, 1), L(1, 1)))
        outer = lib.nn.Module()
        outer.layers = ml
        return repr(outer), repr(lib.nn.ModuleList())

    e, t = both(run)
    assert e == t
    assert "(0-2): 3 x MyLinear(in_features=2, out_features=2)" in e[0]
    assert e[1] == "ModuleList()"


def test_nn_tutorial_modulelist_example_trains():
    """``x = self.linears[i // 2](x) + l(x)`` runs and trains, as in torch."""

    def make(lib):
        class MyModule(lib.nn.Module):
            def __init__(self):
                super().__init__()
                L = make_linear_cls(lib)
                self.linears = lib.nn.ModuleList([L(10, 10) for i in range(10)])

            def forward(self, x):
                for i, l in enumerate(self.linears):
                    x = self.linears[i // 2](x) + l(x)
                return x

        return MyModule()

    e, t = make(ember), make(torch)
    t.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy() * 0.1) for k, v in e.state_dict().items()}
    )
    with ember.no_grad():
        for p in e.parameters():
            p.mul_(0.1)
    assert len(list(e.parameters())) == 20
    x = np.random.default_rng(0).standard_normal((2, 10)).astype(np.float32)
    for _ in range(2):  # two SGD steps
        eo, to = e(ember.tensor(x)), t(torch.tensor(x))
        assert_close(eo, to, rtol=1e-4, atol=1e-4)
        eo.pow(2).mean().backward()
        to.pow(2).mean().backward()
        with ember.no_grad():
            for p in e.parameters():
                p.sub_(0.01 * p.grad)
                p.grad = None
        with torch.no_grad():
            for p in t.parameters():
                p.sub_(0.01 * p.grad)
                p.grad = None
    for (n, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        assert_close(p, q, rtol=1e-4, atol=1e-5, what=n)


# ---- ModuleDict ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda lib: {"b": Tag.make(lib, 1), "a": Tag.make(lib, 2)},
        lambda lib: OrderedDict([("b", Tag.make(lib, 1)), ("a", Tag.make(lib, 2))]),
        lambda lib: [["b", Tag.make(lib, 1)], ["a", Tag.make(lib, 2)]],
        lambda lib: (("b", Tag.make(lib, 1)), ("a", Tag.make(lib, 2))),
        lambda lib: lib.nn.ModuleDict({"b": Tag.make(lib, 1), "a": Tag.make(lib, 2)}),
    ],
)
def test_moduledict_construction_keeps_order(build):
    def run(lib):
        d = lib.nn.ModuleDict(build(lib))
        return list(d.keys()), [m.tag for m in d.values()], [k for k, _ in d.items()], repr(d)

    e, t = both(run)
    assert e == t
    assert e[0] == ["b", "a"]


@pytest.mark.parametrize(
    "op",
    [
        lambda d, lib: (d["x"].tag, "x" in d, "q" in d, len(d), list(d)),
        lambda d, lib: (d.__setitem__("z", Tag.make(lib, 9)), list(d.keys())),
        lambda d, lib: (d.__delitem__("x"), list(d.keys())),
        lambda d, lib: (d.pop("y").tag, list(d.keys())),
        lambda d, lib: (d.clear(), len(d), list(d.parameters())),
        lambda d, lib: (d.update([("w", Tag.make(lib, 3)), ("x", Tag.make(lib, 4))]), tags_of(d)),
        lambda d, lib: (d.update({"k": Tag.make(lib, 3)}), tags_of(d)),
        lambda d, lib: [n for n, _ in d.named_modules()],
    ],
)
def test_moduledict_operations(op):
    def run(lib):
        d = lib.nn.ModuleDict({"x": Tag.make(lib, 0), "y": Tag.make(lib, 1)})
        return op(d, lib)

    e, t = both(run)
    assert e == t


def tags_of(d):
    return [(k, m.tag) for k, m in d.items()]


@pytest.mark.parametrize(
    "arg",
    [
        lambda lib: [["a", lib.nn.Module(), "extra"]],
        lambda lib: [["a"]],
        lambda lib: [5],
        lambda lib: 5,
        lambda lib: {"a": 5},
        lambda lib: {"a.b": lib.nn.Module()},
    ],
)
def test_moduledict_errors(arg):
    same_error(lambda lib: lib.nn.ModuleDict(arg(lib)))


def test_moduledict_missing_key():
    same_error(lambda lib: lib.nn.ModuleDict()["nope"], exact=False)


# ---- ParameterList ------------------------------------------------------------------------------
def test_parameterlist_registration_and_wrapping():
    def run(lib):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.randn(10, 10)) for i in range(3)])
        pl.append(lib.zeros(2))  # a plain tensor is wrapped
        pl.extend([lib.ones(1)])
        pl += [lib.nn.Parameter(lib.ones(3), requires_grad=False)]
        pl[0] = lib.zeros(4)
        return (
            [n for n, _ in pl.named_parameters()],
            [type(p).__name__ for p in pl],
            [p.requires_grad for p in pl],
            [tuple(p.shape) for p in pl[1:4]],
            type(pl[1:]).__name__,
            len(pl),
            norm(repr(pl)),
            list(pl.state_dict()),
        )

    e, t = both(run)
    assert e == t
    assert e[1] == ["Parameter"] * 6


@pytest.mark.parametrize(
    "op,where",
    [
        (lambda lib: lib.nn.ParameterList([lib.zeros(1), 3]), "element 1"),
        (lambda lib: lib.nn.ParameterList(["a"]), "element 0"),
        (lambda lib: lib.nn.ParameterList([lib.zeros(1)]).append(None), "element 1"),
        (lambda lib: lib.nn.ParameterList([lib.zeros(1)]).__setitem__(0, 2.5), "element 0"),
    ],
)
def test_parameterlist_rejects_non_tensors(op, where):
    """The torch.nn tutorial's rule (PyTorch 2.x stores such elements unregistered)."""
    with pytest.raises(TypeError) as err:
        op(ember)
    assert where in str(err.value)
    assert "must be a Tensor, Parameter or Module, got" in str(err.value)


@pytest.mark.parametrize(
    "op",
    [
        lambda pl, lib: pl[5],
        lambda pl, lib: pl.extend(lib.zeros(2)),
        lambda pl, lib: pl.extend(5),
        lambda pl, lib: pl(lib.zeros(1)),
    ],
)
def test_parameterlist_errors(op):
    same_error(lambda lib: op(lib.nn.ParameterList([lib.zeros(1)]), lib))


def test_parameterlist_trains():
    pl = nn.ParameterList([nn.Parameter(ember.ones(2)) for _ in range(3)])
    loss = sum((p * p).sum() for p in pl)
    loss.backward()
    assert [p.grad.tolist() for p in pl] == [[2.0, 2.0]] * 3


# ---- ParameterDict -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda lib: {"right": lib.zeros(5, 10), "left": lib.nn.Parameter(lib.ones(5, 10))},
        lambda lib: OrderedDict([("right", lib.zeros(1)), ("left", lib.zeros(2))]),
        lambda lib: [("right", lib.zeros(1)), ("left", lib.zeros(2))],
        lambda lib: lib.nn.ParameterDict(OrderedDict([("b", lib.zeros(1)), ("a", lib.zeros(1))])),
    ],
)
def test_parameterdict_construction(build):
    def run(lib):
        d = lib.nn.ParameterDict(build(lib))
        return (
            list(d.keys()),
            [type(v).__name__ for v in d.values()],
            [n for n, _ in d.named_parameters()],
            norm(repr(d)),
        )

    e, t = both(run)
    assert e == t


def test_parameterdict_update_with_plain_dict_sorts_keys():
    def run(lib):
        d = lib.nn.ParameterDict()
        d["z"] = lib.zeros(1)
        d.update({"c": lib.zeros(1), "a": lib.zeros(1), "b": lib.zeros(1)})
        return list(d.keys())

    e, t = both(run)
    assert e == t == ["z", "a", "b", "c"]


@pytest.mark.parametrize(
    "op",
    [
        lambda d, lib: (d["a"].shape == (1,), "a" in d, len(d), list(d), list(reversed(d))),
        lambda d, lib: (d.pop("a").tolist(), list(d.keys())),
        lambda d, lib: (d.popitem()[0], list(d.keys())),
        lambda d, lib: (d.get("q", 7), d.get("a").tolist()),
        lambda d, lib: (d.setdefault("n", lib.ones(2)).tolist(), list(d.keys())),
        lambda d, lib: (d.clear(), len(d), list(d.parameters())),
        lambda d, lib: (d.__delitem__("b"), list(d.keys()), list(d.state_dict())),
        lambda d, lib: (list(d.copy().keys()), d.copy()["a"] is d["a"]),
        lambda d, lib: list((d | lib.nn.ParameterDict({"x": lib.zeros(1)})).keys()),
        lambda d, lib: (d.__ior__(lib.nn.ParameterDict({"x": lib.zeros(1)})) is d, list(d)),
        lambda d, lib: list(d.fromkeys(["p", "q"], lib.zeros(1)).keys()),
    ],
)
def test_parameterdict_operations(op):
    def run(lib):
        d = lib.nn.ParameterDict(OrderedDict([("b", lib.zeros(2)), ("a", lib.ones(1))]))
        return op(d, lib)

    e, t = both(run)
    assert e == t


@pytest.mark.parametrize(
    "op",
    [
        lambda lib: lib.nn.ParameterDict()[3],
        lambda lib: lib.nn.ParameterDict().__setitem__(3, lib.zeros(1)),
        lambda lib: lib.nn.ParameterDict([("a", lib.zeros(1), 1)]),
        lambda lib: lib.nn.ParameterDict([5]),
        lambda lib: lib.nn.ParameterDict(5),
        lambda lib: lib.nn.ParameterDict()(lib.zeros(1)),
        lambda lib: lib.nn.ParameterDict()["missing"],
    ],
)
def test_parameterdict_errors(op):
    same_error(op, exact=False)


def test_parameterdict_rejects_non_tensor_value():
    with pytest.raises(TypeError, match="key 'left'.*int"):
        nn.ParameterDict({"left": 3})


def test_containers_seen_by_module_methods():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.seq = nn.Sequential(*lins(ember, 2))
            self.ml = nn.ModuleList(lins(ember, 2))
            self.md = nn.ModuleDict({"x": lins(ember, 1)[0]})
            self.pl = nn.ParameterList([ember.zeros(2)])
            self.pd = nn.ParameterDict({"k": ember.zeros(3)})

    net = Net()
    assert len(list(net.parameters())) == 4 * 2 + 2 + 2
    assert "pd.k" in net.state_dict() and "pl.0" in net.state_dict()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.double()
    assert net.pl[0].dtype == ember.float64 and net.ml[1].weight.dtype == ember.float64


def test_container_deprecated():
    with pytest.warns(FutureWarning):
        c = nn.Container(a=nn.Module())
    assert list(c._modules) == ["a"]


def _nested_containers(lib):
    inner = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(3))])
    plist = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), inner, lib.nn.Linear(2, 2)])
    pdict = lib.nn.ParameterDict({"b": lib.ones(2), "c": lib.nn.Linear(1, 1)})
    return plist, pdict


def test_parameter_containers_register_module_elements_as_torch():
    """A Module element (a nested ParameterList, say) is a registered submodule, as in torch."""
    ours, theirs = _nested_containers(ember), _nested_containers(torch)
    for e, t in zip(ours, theirs):
        assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
        assert list(e.state_dict()) == list(t.state_dict())
        assert norm(repr(e)) == norm(repr(t))
    for lib, (plist, _) in (("ember", ours), ("torch", theirs)):
        assert type(plist[1][0]).__name__ == "Parameter", lib
    # replacing a module element with a tensor unregisters the module
    ours[0][1] = ember.ones(1)
    theirs[0][1] = torch.ones(1)
    assert [n for n, _ in ours[0].named_parameters()] == [
        n for n, _ in theirs[0].named_parameters()
    ]
    assert norm(repr(ours[0][1:3])) == norm(repr(theirs[0][1:3]))
