"""ember.fft against torch.fft: values (real and imaginary parts, through view_as_real), dtypes
and the gradient of every input, for real and complex (built with ``complex``) signals."""

from __future__ import annotations

import pytest

from tests.ops._cases import case, d, f, i, run_case


def vr(m, z):
    return m.view_as_real(z.resolve_conj())  # torch's ifft of a real input is a lazy conjugate


def cx(m, a, b):
    return m.complex(a, b)


T = 1e-9  # float64 tolerance
FFT = [
    case("fft_real", lambda m, x: vr(m, m.fft.fft(x)), f(8), rtol=1e-5, atol=1e-5),
    case("fft_real_f64", lambda m, x: vr(m, m.fft.fft(x)), d(3, 8), rtol=T),
    case("fft_complex", lambda m, a, b: vr(m, m.fft.fft(cx(m, a, b))), d(2, 6), d(2, 6), rtol=T),
    case("fft_n_pad", lambda m, x: vr(m, m.fft.fft(x, n=10)), d(3, 7), rtol=T),
    case("fft_n_crop_dim0", lambda m, x: vr(m, m.fft.fft(x, n=3, dim=0)), d(5, 4), rtol=T),
    case("fft_ortho", lambda m, x: vr(m, m.fft.fft(x, norm="ortho")), d(6), rtol=T),
    case("fft_forward", lambda m, x: vr(m, m.fft.fft(x, norm="forward")), d(6), rtol=T),
    case("fft_int", lambda m, x: vr(m, m.fft.fft(x)), i(5), grad=False, atol=1e-5),
    case("ifft", lambda m, a, b: vr(m, m.fft.ifft(cx(m, a, b))), d(7), d(7), rtol=T),
    case("ifft_ortho_n", lambda m, x: vr(m, m.fft.ifft(x, 9, norm="ortho")), d(2, 6), rtol=T),
    case("rfft", lambda m, x: vr(m, m.fft.rfft(x)), d(2, 8), rtol=T),
    case("rfft_odd", lambda m, x: vr(m, m.fft.rfft(x)), d(7), rtol=T),
    case("rfft_n", lambda m, x: vr(m, m.fft.rfft(x, n=12, norm="forward")), d(3, 7), rtol=T),
    case("rfft_f32", lambda m, x: vr(m, m.fft.rfft(x)), f(4, 6), rtol=1e-5, atol=1e-5),
    case("irfft", lambda m, a, b: m.fft.irfft(cx(m, a, b)), d(5), d(5), rtol=T),
    case("irfft_n_odd", lambda m, a, b: m.fft.irfft(cx(m, a, b), n=7), d(2, 4), d(2, 4), rtol=T),
    case("irfft_n_crop", lambda m, a, b: m.fft.irfft(cx(m, a, b), n=4), d(6), d(6), rtol=T),
    case("irfft_ortho_dim0", lambda m, x: m.fft.irfft(x, dim=0, norm="ortho"), d(5, 3), rtol=T),
    case("roundtrip", lambda m, x: m.fft.irfft(m.fft.rfft(x), n=9), d(9), rtol=T),
    case("hfft", lambda m, a, b: m.fft.hfft(cx(m, a, b)), d(5), d(5), rtol=T),
    case("hfft_n_ortho", lambda m, a, b: m.fft.hfft(cx(m, a, b), 7, norm="ortho"), d(4), d(4)),
    case("ihfft", lambda m, x: vr(m, m.fft.ihfft(x)), d(2, 8), rtol=T),
    case("ihfft_forward", lambda m, x: vr(m, m.fft.ihfft(x, norm="forward")), d(7), rtol=T),
    case("fft2", lambda m, x: vr(m, m.fft.fft2(x)), d(2, 4, 5), rtol=T),
    case("fft2_s", lambda m, x: vr(m, m.fft.fft2(x, s=(3, 6))), d(4, 5), rtol=T),
    case("ifft2", lambda m, a, b: vr(m, m.fft.ifft2(cx(m, a, b))), d(3, 4), d(3, 4), rtol=T),
    case("rfft2", lambda m, x: vr(m, m.fft.rfft2(x)), d(2, 4, 6), rtol=T),
    case("irfft2", lambda m, a, b: m.fft.irfft2(cx(m, a, b)), d(4, 3), d(4, 3), rtol=T),
    case("irfft2_s", lambda m, a, b: m.fft.irfft2(cx(m, a, b), s=(5, 5)), d(4, 3), d(4, 3)),
    case("hfft2", lambda m, a, b: m.fft.hfft2(cx(m, a, b)), d(4, 3), d(4, 3), rtol=T),
    case("ihfft2", lambda m, x: vr(m, m.fft.ihfft2(x)), d(4, 6), rtol=T),
    case("fftn", lambda m, x: vr(m, m.fft.fftn(x)), d(3, 4, 5), rtol=T),
    case("fftn_dim", lambda m, x: vr(m, m.fft.fftn(x, dim=(0, 2), norm="ortho")), d(3, 4, 5)),
    case("fftn_s_only", lambda m, x: vr(m, m.fft.fftn(x, s=(2, 6))), d(3, 4, 5), rtol=T),
    case("ifftn", lambda m, a, b: vr(m, m.fft.ifftn(cx(m, a, b))), d(3, 4), d(3, 4), rtol=T),
    case("rfftn", lambda m, x: vr(m, m.fft.rfftn(x)), d(3, 4, 6), rtol=T),
    case("rfftn_s", lambda m, x: vr(m, m.fft.rfftn(x, s=(5, 3), dim=(0, 1))), d(3, 4, 2)),
    case("irfftn", lambda m, a, b: m.fft.irfftn(cx(m, a, b)), d(3, 4), d(3, 4), rtol=T),
    case("irfftn_s", lambda m, a, b: m.fft.irfftn(cx(m, a, b), s=(2, 5)), d(3, 4), d(3, 4)),
    case("hfftn", lambda m, a, b: m.fft.hfftn(cx(m, a, b)), d(3, 4), d(3, 4), rtol=T),
    case("ihfftn", lambda m, x: vr(m, m.fft.ihfftn(x)), d(3, 4, 6), rtol=T),
    case("fftshift", lambda m, x: m.fft.fftshift(x), d(4, 5)),
    case("fftshift_dim", lambda m, x: m.fft.fftshift(x, dim=-1), d(4, 5)),
    case("ifftshift", lambda m, x: m.fft.ifftshift(x, dim=(0,)), d(5, 4)),
    case("shift_spectrum", lambda m, x: m.fft.fftshift(m.fft.fft(x)).abs(), d(6), rtol=T),
]

