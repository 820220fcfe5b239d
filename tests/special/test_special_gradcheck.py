"""gradcheck (float64) of every ember.special primitive, through ember.special's functions (the
ones shared with torch's top level are ember.ops' primitives). gradgradcheck runs on these rows
too (tests/autograd/test_gradgradcheck.py)."""

from __future__ import annotations

import pytest

import ember
from ember.ops import pointwise as PW
from ember.ops import special_fn as SF
from ember.special import _ops as P
from tests.linalg._table import Table, run_row
from tests.ops._cases import d

SP = ember.special
t = Table()
t.gc(SF.Lgamma, SP.gammaln, d(6, low=-2.7, high=-2.2))
t.gc(SF.Digamma, SP.digamma, d(6, low=0.3, high=6))
t.gc(SF.Polygamma, lambda x: SP.polygamma(2, x), d(6, low=0.3, high=6))
t.gc(SF.Erfc, SP.erfc, d(6))
t.gc(P.Erfcx, SP.erfcx, d(6, low=-2, high=12))
t.gc(SF.Erfinv, SP.erfinv, d(6, low=-0.95, high=0.95))
t.gc(P.Ndtr, SP.ndtr, d(6))
t.gc(P.Ndtri, SP.ndtri, d(6, low=0.01, high=0.99))
t.gc(P.LogNdtr, SP.log_ndtr, d(6, low=-20, high=5))
t.gc(SF.I0, SP.i0, d(6, low=-40, high=40))
t.gc(SF.I0e, SP.i0e, d(6, low=-40, high=40))
t.gc(SF.I1, SP.i1, d(6, low=-40, high=40))
t.gc(SF.I1e, SP.i1e, d(6, low=-40, high=40))
t.gc(PW.Sinc, SP.sinc, d(6))
t.gc(P.Entr, SP.entr, d(6, low=0.1, high=3))
t.gc(PW.Logit, SP.logit, d(6, low=0.05, high=0.95))
t.gc(SF.Xlogy, SP.xlogy, d(2, 3), d(3, low=0.2, high=3))
t.gc(P.Xlog1py, SP.xlog1py, d(2, 3), d(3, low=-0.5, high=3))
t.gc(P.Zeta, lambda q: SP.zeta(3.5, q), d(4, low=0.5, high=6))
A = ember.tensor([0.5, 2.0, 7.5, 30.0], dtype=ember.float64)
t.gc(P.Gammainc, lambda x: SP.gammainc(A, x), d(4, low=0.1, high=40))
t.gc(P.Gammaincc, lambda x: SP.gammaincc(A, x), d(4, low=0.1, high=40))


@pytest.mark.parametrize("prim, fn, specs", t.rows)
def test_gradcheck(prim, fn, specs):
    run_row(prim, fn, specs)
