"""Gradcheck rows for the primitives of the wider tensor surface (special functions, pointwise
extras, scans, statistics, products, strided views, index writes, sampling); added to the table
of ``test_gradcheck.py`` by ``add_rows``."""

from __future__ import annotations

import ember
from ember.ops import cumulative as CU
from ember.ops import index_ops as IO
from ember.ops import pointwise as P
from ember.ops import products as PR
from ember.ops import sampling as SA
from ember.ops import special_fn as SF
from ember.ops import stacking as SK
from ember.ops import statistics as ST
from tests.ops._cases import d

MODULES = (CU, IO, P, PR, SA, SF, SK, ST)


def _pos(*shape: int, low: float = 0.5, high: float = 2.0):
    return d(*shape, low=low, high=high)


def _idx(*rows: list) -> ember.Tensor:
    return ember.tensor(list(rows))


def _poisson(x):
    ember.manual_seed(0)  # the same draw at every evaluation: a zero derivative to check
    return ember.poisson(x) * 1


def add_rows(gc) -> None:
    """Register every primitive of ``MODULES`` with ``gc(prim, fn, *specs, name=...)``."""
    gc(SF.Lgamma, lambda x: ember.lgamma(x), d(2, 3, low=-3.7, high=4))
    gc(SF.Digamma, lambda x: ember.digamma(x), d(2, 3, low=-3.7, high=4))
    gc(SF.Polygamma, lambda x: ember.polygamma(1, x), d(2, 3, low=-3.7, high=4), name="Trigamma")
    gc(SF.Polygamma, lambda x: ember.polygamma(3, x), _pos(2, 3), name="Polygamma3")
    gc(SF.Erfinv, lambda x: ember.erfinv(x), d(2, 3, low=-0.95, high=0.95))
    gc(SF.I0, lambda x: ember.i0(x), d(2, 3, low=-25, high=25))
    gc(SF.I0e, lambda x: SF.i0e(x), d(2, 3, low=-25, high=25))
    gc(SF.I1, lambda x: SF.i1(x), d(2, 3, low=-25, high=25))
    gc(SF.I1e, lambda x: SF.i1e(x), d(2, 3, low=-25, high=25))
    gc(SF.Xlogy, lambda x, y: ember.xlogy(x, y), d(2, 3), _pos(3))
    gc(P.LogAddExp, lambda x, y: ember.logaddexp(x, y), d(2, 3), d(3))
    gc(P.LogAddExp2, lambda x, y: ember.logaddexp2(x, y), d(2, 1), d(3))
    gc(P.Hypot, lambda x, y: ember.hypot(x, y), d(2, 3), d(2, 3))
    gc(P.CopySign, lambda x, y: ember.copysign(x, y), d(2, 3), d(3))
    gc(P.Sinc, lambda x: ember.sinc(x), d(2, 3))
    gc(P.Logit, lambda x: ember.logit(x), d(2, 3, low=0.1, high=0.9), name="Logit")
    gc(P.Logit, lambda x: ember.logit(x, 0.2), d(2, 3, low=0.25, high=0.75), name="Logit_eps")
    gc(P.NanToNum, lambda x: ember.nan_to_num(x, posinf=1.0), d(2, 3))
    gc(CU.CumExtreme, lambda x: ember.cummax(x, 1).values, d(2, 4), name="Cummax")
    gc(CU.CumExtreme, lambda x: ember.cummin(x, 0).values, d(3, 2), name="Cummin")
    gc(CU.LogCumSumExp, lambda x: ember.logcumsumexp(x, 1), d(2, 4))
    gc(ST.EvenlyShared, lambda x: ember.median(x), d(2, 3))
    gc(ST.NanSum, lambda x: ember.nansum(x, 1), d(2, 3))
    gc(PR.Einsum, lambda x, y: ember.einsum("ij,jk->ik", x, y), d(2, 3), d(3, 2), name="Einsum")
    gc(PR.Einsum, lambda x: ember.einsum("ii->i", x), d(3, 3), name="Einsum_diagonal")
    gc(PR.Einsum, lambda x: ember.einsum("ij->j", x), d(3, 2), name="Einsum_sum")
    gc(
        PR.Einsum,
        lambda x, y: ember.einsum("bij,bjk->bik", x, y),
        d(1, 2, 3),
        d(2, 3, 2),
        name="Einsum_broadcast",
    )
    gc(SK.Strided, lambda x: x.unfold(1, 2, 1), d(2, 4), name="Strided_unfold")
    gc(SK.Strided, lambda x: ember.as_strided(x, (2, 2), (1, 2), 1), d(6), name="Strided_as")
    gc(IO.IndexAdd, lambda x, s: x.index_add(0, _idx(0, 2, 0), s, alpha=2), d(3, 2), d(3, 2))
    gc(IO.IndexCopy, lambda x, s: x.index_copy(1, _idx(2, 0), s), d(2, 3), d(2, 2))
    gc(IO.IndexFill, lambda x, v: x.index_fill(1, _idx(1), v), d(2, 3), d())
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            gc(
                IO.ScatterReduce,
                lambda x, s, r=reduce, inc=include_self: x.scatter_reduce(
                    1, _idx([0, 1, 0], [2, 2, 1]), s, r, include_self=inc
                ),
                d(2, 3),
                d(2, 3),
                name=f"ScatterReduce_{reduce}_{'self' if include_self else 'noself'}",
            )
    gc(SA.Poisson, _poisson, _pos(2, 3, low=1.0, high=5.0))
