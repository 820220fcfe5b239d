"""Every code example of points 2-13 of the torch.nn tutorial ember grew from
("the torch.nn library, and how nn differs from nn.functional"), run with ember in place of torch
and compared with torch's results. Point 14 (files) belongs to the checkpoint tests."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close, copy_weights, rand_array


def both(fn):
    """``fn(lib)`` with ``lib`` standing for ``torch``: once with ember, once with torch."""
    return fn(ember), fn(torch)


def run_pair(make, *inputs, extra=(), grad=True, rtol=1e-5, atol=1e-5):
    """Build the same model in both libraries (ember's weights copied into torch), run it on
    the same inputs, compare outputs, and compare every gradient after backward."""
    e, t = make(ember), make(torch)
    copy_weights(e, t)
    e_in = [ember.tensor(x, requires_grad=grad) for x in inputs]
    t_in = [torch.tensor(x, requires_grad=grad) for x in inputs]
    eo, to = e(*e_in, *extra), t(*t_in, *extra)
    assert_close(eo, to, rtol=rtol, atol=atol, what="forward")
    if grad:
        up = rand_array(tuple(to.shape), seed=9)
        eo.backward(ember.tensor(up))
        to.backward(torch.tensor(up))
        for i, (a, b) in enumerate(zip(e_in, t_in)):
            assert_close(a.grad, b.grad, rtol=rtol * 10, atol=atol * 10, what=f"input {i} grad")
        tp = dict(t.named_parameters())
        for n, p in e.named_parameters():
            assert_close(p.grad, tp[n].grad, rtol=rtol * 10, atol=atol * 10, what=n + " grad")
    return e, t


# ---- point 2: nn.Parameter ----------------------------------------------------------------------
def test_point2_parameter_and_register_parameter():
    def run(lib):
        nn = lib.nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.my_param = nn.Parameter(lib.randn(1))
                self.register_parameter("other", nn.Parameter(lib.randn(1)))

        m = M()
        return [(n, type(p).__name__, p.requires_grad) for n, p in m.named_parameters()]

    e, t = both(run)
    assert e == t == [("my_param", "Parameter", True), ("other", "Parameter", True)]


# ---- point 3: ParameterList / ParameterDict ------------------------------------------------------
def test_point3_parameter_list_and_dict():
    def run(lib):
        nn = lib.nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.params = nn.ParameterList([nn.Parameter(lib.randn(10, 10)) for i in range(10)])
                self.pdict = nn.ParameterDict(
                    {
                        "left": nn.Parameter(lib.randn(5, 10)),
                        "right": nn.Parameter(lib.randn(5, 10)),
                    }
                )

        m = M()
        return [(n, tuple(p.shape)) for n, p in m.named_parameters()], list(m.state_dict())

    e, t = both(run)
    assert e == t
    assert len(e[0]) == 12


def test_point3_parameter_list_rejects_other_types_at_registration():
    """The tutorial: anything but Parameters is reported at registration (ember raises
    TypeError; PyTorch 2.x would store it unregistered, see docs/differences.md)."""
    with pytest.raises(TypeError, match="element 1 must be a Tensor, Parameter or Module, got int"):
        ember.nn.ParameterList([ember.nn.Parameter(ember.randn(2)), 5])


# ---- point 4: layers are Modules with replaceable Parameters ---------------------------------
def test_point4_layers_are_modules():
    def run(lib):
        nn = lib.nn
        layers = [nn.Linear(1, 1), nn.Conv2d(1, 6, (5, 5)), nn.ReLU(), nn.MaxPool2d(2)]
        return [isinstance(x, nn.Module) for x in layers], [repr(x) for x in layers]

    e, t = both(run)
    assert e == t
    assert all(e[0])


def test_point4_mse_loss_is_a_module():
    def run(lib):
        loss = lib.nn.MSELoss()
        return isinstance(loss, lib.nn.Module), repr(loss)

    e, t = both(run)
    assert e == t == (True, "MSELoss()")


def test_point4_conv1_called_in_forward():
    def make(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = lib.nn.Conv2d(1, 6, (5, 5))

            def forward(self, x):
                return self.conv1(x)

        return Net()

    run_pair(make, rand_array((2, 1, 9, 9)), rtol=1e-4)


def test_point4_replace_linear_weight_and_bias():
    def run(lib):
        nn = lib.nn
        layer = nn.Linear(1, 1)
        layer.weight = nn.Parameter(lib.FloatTensor([[0]]))
        layer.bias = nn.Parameter(lib.FloatTensor([0]))
        x = lib.tensor([[2.0], [3.0]])
        y = layer(x)
        ((y - x) ** 2).sum().backward()
        return (
            y.tolist(),
            layer.weight.grad.tolist(),
            layer.bias.grad.tolist(),
            [n for n, _ in layer.named_parameters()],
        )

    e, t = both(run)
    assert e == t


# ---- point 5: nn.functional ---------------------------------------------------------------------
def test_point5_functional_conv2d_signature():
    x, w, b = rand_array((2, 3, 8, 8)), rand_array((4, 3, 3, 3), seed=1), rand_array((4,), seed=2)

    def run(lib, bias):
        F = lib.nn.functional
        xi, wi = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        bi = lib.tensor(b, requires_grad=True) if bias else None
        out = F.conv2d(xi, wi, bias=bi, stride=1, padding=0, dilation=1, groups=1)
        out.pow(2).sum().backward()
        return out, xi.grad, wi.grad

    for bias in (False, True):
        eo, to = run(ember, bias), run(torch, bias)
        for a, b_, what in zip(eo, to, ("out", "x.grad", "w.grad")):
            assert_close(a, b_, rtol=1e-4, atol=1e-4, what=what)


def test_point5_either_form_without_parameters():
    x = rand_array((2, 3, 6, 6))
    y = rand_array((2, 3, 3, 3), seed=3)

    def run(lib):
        nn, F = lib.nn, lib.nn.functional
        a = lib.tensor(x)
        return (
            nn.MaxPool2d(2)(a),
            F.max_pool2d(a, 2),
            nn.ReLU()(a),
            F.relu(a),
            nn.MSELoss()(F.max_pool2d(a, 2), lib.tensor(y)),
            F.mse_loss(F.max_pool2d(a, 2), lib.tensor(y)),
        )

    e, t = both(run)
    assert_close(list(e), list(t))
    assert_close(e[0], e[1])
    assert_close(e[4], e[5])


# ---- point 6: dropout and eval() -------------------------------------------------------------
def test_point6_dropout_module_off_in_eval_functional_not():
    def run(lib):
        nn, F = lib.nn, lib.nn.functional
        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
        x = lib.ones(64, 4)
        train_zeros = bool((model(x) == 0).any())
        model.eval()
        eval_out = model(x)
        same = bool((eval_out == model[0](x)).all())
        functional_zeros = bool((F.dropout(x, p=0.5) == 0).any())  # training=True by default
        functional_eval = bool((F.dropout(x, p=0.5, training=model.training) == x).all())
        return train_zeros, same, functional_zeros, functional_eval

    e, t = both(run)
    assert e == t == (True, True, True, True)


# ---- point 7: nn.Xxx vs nn.functional.xxx ------------------------------------------------------
def test_point7_module_form_has_module_methods_and_fits_sequential():
    def run(lib):
        nn, F = lib.nn, lib.nn.functional
        layer = nn.Linear(3, 2)
        assert layer.train() is layer and layer.eval() is layer
        sd = layer.state_dict()
        res = layer.load_state_dict(sd)
        seq = nn.Sequential(layer, nn.ReLU())
        try:
            nn.Sequential(F.relu)
            accepted = True
        except TypeError:
            accepted = False
        return list(sd), repr(res), repr(seq), accepted

    e, t = both(run)
    assert e == t
    assert e[3] is False  # a function cannot be placed in nn.Sequential


def test_point7_functional_form_takes_weights_each_call():
    x, w, b = rand_array((4, 3)), rand_array((2, 3), seed=1), rand_array((2,), seed=2)

    def run(lib):
        layer = lib.nn.Linear(3, 2)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))
        return layer(lib.tensor(x)), lib.nn.functional.linear(
            lib.tensor(x), lib.tensor(w), lib.tensor(b)
        )

    e, t = both(run)
    assert_close(list(e), list(t))
    assert_close(e[0], e[1])


# ---- point 8: Sequential ------------------------------------------------------------------------
def test_point8_sequential_example():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.Conv2d(20, 64, 5), nn.ReLU())

    e, t = run_pair(make, rand_array((2, 1, 12, 12)), rtol=1e-4)
    assert repr(e) == repr(t)


def test_point8_sequential_ordered_dict_example():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(1, 20, 5)),
                    ("relu1", nn.ReLU()),
                    ("conv2", nn.Conv2d(20, 64, 5)),
                    ("relu2", nn.ReLU()),
                ]
            )
        )

    e, t = run_pair(make, rand_array((2, 1, 12, 12)), rtol=1e-4)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.conv1 is e[0]


# ---- point 9: ModuleList ---------------------------------------------------------------------
def _my_module_list(lib):
    nn = lib.nn

    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.linears = nn.ModuleList([nn.Linear(10, 10) for i in range(10)])

        def forward(self, x):
            # ModuleList can act as an iterable, or be indexed using ints
            for i, l in enumerate(self.linears):
                x = self.linears[i // 2](x) + l(x)
            return x

    return MyModule()


def test_point9_module_list_example():
    e, t = run_pair(_my_module_list, rand_array((3, 10)), rtol=1e-4, atol=1e-4)
    assert repr(e) == repr(t)
    assert len(list(e.parameters())) == 20


def test_point9_module_list_example_trains():
    e, t = _my_module_list(ember), _my_module_list(torch)
    copy_weights(e, t)
    eo = ember.optim.SGD(e.parameters(), lr=0.01)
    to = torch.optim.SGD(t.parameters(), lr=0.01)
    x, y = rand_array((8, 10)), rand_array((8, 10), seed=4)
    losses = []
    for _ in range(3):
        for model, opt, lib in ((e, eo, ember), (t, to, torch)):
            opt.zero_grad()
            loss = ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    e_losses, t_losses = losses[0::2], losses[1::2]
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-4)
    assert e_losses[-1] < e_losses[0]
    tp = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p, tp[n], rtol=1e-4, atol=1e-5, what=n)


def test_point9_plain_list_hides_modules():
    """Why ModuleList: a plain list hides its modules from parameters() (ember also warns)."""

    def run(lib):
        class Hidden(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.linears = [lib.nn.Linear(2, 2)]

        return len(list(Hidden().parameters()))

    with pytest.warns(UserWarning, match="nn.ModuleList"):
        e = run(ember)
    assert e == run(torch) == 0


# ---- point 10: ModuleDict --------------------------------------------------------------------
def _my_module_dict(lib):
    nn = lib.nn

    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.choices = nn.ModuleDict({"conv": nn.Conv2d(10, 10, 3), "pool": nn.MaxPool2d(3)})
            self.activations = nn.ModuleDict([["lrelu", nn.LeakyReLU()], ["prelu", nn.PReLU()]])

        def forward(self, x, choice, act):
            x = self.choices[choice](x)
            x = self.activations[act](x)
            return x

    return MyModule()


@pytest.mark.parametrize("choice", ["conv", "pool"])
@pytest.mark.parametrize("act", ["lrelu", "prelu"])
def test_point10_module_dict_example(choice, act):
    e, t = run_pair(_my_module_dict, rand_array((2, 10, 9, 9)), extra=(choice, act), rtol=1e-4)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())


# ---- point 11: the Module methods listed --------------------------------------------------------
def test_point11_module_methods():
    def run(lib):
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten())
        out = model.to(lib.float64)(lib.ones(1, 1, 5, 5, dtype=lib.float64))
        return (
            [tuple(p.shape) for p in model.parameters()],
            [tuple(b.shape) for b in model.buffers()],
            list(model.state_dict()),
            [type(m).__name__ for m in model.modules()],
            str(out.dtype)[6:],
            tuple(out.shape),
        )

    e, t = both(run)
    assert e == t


def test_point11_forward_matches():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 3))

    run_pair(make, rand_array((4, 1, 5, 5)), rtol=1e-4)


# ---- point 12: parameters vs buffers ------------------------------------------------------------
def _param_buffer_model(lib):
    nn = lib.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            param = nn.Parameter(lib.randn(1))
            self.register_parameter("param", param)
            self.param2 = nn.Parameter(lib.randn(1))
            self.register_buffer("my_buffer", lib.randn(1))

        def forward(self, x):
            return x * self.param + self.param2 + self.my_buffer

    return M()


def test_point12_parameters_vs_buffers():
    e, t = _param_buffer_model(ember), _param_buffer_model(torch)
    copy_weights(e, t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()] == ["my_buffer"]
    assert list(e.state_dict()) == list(t.state_dict()) == ["param", "param2", "my_buffer"]
    buf_before = e.my_buffer.clone()
    eo = ember.optim.SGD(e.parameters(), lr=0.1)
    to = torch.optim.SGD(t.parameters(), lr=0.1)
    x = rand_array((5,))
    for model, opt, lib in ((e, eo, ember), (t, to, torch)):
        opt.zero_grad()
        (model(lib.tensor(x)) ** 2).sum().backward()
        opt.step()
    for k, v in t.state_dict().items():
        assert_close(e.state_dict()[k], v, what=k)
    assert e.my_buffer.tolist() == buf_before.tolist()  # the optimizer never touches buffers
    assert not e.my_buffer.requires_grad


# ---- point 13: state_dict / load_state_dict -----------------------------------------------------
def test_point13_state_dict_round_trip():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))

    e, t = make(ember), make(torch)
    copy_weights(e, t)  # ember's state_dict loads into torch (strict)
    esd, tsd = e.state_dict(), t.state_dict()
    assert list(esd) == list(tsd)
    for k in esd:
        assert_close(esd[k], tsd[k], what=k)
    fresh = make(ember)
    res = fresh.load_state_dict(esd)  # strict=True by default
    assert repr(res) == "<All keys matched successfully>"
    x = rand_array((6, 4))
    fresh.eval()
    t.eval()
    assert_close(fresh(ember.tensor(x)), t(torch.tensor(x)), rtol=1e-5, atol=1e-5)


def test_point13_strict_requires_matching_keys():
    def run(lib, strict):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2))
        sd = model.state_dict()
        sd.pop("0.bias")
        sd["0.extra"] = lib.zeros(1)
        try:
            res = model.load_state_dict(sd, strict=strict)
            return "ok", list(res.missing_keys), list(res.unexpected_keys)
        except RuntimeError as err:
            return "error", str(err).split("\n\t")[:3]

    assert run(ember, True) == run(torch, True)
    assert run(ember, False) == run(torch, False) == ("ok", ["0.bias"], ["0.extra"])
