"""gradcheck (float64) of every FFT and complex primitive, through real-valued outputs."""

from __future__ import annotations

import pytest

import ember
from ember import _complex as CX
from ember.ops import fft as FP
from tests.linalg._table import Table, run_row
from tests.ops._cases import d

F = ember.fft
t = Table()


def vr(z):
    return ember.view_as_real(z)


def cx(a, b):
    return ember.complex(a, b)


t.gc(FP.FftC2C, lambda x: vr(F.fft(x, n=7)), d(2, 6), name="FftC2C_real")
t.gc(FP.FftC2C, lambda a, b: vr(F.ifftn(cx(a, b), s=(3, 5))), d(4, 4), d(4, 4), name="FftC2C")
t.gc(FP.FftR2C, lambda x: vr(F.rfft(x, norm="ortho")), d(3, 6))
t.gc(FP.FftR2C, lambda x: vr(F.rfftn(x, s=(3, 5))), d(4, 4), name="FftR2C_n")
t.gc(FP.FftC2R, lambda a, b: F.irfft(cx(a, b), n=7), d(5), d(5))
t.gc(FP.FftC2R, lambda a, b: F.irfftn(cx(a, b), norm="forward"), d(3, 4), d(3, 4), name="C2R_n")
t.gc(CX.Real, lambda a, b: cx(a, b).real * 2, d(3), d(3))
t.gc(CX.Imag, lambda a, b: cx(a, b).imag * 2, d(3), d(3))
t.gc(CX.Conj, lambda a, b: vr(cx(a, b).conj() * cx(b, a)), d(3), d(3))
t.gc(CX.Angle, lambda a, b: cx(a, b).angle(), d(4), d(4))
t.gc(CX.Angle, lambda x: ember.angle(x), d(4), name="Angle_real")
t.gc(CX.ViewAsReal, lambda a, b: vr(cx(a, b)), d(3), d(3))
t.gc(CX.ViewAsComplex, lambda x: ember.view_as_complex(x).abs(), d(3, 2))
t.gc(CX.Complex, lambda a, b: cx(a, b).abs(), d(2, 3), d(3))
t.gc(CX.Polar, lambda r, a: vr(ember.polar(r, a)), d(3), d(2, 3))


@pytest.mark.parametrize("prim, fn, specs", t.rows)
def test_gradcheck(prim, fn, specs):
    run_row(prim, fn, specs)
