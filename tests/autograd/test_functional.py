"""``autograd.functional`` against ``torch.autograd.functional``: values, return structures,
``create_graph`` results differentiated again, ``strict`` errors and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import ember
import ember.autograd.functional as EF
from tests.parity import assert_close

RNG = np.random.default_rng(0)
A = RNG.standard_normal(3)
B = RNG.standard_normal((2, 3))


# Each case: (function of lib, inputs given as one array or a tuple of arrays).
def _one_in_one_out(lib):
    return lambda x: (x.sin() * x).tanh() * 2


def _tuple_in_tuple_out(lib):
    return lambda x, y: ((x.sin() * y).tanh(), (x**3).sum() * y.exp())


def _scalar_one_in(lib):
    return lambda x: ((x.sin() * x) ** 2).sum() * x.exp().sum()


def _scalar_tuple_in(lib):
    return lambda x, y: ((x.sin() * y).tanh() ** 2).sum() * x.exp().sum()


NONSCALAR = [
    pytest.param(_one_in_one_out, A, id="tensor-in-tensor-out"),
    pytest.param(_tuple_in_tuple_out, (A, B), id="tuple-in-tuple-out"),
]
SCALAR = [
    pytest.param(_scalar_one_in, A, id="tensor-in"),
    pytest.param(_scalar_tuple_in, (A, B), id="tuple-in"),
]


def _inputs(lib, arrays, requires_grad=False):
    if isinstance(arrays, tuple):
        return tuple(lib.tensor(a, requires_grad=requires_grad) for a in arrays)
    return lib.tensor(arrays, requires_grad=requires_grad)


def _leaves(tree) -> list:
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in _leaves(t)]
    return [tree]


def _same_structure(e, t) -> None:
    """Tuples where torch has tuples, tensors where it has tensors."""
    if isinstance(t, (tuple, list)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _same_structure(a, b)
    else:
        assert isinstance(e, ember.Tensor) and isinstance(t, torch.Tensor)
        assert tuple(e.shape) == tuple(t.shape)


def _call(api: str, lib, fn, arrays, create_graph: bool, rg: bool):
    mod = EF if lib is ember else TF
    inp = _inputs(lib, arrays, rg)
    if api in ("jacobian", "hessian"):
        return inp, getattr(mod, api)(fn(lib), inp, create_graph=create_graph)
    if api == "vjp":
        out = fn(lib)(*(inp if isinstance(inp, tuple) else (inp,)))
        v = tuple(o.detach() * 0.5 + 1 for o in out) if isinstance(out, tuple) else out.detach()
        return inp, mod.vjp(fn(lib), inp, v, create_graph=create_graph)
    v = tuple(x.detach().cos() for x in inp) if isinstance(inp, tuple) else inp.detach().cos()
    return inp, getattr(mod, api)(fn(lib), inp, v, create_graph=create_graph)


def _check(api, fn, arrays, create_graph: bool) -> None:
    ei, e = _call(api, ember, fn, arrays, create_graph, create_graph)
    ti, t = _call(api, torch, fn, arrays, create_graph, create_graph)
    _same_structure(e, t)
    for a, b in zip(_leaves(e), _leaves(t)):
        assert_close(a, b, rtol=1e-10, atol=1e-12)
        assert a.requires_grad == b.requires_grad
    if create_graph:  # the results differentiated again, back to the inputs
        ins_e, ins_t = _leaves(ei), _leaves(ti)
        ge = ember.autograd.grad(sum((x**2).sum() for x in _leaves(e)), ins_e, allow_unused=True)
        gt = torch.autograd.grad(sum((x**2).sum() for x in _leaves(t)), ins_t, allow_unused=True)
        for a, b in zip(ge, gt):
            assert (a is None) == (b is None)
            if b is not None:
                assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("api", ["jacobian", "vjp", "jvp"])
@pytest.mark.parametrize("fn, arrays", NONSCALAR)
def test_first_order_apis(api, fn, arrays, create_graph):
    _check(api, fn, arrays, create_graph)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("api", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
@pytest.mark.parametrize("fn, arrays", SCALAR)
def test_scalar_function_apis(api, fn, arrays, create_graph):
    _check(api, fn, arrays, create_graph)


def test_vectorize_and_forward_mode_give_the_same_jacobian():
    f = _tuple_in_tuple_out
    for kw in ({"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}):
        t = TF.jacobian(f(torch), _inputs(torch, (A, B)), **kw)
        e = EF.jacobian(f(ember), _inputs(ember, (A, B)), **kw)
        _same_structure(e, t)
        for a, b in zip(_leaves(e), _leaves(t)):
            assert_close(a, b, rtol=1e-10, atol=1e-12)
    e = EF.hessian(_scalar_one_in(ember), ember.tensor(A), vectorize=True)
    t = TF.hessian(_scalar_one_in(torch), torch.tensor(A), vectorize=True)
    assert_close(e, t, rtol=1e-10, atol=1e-12)


def test_v_may_be_omitted_for_one_element():
    for api in ("vjp", "jvp", "hvp", "vhp"):
        e = getattr(EF, api)(lambda x: (x**3).sum(), ember.tensor([1.5], dtype=ember.float64))
        t = getattr(TF, api)(lambda x: (x**3).sum(), torch.tensor([1.5], dtype=torch.float64))
        assert_close(e[1], t[1])


def test_unused_input_gives_zeros_and_strict_refuses():
    def f(lib):
        return lambda x, y: x * 2

    for api in ("jacobian", "vjp", "jvp"):
        args = (f(ember), _inputs(ember, (A, A)))
        targs = (f(torch), _inputs(torch, (A, A)))
        v = (
            ()
            if api == "jacobian"
            else ((ember.tensor(A),) if api == "vjp" else _inputs(ember, (A, A)),)
        )
        tv = (
            ()
            if api == "jacobian"
            else ((torch.tensor(A),) if api == "vjp" else _inputs(torch, (A, A)),)
        )
        e = getattr(EF, api)(*args, *v)
        t = getattr(TF, api)(*targs, *tv)
        for a, b in zip(_leaves(e), _leaves(t)):
            assert_close(a, b)
        _same_error(
            lambda m, a, vv, api=api: getattr(m, api)(*a, *vv, strict=True), (args, v), (targs, tv)
        )


def _words(message: str) -> str:
    """A message compared without whitespace (PyTorch writes "isonly" in one of them) and with
    ember's type names read as torch's."""
    return "".join(message.replace("ember.", "torch.").split())


def _same_error(call, ember_args, torch_args) -> None:
    with pytest.raises(Exception) as te:
        call(TF, *torch_args)
    with pytest.raises(type(te.value)) as ee:
        call(EF, *ember_args)
    assert _words(str(ee.value)) == _words(str(te.value))


def _err(fn_of_mod):
    """Run ``fn_of_mod(mod, lib)`` with torch and ember: same exception type and message."""
    with pytest.raises(Exception) as te:
        fn_of_mod(TF, torch)
    with pytest.raises(type(te.value)) as ee:
        fn_of_mod(EF, ember)
    assert _words(str(ee.value)) == _words(str(te.value))


def _t(lib, a):
    return lib.tensor(np.asarray(a, dtype=np.float64))


ERRORS = {
    "input not a tensor": lambda m, L: m.jacobian(lambda x: x, 3.0),
    "tuple input with a non-tensor": lambda m, L: m.vjp(lambda x, y: x, (_t(L, A), 2)),
    "output not a tensor": lambda m, L: m.jacobian(lambda x: 3, _t(L, A)),
    "v of the wrong size": lambda m, L: m.vjp(lambda x: x * 2, _t(L, A), _t(L, A[:2])),
    "v of the wrong size in a tuple": lambda m, L: m.jvp(
        lambda x, y: x, (_t(L, A), _t(L, A)), (_t(L, A), _t(L, A[:2]))
    ),
    "v tuple of wrong length": lambda m, L: m.vhp(
        lambda x, y: (x * y).sum(), (_t(L, A), _t(L, A)), (_t(L, A),)
    ),
    "v needed": lambda m, L: m.vjp(lambda x: x * 2, _t(L, A)),
    "v needed for jvp": lambda m, L: m.jvp(lambda x: x * 2, _t(L, A)),
    "hessian of a vector": lambda m, L: m.hessian(lambda x: x * 2, _t(L, A)),
    "hessian of a tuple": lambda m, L: m.hessian(lambda x: (x.sum(), x.sum()), _t(L, A)),
    "hvp of a vector": lambda m, L: m.hvp(lambda x: x * 2, _t(L, A), _t(L, A)),
    "vhp of a tuple": lambda m, L: m.vhp(lambda x: (x.sum(),), _t(L, A), _t(L, A)),
    "bad strategy": lambda m, L: m.jacobian(lambda x: x, _t(L, A), strategy="sideways"),
    "forward-mode needs vectorize": lambda m, L: m.jacobian(
        lambda x: x, _t(L, A), strategy="forward-mode"
    ),
    "forward-mode with create_graph": lambda m, L: m.jacobian(
        lambda x: x, _t(L, A), strategy="forward-mode", vectorize=True, create_graph=True
    ),
    "forward-mode with strict": lambda m, L: m.jacobian(
        lambda x: x, _t(L, A), strategy="forward-mode", vectorize=True, strict=True
    ),
    "vectorize with strict": lambda m, L: m.jacobian(
        lambda x: x, _t(L, A), vectorize=True, strict=True
    ),
    "bad outer strategy": lambda m, L: m.hessian(
        lambda x: x.sum(), _t(L, A), outer_jacobian_strategy="x"
    ),
    "strict: output independent of input": lambda m, L: m.vjp(
        lambda x: _t(L, A), _t(L, A), _t(L, A), strict=True
    ),
    "strict: linear function's hessian": lambda m, L: m.hessian(
        lambda x: (x * 2).sum(), _t(L, A), strict=True
    ),
    "strict: vhp of a linear function": lambda m, L: m.vhp(
        lambda x: (x * 2).sum(), _t(L, A), _t(L, A), strict=True
    ),
    "strict: jvp gradient independent": lambda m, L: m.jvp(
        lambda x: x * 2, _t(L, A), _t(L, A), strict=True, create_graph=True
    ),
    "strict: jacobian of a constant part": lambda m, L: m.jacobian(
        lambda x, y: x * 2, (_t(L, A), _t(L, A)), strict=True
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    _err(ERRORS[name])


def test_create_graph_keeps_inputs_connected():
    """With create_graph an input that requires grad stays on the graph (the result can be
    differentiated back to it); without, results are detached."""
    xe = ember.tensor(A, requires_grad=True)
    xt = torch.tensor(A, requires_grad=True)
    he = EF.hessian(lambda x: (x**4).sum(), xe, create_graph=True)
    ht = TF.hessian(lambda x: (x**4).sum(), xt, create_graph=True)
    assert he.requires_grad and ht.requires_grad
    (ge,) = ember.autograd.grad(he.trace(), xe)
    (gt,) = torch.autograd.grad(ht.trace(), xt)
    assert_close(ge, gt)
    assert not EF.hessian(lambda x: (x**4).sum(), xe).requires_grad


def test_under_no_grad_still_computes():
    with ember.no_grad():
        e = EF.jacobian(_one_in_one_out(ember), ember.tensor(A))
    with torch.no_grad():
        t = TF.jacobian(_one_in_one_out(torch), torch.tensor(A))
    assert_close(e, t)


def test_reachable_as_attribute():
    assert ember.autograd.functional.hvp is EF.hvp
