"""ember.fft's frequencies, errors and dtypes against torch.fft; complex tensors' basic ops and
the refusal of complex gradients through primitives that are not complex-aware."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.parity import assert_close


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.fft.fftfreq(5),
        lambda m: m.fft.fftfreq(6, d=0.25),
        lambda m: m.fft.rfftfreq(7, 2.0, dtype=m.float64),
        lambda m: m.fft.rfftfreq(8),
    ],
)
def test_frequencies(fn):
    assert_close(fn(ember), fn(torch))


def _err(lib, fn):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info


ERRORS = {
    "half": lambda m: m.fft.fft(m.ones(4, dtype=m.float16)),
    "rfft_complex": lambda m: m.fft.rfft(m.ones(4, dtype=m.complex64)),
    "rfft_complex128": lambda m: m.fft.rfftn(m.ones(4, dtype=m.complex128)),
    "ihfftn_complex": lambda m: m.fft.ihfft2(m.ones(4, 4, dtype=m.complex64)),
    "n_zero": lambda m: m.fft.fft(m.ones(4), n=0),
    "norm": lambda m: m.fft.fft(m.ones(4), norm="x"),
    "dim": lambda m: m.fft.fft(m.ones(4), dim=2),
    "s_dim_len": lambda m: m.fft.fftn(m.ones(4, 4), s=(3,), dim=(0, 1)),
    "scalar": lambda m: m.fft.fft(m.ones(())),
    "fft2_1d": lambda m: m.fft.fft2(m.ones(4)),
    "irfft_one_bin": lambda m: m.fft.irfft(m.ones(1)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    t, e = _err(torch, ERRORS[name]), _err(ember, ERRORS[name])
    assert e.type is t.type
    assert str(e.value) == str(t.value)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda m: m.fft.fft(m.arange(6)), "int input"),
        (lambda m: m.fft.rfft(m.ones(4, dtype=m.float64)), "float64"),
        (lambda m: m.fft.irfft(m.ones(3, dtype=m.complex64)), "c2r"),
        (lambda m: m.fft.hfft(m.ones(3)), "hfft of a real input"),
    ],
)
def test_result_dtypes(make, name):
    e, t = make(ember), make(torch)
    assert e.dtype.name == str(t.dtype).replace("torch.", ""), name
    np.testing.assert_allclose(np.asarray(e._data), t.resolve_conj().numpy(), atol=1e-5)


def test_complex_basics_match_torch():
    z = np.array([[1 + 2j, -3.5 + 0j], [0 - 1j, 2.25 + 4j]], dtype=np.complex64)
    e, t = ember.tensor(z), torch.tensor(z)
    for fn in (
        lambda x: x.real,
        lambda x: x.imag,
        lambda x: x.abs(),
        lambda x: x.angle(),
        lambda x: torch_or_ember(x).view_as_real(x),
        lambda x: x.conj().resolve_conj(),
        lambda x: x * x + x,
        lambda x: x.sum(0),
        lambda x: x.mH.resolve_conj(),
    ):
        a, b = fn(e), fn(t)
        np.testing.assert_allclose(np.asarray(a._data), b.numpy(), rtol=1e-6)
        assert a.dtype.name == str(b.dtype).replace("torch.", "")
    assert repr(e).replace("ember", "torch") == repr(t)
    assert str(ember.angle(ember.tensor([-1.0, 2.0]))) == "tensor([3.1416, 0.0000])"
    assert not e.is_conj()


def torch_or_ember(x):
    return ember if isinstance(x, ember.Tensor) else torch


def test_view_as_complex_and_real_share_memory():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    z = ember.view_as_complex(x)
    assert z.dtype is ember.complex64 and z.tolist() == [1 + 2j, 3 + 4j]
    r = ember.view_as_real(z)
    r[0, 0] = 10.0  # a view, as in PyTorch
    assert x[0, 0].item() == 10.0
    z.real[1] = -1.0
    assert x[1, 0].item() == -1.0


VIEW_ERRORS = {
    "view_as_real_real": lambda m: m.view_as_real(m.ones(2)),
    "view_as_complex_last": lambda m: m.view_as_complex(m.ones(2, 3)),
    "view_as_complex_int": lambda m: m.view_as_complex(m.ones(2, 2, dtype=m.int64)),
    "imag_real": lambda m: m.ones(2).imag,
    "complex_mixed": lambda m: m.complex(m.ones(2), m.ones(2, dtype=m.float64)),
}


@pytest.mark.parametrize("name", VIEW_ERRORS)
def test_complex_errors_match_torch(name):
    t, e = _err(torch, VIEW_ERRORS[name]), _err(ember, VIEW_ERRORS[name])
    assert e.type is t.type
    assert str(e.value) == str(t.value)


def test_gradient_through_an_unsupported_complex_op_is_refused():
    x = ember.randn(8, requires_grad=True)
    z = ember.fft.fft(x)
    with pytest.raises(NotImplementedError, match="Matmul"):
        z @ z  # Matmul's backward is not written for complex numbers: no wrong gradient
    with pytest.raises(NotImplementedError, match="Exp"):
        z.exp()
    with ember.no_grad():
        assert (z @ z).dtype is ember.complex64  # forward without a graph is fine


def test_complex_leaf_gradient_matches_torch():
    z = np.array([1 + 2j, -0.5 + 1j, 3 - 1j])
    e = ember.tensor(z, requires_grad=True)
    t = torch.tensor(z, requires_grad=True)
    for lib, x in ((ember, e), (torch, t)):
        y = lib.fft.ifft(x * x.conj() * 2.0 + x)
        (y.abs().sum() + y.angle().sum() + y.real.sum()).backward()
    np.testing.assert_allclose(np.asarray(e.grad._data), t.grad.numpy(), rtol=1e-10)
