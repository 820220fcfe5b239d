"""Gradcheck rows for the nn primitives (activations, dropout masks, convolution, pooling,
normalisation, losses); added to the table of ``test_gradcheck.py`` by ``add_rows``. Inputs stay
away from the kinks of piecewise functions (random values never land within the finite
difference step of one)."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember.ops import activation as A
from ember.ops import bilinear as BI
from ember.ops import conv as CV
from ember.ops import embedding as EM
from ember.ops import loss as LO
from ember.ops import norm as NO
from ember.ops import pool as PO
from ember.ops import resample as RS
from tests.ops._cases import d

MODULES = (A, BI, CV, EM, LO, NO, PO, RS)

_TARGET = ember.tensor([1, 0, 3])
_PROBS = ember.softmax(ember.tensor([[0.1, 2.0, -1.0, 0.5]] * 3, dtype=ember.float64), 1)
_BITS = ember.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=ember.float64)


def _seeded(fn):
    """``fn`` with the same random draw at every evaluation (dropout masks)."""

    def run(x):
        ember.manual_seed(0)
        return fn(x)

    return run


def _activation_rows(gc) -> None:
    x = d(2, 5)
    for prim, fn in [
        (A.LeakyRelu, lambda t: F.leaky_relu(t, 0.1)),
        (A.Elu, lambda t: F.elu(t, 0.7)),
        (A.Gelu, F.gelu),
        (A.Silu, F.silu),
        (A.Mish, F.mish),
        (A.Softplus, lambda t: F.softplus(t, 2.0, 5.0)),
        (A.Hardtanh, lambda t: F.hardtanh(t, -1.5, 1.5)),
        (A.Hardsigmoid, lambda t: F.hardsigmoid(t * 4)),
        (A.Hardswish, lambda t: F.hardswish(t * 4)),
        (A.Threshold, lambda t: F.threshold(t, 0.1, -2.0)),
        (A.Softsign, F.softsign),
        (A.LogSigmoid, F.logsigmoid),
        (A.Tanhshrink, F.tanhshrink),
        (A.Softshrink, lambda t: F.softshrink(t, 0.3)),
        (A.Hardshrink, lambda t: F.hardshrink(t, 0.3)),
        (A.Glu, lambda t: F.glu(t[:, :4], 1)),
        (A.MulMask, _seeded(lambda t: F.dropout(t, 0.4, True))),
        (A.AlphaMask, _seeded(lambda t: F.alpha_dropout(t, 0.4, True))),
    ]:
        gc(prim, fn, x)
    gc(A.Prelu, lambda t, w: F.prelu(t, w), d(2, 3, 4), d(3))


def _conv_pool_rows(gc) -> None:
    gc(CV.ConvNd, lambda x, w, b: F.conv2d(x, w, b, 2, 1), d(1, 2, 5, 5), d(3, 2, 3, 3), d(3))
    gc(
        CV.ConvTransposeNd,
        lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1),
        d(1, 2, 4),
        d(2, 3, 3),
        d(3),
    )
    gc(CV.Unfold, lambda x: F.unfold(x, 2, padding=1), d(1, 2, 3, 3))
    gc(CV.Fold, lambda x: F.fold(x, (3, 3), 2), d(1, 4, 4))
    # Distinct values well apart: no ties for the maximum.
    gc(PO.MaxPoolNd, lambda x: F.max_pool2d(x, 2, 1), d(1, 2, 3, 3))
    gc(PO.AvgPoolNd, lambda x: F.avg_pool2d(x, 2, 1, 1, count_include_pad=False), d(1, 2, 3, 3))
    gc(PO.AdaptiveAvgPoolNd, lambda x: F.adaptive_avg_pool1d(x, 3), d(2, 2, 5))
    gc(PO.AdaptiveMaxPoolNd, lambda x: F.adaptive_max_pool1d(x, 2), d(2, 2, 5))
    idx = ember.tensor([[[1, 2]]])
    gc(PO.MaxUnpoolNd, lambda x: F.max_unpool1d(x, idx, 2), d(1, 1, 2))


def _norm_rows(gc) -> None:
    gc(
        NO.BatchNormTrain,
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
        d(4, 3),
        d(3),
        d(3),
    )
    mean, var = ember.zeros(3, dtype=ember.float64), ember.ones(3, dtype=ember.float64) * 2
    gc(NO.BatchNormEval, lambda x, w, b: F.batch_norm(x, mean, var, w, b), d(4, 3), d(3), d(3))
    gc(NO.LayerNorm, lambda x, w, b: F.layer_norm(x, (4,), w, b), d(2, 4), d(4), d(4))
    gc(NO.GroupNorm, lambda x, w, b: F.group_norm(x, 2, w, b), d(2, 4, 3), d(4), d(4))
    gc(NO.RMSNorm, lambda x, w: F.rms_norm(x, (4,), w), d(2, 4), d(4))


def _loss_rows(gc) -> None:
    gc(LO.CrossEntropy, lambda x: F.cross_entropy(x, _TARGET), d(3, 4))
    gc(LO.NLLLoss, lambda x: F.nll_loss(x, _TARGET), d(3, 4))
    gc(LO.CrossEntropyProb, lambda x: F.cross_entropy(x, _PROBS, label_smoothing=0.1), d(3, 4))
    gc(LO.PointwiseLoss, lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), d(2, 3), d(2, 3))
    gc(
        LO.BinaryCrossEntropy,
        lambda x: F.binary_cross_entropy(x, _BITS),
        d(2, 3, low=0.1, high=0.9),
    )
    gc(
        LO.BinaryCrossEntropyWithLogits,
        lambda x: F.binary_cross_entropy_with_logits(x, _BITS),
        d(2, 3),
    )
    gc(
        LO.KLDiv,
        lambda x, y: F.kl_div(x, y, reduction="batchmean"),
        d(2, 3),
        d(2, 3, low=0.1, high=1),
    )
    gc(LO.CosineSimilarity, lambda x, y: F.cosine_similarity(x, y), d(2, 3), d(2, 3))
    gc(LO.LogSigmoid, lambda x: F.soft_margin_loss(x, _BITS * 2 - 1), d(2, 3))


def _layer_rows(gc) -> None:
    gc(BI.Bilinear, lambda a, b, w, c: F.bilinear(a, b, w, c), d(2, 3), d(2, 4), d(2, 3, 4), d(2))
    gc(EM.Embedding, lambda w: F.embedding(_TARGET, w), d(4, 3))
    gc(RS.Interpolate, lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), d(1, 2, 3, 3))
    gc(RS.IndexPad, lambda x: F.pad(x, (2, 1), mode="reflect"), d(1, 2, 4))


def add_rows(gc) -> None:
    """Add this file's rows through the table's ``gc``."""
    _activation_rows(gc)
    _conv_pool_rows(gc)
    _norm_rows(gc)
    _loss_rows(gc)
    _layer_rows(gc)