# What people do with a spectrum: magnitudes, phases, power, filters, FFT convolution.
USE = [
    case("abs", lambda m, x: m.fft.rfft(x).abs(), d(2, 8), rtol=T),
    case("abs_f32", lambda m, x: m.fft.rfft(x).abs(), f(16), rtol=1e-5, atol=1e-5),
    case("power", lambda m, x: m.fft.rfft(x).abs() ** 2, d(8), rtol=T),
    case("real_imag", lambda m, x: (lambda z: (z.real, z.imag))(m.fft.fft(x)), d(6), rtol=T),
    case("angle", lambda m, x: m.fft.rfft(x)[1:3].angle(), d(6), rtol=T),
    case("conj_mul", lambda m, x: (lambda z: (z * z.conj()).real)(m.fft.fft(x)), d(6), rtol=T),
    case(
        "fft_conv",
        lambda m, x, k: m.fft.irfft(m.fft.rfft(x, n=12) * m.fft.rfft(k, n=12), n=12),
        d(2, 8),
        d(5),
        rtol=T,
    ),
    case("filter_scalar", lambda m, x: m.fft.irfft(m.fft.rfft(x) * 0.5 + 1.0), d(8), rtol=T),
    case("lowpass_slice", lambda m, x: m.fft.rfft(x)[..., :3].abs().sum(-1), d(3, 8), rtol=T),
    case("spectrum_mean", lambda m, x: vr(m, m.fft.fft2(x).mean(0)), d(3, 4, 4), rtol=T),
    case("polar", lambda m, r, t: vr(m, m.polar(r, t)), d(4, low=0.1), d(4), rtol=T),
    case("view_as_complex", lambda m, x: m.fft.ifft(m.view_as_complex(x)).abs(), d(5, 2)),
    case(
        "complex_sub_neg", lambda m, a, b: (lambda z: (-(z - z * 2)).imag)(cx(m, a, b)), d(3), d(3)
    ),
    case("flip_permute", lambda m, x: vr(m, m.fft.fft2(x).flip(0).permute(1, 0)), d(3, 4)),
    case("expand_index", lambda m, x: vr(m, m.fft.fft(x).expand(2, 5)[[1, 0], [4, 2]]), d(5)),
    case("sum_dim_div", lambda m, x: vr(m, m.fft.fft(x).sum(1) / 3.0 - 1.0), d(2, 5)),
    case("div", lambda m, x, y: vr(m, m.fft.fft(x) / (m.fft.fft(y) + 3)), d(5), d(5), rtol=1e-9),
    case("complex_scalar_mul", lambda m, x: vr(m, m.fft.fft(x) * (2 - 1j) + (1 + 2j)), d(5)),
    case(
        "cat_reshape", lambda m, x: vr(m, m.cat([m.fft.fft(x), m.fft.fft(x)]).reshape(2, -1)), d(4)
    ),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", FFT + USE)
def test_fft_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)
