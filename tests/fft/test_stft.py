"""stft / istft and the window functions against torch: values, shapes, dtypes, gradients and
errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.ops._cases import case, d, f, run_case


def hann(m, n):
    return m.hann_window(n, dtype=m.float64)


def vr(m, z):
    return m.view_as_real(z)


T = dict(rtol=1e-9, atol=1e-12)
CASES = [
    case(
        "stft",
        lambda m, x: vr(m, m.stft(x, 16, window=hann(m, 16), return_complex=True)),
        d(2, 50),
        **T,
    ),
    case(
        "stft_1d_hop_win",
        lambda m, x: vr(m, m.stft(x, 16, 5, 10, hann(m, 10), return_complex=True, normalized=True)),
        d(60),
        **T,
    ),
    case(
        "stft_no_center_twosided",
        lambda m, x: vr(
            m, m.stft(x, 8, center=False, window=hann(m, 8), return_complex=True, onesided=False)
        ),
        d(2, 30),
        **T,
    ),
    case(
        "stft_constant_pad",
        lambda m, x: vr(
            m, x.stft(12, 3, window=hann(m, 12), pad_mode="constant", return_complex=True)
        ),
        d(40),
        **T,
    ),
    case(
        "stft_window_grad",
        lambda m, x, w: vr(m, m.stft(x, 8, window=w, return_complex=True)),
        d(30),
        d(8),
        **T,
    ),
    case(
        "stft_f32",
        lambda m, x: m.stft(x, 16, window=m.hann_window(16), return_complex=True).abs(),
        f(64),
        rtol=1e-4,
        atol=1e-5,
    ),
    case(
        "spectrogram_loss",
        lambda m, x: m.stft(x, 16, 4, window=hann(m, 16), return_complex=True).abs().pow(2).mean(),
        d(2, 64),
        **T,
    ),
    case(
        "istft",
        lambda m, x: m.istft(
            m.stft(x, 16, window=hann(m, 16), return_complex=True),
            16,
            window=hann(m, 16),
            length=50,
        ),
        d(2, 50),
        **T,
    ),
    case(
        "istft_no_length",
        lambda m, x: m.istft(
            m.stft(x, 16, window=hann(m, 16), return_complex=True), 16, window=hann(m, 16)
        ),
        d(48),
        **T,
    ),
    case(
        "istft_from_spectrum",
        lambda m, a, b: m.istft(m.complex(a, b), 8, 2, window=hann(m, 8)),
        d(5, 11),
        d(5, 11),
        **T,
    ),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", CASES)
def test_stft_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)


@pytest.mark.parametrize(
    "name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
)
@pytest.mark.parametrize("length, periodic", [(10, True), (7, False), (1, True), (0, True)])
def test_windows(name, length, periodic):
    e = getattr(ember, name)(length, periodic)
    t = getattr(torch, name)(length, periodic)
    assert e.dtype is ember.float32 and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e._data, t.numpy(), rtol=1e-6, atol=1e-7)
    e64 = getattr(ember, name)(length, periodic, dtype=ember.float64)
    t64 = getattr(torch, name)(length, periodic, dtype=torch.float64)
    np.testing.assert_allclose(e64._data, t64.numpy(), rtol=1e-12, atol=1e-15)


def test_stft_errors_and_warnings_match_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="return_complex parameter be given"):
            lib.stft(lib.ones(32), 8)
        spec = lib.stft(lib.ones(32), 8, window=lib.hann_window(8), return_complex=True)
        with pytest.raises(RuntimeError, match="window overlap add min"):
            lib.istft(spec, 8, window=lib.zeros(8))
    # torch warns once per process (TORCH_WARN_ONCE); ember warns on each call.
    with pytest.warns(UserWarning, match="window was not provided"):
        ember.stft(ember.ones(32), 8, return_complex=True)
