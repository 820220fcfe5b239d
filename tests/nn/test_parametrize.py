"""nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal), the
legacy weight_norm/spectral_norm hooks and the conv/linear + batch-norm fusion, against PyTorch:
state_dict keys, values and every gradient with ember's state copied into torch's module,
assignment through right_inverse, removal, caching, errors; gradcheck of the matrix primitives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from ember.nn.utils import _matrix as M
from ember.nn.utils import parametrize as EP
from tests.nn._lib import same_error
from tests.parity import assert_close

RNG = np.random.default_rng(0)


def _load_into_torch(e, t) -> None:
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})


def _run_both(e, t, x_shape, steps=2, perturb=False):
    """Forward/backward ``steps`` times in both; compare outputs, every parameter's gradient
    and every buffer (power-iteration vectors) after the steps."""
    assert list(e.state_dict()) == list(t.state_dict())
    if perturb:
        with ember.no_grad():
            for p in e.parameters():
                p.add_(ember.tensor(RNG.standard_normal(tuple(p.shape)) * 0.1).to(p.dtype))
    _load_into_torch(e, t)
    x = RNG.standard_normal(x_shape)
    for _ in range(steps):
        ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
        assert_close(ye, yt, 1e-9, 1e-10)
        ye.pow(2).sum().backward()
        yt.pow(2).sum().backward()
    named_t = dict(t.named_parameters())
    assert [n for n, _ in e.named_parameters()] == list(named_t)
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-8, 1e-10, what=n)
    buffers_t = dict(t.named_buffers())
    for n, b in e.named_buffers():
        assert_close(b, buffers_t[n], 1e-9, 1e-10, what=n)


def _both(build):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(ember).double(), build(torch).double()


# ---- parametrize --------------------------------------------------------------------------------
def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def _scaled(lib):
    class Scale(lib.nn.Module):
        def forward(self, X):
            return 2 * X

        def right_inverse(self, A):
            return A / 2

    return Scale()


def test_register_chain_assign_and_remove():
    def build(lib):
        m = lib.nn.Linear(4, 4)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib))
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _scaled(lib))
        return m

    e, t = _both(build)
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert EP.is_parametrized(e) and EP.is_parametrized(e, "weight")
    assert not EP.is_parametrized(e, "bias")
    assert EP.type_before_parametrizations(e) is ember.nn.Linear
    _run_both(e, t, (3, 4))
    value = RNG.standard_normal((4, 4))
    value = value + value.T
    with ember.no_grad():
        e.weight = ember.tensor(value)
    with torch.no_grad():
        t.weight = torch.tensor(value)
    assert_close(e.parametrizations.weight.original, t.parametrizations.weight.original, 0, 0)
    assert_close(e.weight, t.weight, 1e-12, 0)
    for leave in (True,):
        EP.remove_parametrizations(e, "weight", leave_parametrized=leave)
        torch.nn.utils.parametrize.remove_parametrizations(t, "weight", leave_parametrized=leave)
    assert type(e) is ember.nn.Linear and list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight, 1e-12, 0)


def test_original_keeps_identity_for_optimizers():
    m = ember.nn.Linear(3, 3)
    w = m.weight
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    EP.register_parametrization(m, "weight", _symmetric(ember))
    assert m.parametrizations.weight.original is w
    m(ember.randn(2, 3)).sum().backward()
    before = w.clone()
    opt.step()
    assert not ember.equal(before, w)


def test_cached_computes_once():
    calls = []

    class Count(ember.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    m = EP.register_parametrization(ember.nn.Linear(2, 2), "weight", Count())
    calls.clear()
    with EP.cached():
        a, b = m.weight, m.weight
    assert a is b and len(calls) == 1
    _ = m.weight
    assert len(calls) == 2


def test_remove_leave_unparametrized_and_buffers():
    m = ember.nn.BatchNorm1d(3)
    EP.register_parametrization(m, "running_mean", _scaled(ember))
    assert "parametrizations.running_mean.original" in m.state_dict()
    EP.remove_parametrizations(m, "running_mean", leave_parametrized=False)
    assert "running_mean" in dict(m.named_buffers())


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.utils.parametrize.register_parametrization(
            lib.nn.Linear(2, 2), "nothing", lib.nn.Identity()
        ),
        lambda lib: lib.nn.utils.parametrize.remove_parametrizations(lib.nn.Linear(2, 2), "weight"),
        lambda lib: setattr(
            lib.nn.utils.parametrize.register_parametrization(
                lib.nn.Linear(2, 2), "weight", lib.nn.Identity()
            ),
            "weight",
            lib.zeros(2, 2),
        ),
    ],
)
def test_errors_as_torch(call):
    same_error(call)


def test_shape_change_needs_unsafe():
    class First(ember.nn.Module):
        def forward(self, X):
            return X[0]

    with pytest.raises(ValueError, match="may not change the shape"):
        EP.register_parametrization(ember.nn.Linear(2, 3), "weight", First())
    m = EP.register_parametrization(ember.nn.Linear(2, 3), "weight", First(), unsafe=True)
    assert tuple(m.weight.shape) == (2,)


# ---- parametrizations ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer,dim,shape",
    [
        (lambda lib: lib.nn.Linear(5, 4), 0, (3, 5)),
        (lambda lib: lib.nn.Conv2d(2, 4, 3), None, (1, 2, 5, 5)),
    ],
)
def test_weight_norm(layer, dim, shape):
    e, t = _both(lambda lib: lib.nn.utils.parametrizations.weight_norm(layer(lib), dim=dim))
    _run_both(e, t, shape, perturb=True)


def test_weight_norm_loads_legacy_keys():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        legacy = torch.nn.utils.weight_norm(torch.nn.Linear(5, 4))
    e = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(5, 4))
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in legacy.state_dict().items()})
    x = RNG.standard_normal((2, 5)).astype(np.float32)
    assert_close(e(ember.tensor(x)), legacy(torch.tensor(x)), 1e-6, 1e-6)


@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda lib: lib.nn.Linear(5, 4), (3, 5)),
        (lambda lib: lib.nn.Conv1d(2, 3, 2), (2, 2, 6)),
        (lambda lib: lib.nn.ConvTranspose2d(2, 4, 3), (1, 2, 4, 4)),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_spectral_norm(layer, shape, training):
    e, t = _both(lambda lib: lib.nn.utils.parametrizations.spectral_norm(layer(lib)))
    e.train(training)
    t.train(training)
    _run_both(e, t, shape, steps=3)


@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("out_in", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal(orth_map, out_in):
    def build(lib):
        return lib.nn.utils.parametrizations.orthogonal(
            lib.nn.Linear(out_in[1], out_in[0]), orthogonal_map=orth_map
        )

    e, t = _both(build)
    w = e.weight.detach().numpy()
    gram = w.T @ w if out_in[0] >= out_in[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(out_in)), atol=1e-6)  # built in float32
    _run_both(e, t, (3, out_in[1]), perturb=True)


def test_orthogonal_errors():
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 3), "bias"))
    same_error(
        lambda lib: lib.nn.utils.parametrizations.orthogonal(
            lib.nn.Linear(3, 3), orthogonal_map="qr"
        )
    )


@pytest.mark.parametrize("n", [1, 3, 5])
def test_matrix_primitives_gradcheck(n):
    a = ember.tensor(RNG.standard_normal((2, n, n)), requires_grad=True)
    assert gradcheck(M.matrix_exp, (a,))
    b = ember.tensor(RNG.standard_normal((2, n, 2)), requires_grad=True)
    well = ember.tensor(RNG.standard_normal((2, n, n)) + 3 * np.eye(n), requires_grad=True)
    assert gradcheck(M.solve, (well, b))
    h = ember.tensor(RNG.standard_normal((n + 1, n)), requires_grad=True)
    tau = ember.tensor(RNG.uniform(0.5, 1.5, n), requires_grad=True)
    assert gradcheck(M.householder_product, (h, tau))


def test_matrix_exp_and_householder_match_torch():
    a = RNG.standard_normal((3, 4, 4)) * 3
    assert_close(
        M.matrix_exp(ember.tensor(a)), torch.linalg.matrix_exp(torch.tensor(a)), 1e-10, 1e-10
    )
    h, tau = RNG.standard_normal((5, 3)), RNG.uniform(0.5, 1.5, 3)
    assert_close(
        M.householder_product(ember.tensor(h), ember.tensor(tau)),
        torch.linalg.householder_product(torch.tensor(h), torch.tensor(tau)),
        1e-12,
        1e-12,
    )


# ---- legacy hooks -------------------------------------------------------------------------------
def test_legacy_weight_norm():
    def build(lib):
        return lib.nn.utils.weight_norm(lib.nn.Linear(5, 4), dim=None)

    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="deprecated"):
            lib.nn.utils.weight_norm(lib.nn.Linear(2, 2))
    e, t = _both(build)
    _run_both(e, t, (3, 5), perturb=True)
    ember.nn.utils.remove_weight_norm(e)
    torch.nn.utils.remove_weight_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight, 1e-12, 0)


@pytest.mark.parametrize("training", [True, False])
def test_legacy_spectral_norm(training):
    e, t = _both(lambda lib: lib.nn.utils.spectral_norm(lib.nn.Conv2d(2, 3, 2)))
    e.train(training)
    t.train(training)
    assert e.state_dict()._metadata[""]["spectral_norm"] == {"weight.version": 1}
    _run_both(e, t, (1, 2, 4, 4), steps=3)
    ember.nn.utils.remove_spectral_norm(e)
    torch.nn.utils.remove_spectral_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight, 1e-12, 1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.utils.weight_norm(lib.nn.utils.weight_norm(lib.nn.Linear(3, 2))),
        lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(3, 2)),
        lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(3, 2), n_power_iterations=0),
        lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(3, 2)),
        lambda lib: lib.nn.utils.spectral_norm(lib.nn.utils.spectral_norm(lib.nn.Linear(3, 2))),
    ],
)
def test_legacy_errors_as_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(call)


# ---- fusion -------------------------------------------------------------------------------------
def _trained_bn(lib, bn, shape):
    with lib.no_grad():
        bn.running_mean.copy_(lib.tensor(RNG.standard_normal(shape)))
        bn.running_var.copy_(lib.tensor(RNG.uniform(0.5, 2.0, shape)))
    return bn


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn(transpose):
    conv_cls = "ConvTranspose2d" if transpose else "Conv2d"
    conv_e = getattr(ember.nn, conv_cls)(3, 4, 3, bias=transpose).double().eval()
    conv_t = getattr(torch.nn, conv_cls)(3, 4, 3, bias=transpose).double().eval()
    bn_e = _trained_bn(ember, ember.nn.BatchNorm2d(4).double().eval(), 4)
    bn_t = torch.nn.BatchNorm2d(4).double().eval()
    _load_into_torch(conv_e, conv_t)
    _load_into_torch(bn_e, bn_t)
    fe = ember.nn.utils.fuse_conv_bn_eval(conv_e, bn_e, transpose=transpose)
    ft = torch.nn.utils.fuse_conv_bn_eval(conv_t, bn_t, transpose=transpose)
    assert_close(fe.weight, ft.weight, 1e-12, 1e-12)
    assert_close(fe.bias, ft.bias, 1e-12, 1e-12)
    x = RNG.standard_normal((2, 3, 5, 5))
    assert_close(fe(ember.tensor(x)), bn_t(conv_t(torch.tensor(x))), 1e-10, 1e-10)
    assert conv_e.weight is not fe.weight


def test_fuse_linear_bn():
    lin_e, lin_t = ember.nn.Linear(3, 4).eval(), torch.nn.Linear(3, 4).eval()
    bn_e = _trained_bn(ember, ember.nn.BatchNorm1d(4).eval(), 4)
    bn_t = torch.nn.BatchNorm1d(4).eval()
    _load_into_torch(lin_e, lin_t)
    _load_into_torch(bn_e, bn_t)
    fe, ft = (
        ember.nn.utils.fuse_linear_bn_eval(lin_e, bn_e),
        torch.nn.utils.fuse_linear_bn_eval(lin_t, bn_t),
    )
    assert_close(fe.weight, ft.weight, 1e-6, 1e-7)
    assert_close(fe.bias, ft.bias, 1e-6, 1e-7)
    same_error(
        lambda lib: lib.nn.utils.fuse_linear_bn_eval(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    )
