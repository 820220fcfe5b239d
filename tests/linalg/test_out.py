"""ember.linalg, ember.fft, ember.special and the complex functions write into ``out=`` as
torch does (one implementation: ``ember/_out.py``): the result lands in ``out``, which is
returned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

CALLS = [
    ("linalg.inv", lambda lib, **kw: lib.linalg.inv(lib.eye(2) * 2, **kw)),
    ("linalg.vector_norm", lambda lib, **kw: lib.linalg.vector_norm(lib.ones(2), **kw)),
    ("inverse", lambda lib, **kw: lib.inverse(lib.eye(2) * 4, **kw)),
    ("fft.rfft", lambda lib, **kw: lib.fft.rfft(lib.arange(4.0), **kw)),
    ("fft.fftfreq", lambda lib, **kw: lib.fft.fftfreq(4, **kw)),
    ("special.gammaln", lambda lib, **kw: lib.special.gammaln(lib.ones(2) * 3, **kw)),
    ("special.bessel_j0", lambda lib, **kw: lib.special.bessel_j0(lib.ones(2), **kw)),
    ("angle", lambda lib, **kw: lib.angle(-lib.ones(2), **kw)),
    ("lgamma", lambda lib, **kw: lib.lgamma(lib.ones(2) * 0.5, **kw)),
    ("logaddexp", lambda lib, **kw: lib.logaddexp(lib.ones(2), lib.zeros(2), **kw)),
    ("column_stack", lambda lib, **kw: lib.column_stack([lib.ones(2), lib.zeros(2)], **kw)),
    ("kron", lambda lib, **kw: lib.kron(lib.ones(2), lib.arange(2.0), **kw)),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_out_receives_the_result_as_torch(name, call):
    expected = call(torch)
    out = ember.zeros(tuple(expected.shape), dtype=getattr(ember, str(expected.dtype)[6:]))
    res = call(ember, out=out)
    assert res is out
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)
