"""ember.linalg, ember.fft, ember.special and the complex functions refuse ``out=`` clearly
(NotImplementedError naming the function) instead of ignoring it; without ``out`` they work."""

from __future__ import annotations

import pytest

import ember

CALLS = [
    ("linalg.inv", lambda **kw: ember.linalg.inv(ember.eye(2), **kw)),
    ("linalg.svd", lambda **kw: ember.linalg.svd(ember.eye(2), **kw)),
    ("linalg.vector_norm", lambda **kw: ember.linalg.vector_norm(ember.ones(2), **kw)),
    ("linalg.lu_factor", lambda **kw: ember.linalg.lu_factor(ember.eye(2), **kw)),
    ("inverse", lambda **kw: ember.inverse(ember.eye(2), **kw)),
    ("fft.rfft", lambda **kw: ember.fft.rfft(ember.ones(4), **kw)),
    ("fft.fftfreq", lambda **kw: ember.fft.fftfreq(4, **kw)),
    ("special.gammaln", lambda **kw: ember.special.gammaln(ember.ones(2), **kw)),
    ("special.gammainc", lambda **kw: ember.special.gammainc(ember.ones(2), ember.ones(2), **kw)),
    ("special.bessel_j0", lambda **kw: ember.special.bessel_j0(ember.ones(2), **kw)),
    ("special.legendre", lambda **kw: ember.special.legendre_polynomial_p(ember.ones(2), 2, **kw)),
    ("angle", lambda **kw: ember.angle(ember.ones(2), **kw)),
    ("polar", lambda **kw: ember.polar(ember.ones(2), ember.ones(2), **kw)),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_out_is_refused_not_ignored(name, call):
    call()  # works without out
    with pytest.raises(NotImplementedError, match=r"\(\): ember does not support the out="):
        call(out=ember.zeros(2))
