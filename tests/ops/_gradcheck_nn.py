"""Gradcheck rows for the nn-family primitives that are twice differentiable (activations, ...):
added to the table of ``test_gradcheck.py`` by ``add_rows``, so that ``gradgradcheck`` runs on
them too (tests/autograd/test_gradgradcheck.py). Inputs stay away from the kinks."""

from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F
from ember.nn.modules import _hooks as Hk
from ember.ops import _mha_block as Mb
from ember.ops import activation as A
from ember.ops import attention as At
from ember.ops import bilinear as B
from ember.ops import conv as C
from ember.ops import embedding as Em
from ember.ops import loss as L
from ember.ops import norm as N
from ember.ops import pool as P
from ember.ops import resample as R
from tests.ops._cases import d


def _seeded(fn):
    def run(x):
        ember.manual_seed(0)  # the same mask at every evaluation
        return fn(x)

    return run


def add_rows(gc) -> None:
    """Register the nn-family rows with ``gc(prim, fn, *specs, name=...)``."""
    add_activation_rows(gc)
    add_loss_rows(gc)
    add_norm_rows(gc)
    add_embedding_rows(gc)
    add_conv_rows(gc)
    add_pool_rows(gc)
    add_resample_rows(gc)
    add_attention_rows(gc)
    add_misc_rows(gc)


def add_activation_rows(gc) -> None:
    """Every activation primitive (and dropout's masks)."""
    gc(A.LeakyRelu, lambda x: F.leaky_relu(x, 0.1), d(2, 3))
    gc(A.Elu, lambda x: F.elu(x, 0.7), d(2, 3))
    gc(A.Elu, lambda x: F.selu(x), d(2, 3), name="Selu")
    gc(A.Elu, lambda x: F.celu(x, 0.6), d(2, 3), name="Celu")
    gc(A.Gelu, lambda x: F.gelu(x), d(2, 3, low=-4, high=4))
    gc(A.Gelu, lambda x: F.gelu(x, approximate="tanh"), d(2, 3, low=-4, high=4), name="GeluTanh")
    gc(A.Glu, lambda x: F.glu(x, 1), d(2, 4))
    gc(A.Hardshrink, lambda x: F.hardshrink(x, 0.3), d(2, 3))
    gc(A.Hardsigmoid, lambda x: F.hardsigmoid(x), d(2, 3, low=-5, high=5))  # raises twice
    gc(A.Hardswish, lambda x: F.hardswish(x) * x, d(2, 3, low=-5, high=5))
    gc(A.Hardtanh, lambda x: F.hardtanh(x, -0.5, 0.7) * x, d(2, 3))
    gc(A.LogSigmoid, lambda x: F.logsigmoid(x), d(2, 3, low=-5, high=5))
    gc(A.Mish, lambda x: F.mish(x), d(2, 3, low=-4, high=4))
    gc(A.Prelu, lambda x, w: F.prelu(x, w), d(2, 3, 2), d(3))
    gc(A.Prelu, lambda x, w: F.prelu(x, w), d(2, 3), d(1), name="PreluShared")
    gc(A.Silu, lambda x: F.silu(x), d(2, 3, low=-4, high=4))
    gc(A.Softplus, lambda x: F.softplus(x, 2.0, 3.0), d(2, 3))
    gc(A.Softshrink, lambda x: F.softshrink(x, 0.3) * x, d(2, 3))
    gc(A.Softsign, lambda x: F.softsign(x), d(2, 3))
    gc(A.Tanhshrink, lambda x: F.tanhshrink(x), d(2, 3))
    gc(A.Threshold, lambda x: F.threshold(x, 0.1, 2.0) * x, d(2, 3))
    gc(A.MulMask, _seeded(lambda x: F.dropout(x, 0.4) * x), d(2, 3))
    gc(A.AlphaMask, _seeded(lambda x: F.alpha_dropout(x, 0.4, True) * x), d(2, 3))


def _t(rows):
    return ember.tensor(rows)


def add_loss_rows(gc) -> None:
    """Every loss primitive, through the functional API (weights, smoothing, ignore_index)."""
    y = _t([0, 3, 1])
    w = _t([0.5, 1.0, 2.0, 1.5]).double()
    gc(L.CrossEntropy, lambda x: F.cross_entropy(x, y), d(3, 4))
    gc(
        L.CrossEntropy,
        lambda x: F.cross_entropy(x, y, w, ignore_index=1, label_smoothing=0.2),
        d(3, 4),
        name="CrossEntropyWeighted",
    )
    gc(
        L.CrossEntropy,
        lambda x: F.cross_entropy(x, _t([[0, 2], [1, 1]]), reduction="none"),
        d(2, 3, 2),
        name="CrossEntropySpatial",
    )
    gc(L.CrossEntropyProb, lambda x, p: F.cross_entropy(x, p.softmax(1)), d(3, 4), d(3, 4))
    gc(
        L.CrossEntropyProb,
        lambda x, p: F.cross_entropy(x, p.softmax(1), w, label_smoothing=0.1, reduction="sum"),
        d(3, 4),
        d(3, 4),
        name="CrossEntropyProbWeighted",
    )
    gc(L.NLLLoss, lambda x: F.nll_loss(x, y, w, ignore_index=3) ** 2, d(3, 4))
    gc(L.NLLLoss, lambda x: F.nll_loss(x, y, reduction="none") * x[:, 0], d(3, 4), name="NLLNone")
    for kind in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        gc(
            L.PointwiseLoss,
            lambda x, t, k=kind: getattr(F, k)(x, t) * x.sum(),
            d(2, 3),
            d(2, 3),
            name=f"PointwiseLoss_{kind}",
        )
    gc(
        L.BinaryCrossEntropy,
        lambda x, t: F.binary_cross_entropy(x, t, w[:3]),
        d(2, 3, low=0.1, high=0.9),
        d(2, 3, low=0.1, high=0.9),
    )
    gc(
        L.BinaryCrossEntropyWithLogits,
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=w[:3]),
        d(2, 3),
        d(2, 3, low=0.1, high=0.9),
    )
    gc(L.KLDiv, lambda x, t: F.kl_div(x, t, reduction="batchmean"), d(2, 3), d(2, 3, low=0.1))
    gc(
        L.KLDiv,
        lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True),
        d(2, 3),
        d(2, 3),
        name="KLDivLogTarget",
    )
    gc(L.CosineSimilarity, lambda a, b: F.cosine_similarity(a, b, 1), d(2, 3), d(3))
    sign = _t([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]]).double()
    gc(
        L.LogSigmoid,
        lambda x: F.soft_margin_loss(x, sign) * x.sum(),
        d(2, 3),
        name="LossLogSigmoid",
    )


def add_norm_rows(gc) -> None:
    """Every normalisation primitive, with and without the affine parameters."""
    gc(
        N.BatchNormTrain,
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 2,
        d(3, 2, 2),
        d(2),
        d(2),
    )
    gc(
        N.BatchNormTrain,
        lambda x: F.batch_norm(x, None, None, training=True) * x,
        d(4, 3),
        name="BatchNormTrainPlain",
    )
    rm, rv = ember.tensor([0.1, -0.2]).double(), ember.tensor([0.5, 2.0]).double()
    gc(
        N.BatchNormEval,
        lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False) * x,
        d(3, 2, 2),
        d(2),
        d(2),
    )
    gc(
        N.LayerNorm,
        lambda x, w, b: F.layer_norm(x, (2, 3), w, b) ** 2,
        d(2, 2, 3),
        d(2, 3),
        d(2, 3),
    )
    gc(N.LayerNorm, lambda x: F.layer_norm(x, (3,)) * x, d(2, 3), name="LayerNormPlain")
    gc(N.GroupNorm, lambda x, w, b: F.group_norm(x, 2, w, b) ** 2, d(2, 4, 3), d(4), d(4))
    gc(N.GroupNorm, lambda x: F.instance_norm(x) * x, d(2, 2, 3), name="InstanceNorm")
    gc(N.RMSNorm, lambda x, w: F.rms_norm(x, (3,), w, 1e-5) ** 2, d(2, 3), d(3))
    gc(N.RMSNorm, lambda x: F.rms_norm(x, (2, 3)) * x, d(2, 2, 3), name="RMSNormPlain")


def add_embedding_rows(gc) -> None:
    idx = _t([[1, 0, 2], [2, 2, 3]])
    gc(Em.Embedding, lambda w: F.embedding(idx, w) ** 2, d(4, 2))
    # padding_idx and scale_grad_by_freq change the gradient on purpose (no gradcheck): their
    # second derivatives are compared with torch's in tests/autograd/test_higher_order.py.


def add_conv_rows(gc) -> None:
    """Convolutions of every dimension, strided, padded (asymmetric 'same'), dilated, grouped;
    transposed convolutions with output padding; fold and unfold."""
    gc(C.ConvNd, lambda x, w, b: F.conv1d(x, w, b, 2, 1), d(2, 2, 7), d(3, 2, 3), d(3))
    gc(
        C.ConvNd,
        lambda x, w: F.conv2d(x, w, padding="same", dilation=(1, 2), groups=2) ** 2,
        d(1, 4, 5, 5),
        d(4, 2, 2, 3),
        name="Conv2dSameGroups",
    )
    gc(
        C.ConvNd,
        lambda x, w: F.conv3d(x, w, stride=2),
        d(1, 1, 4, 3, 4),
        d(2, 1, 2, 2, 2),
        name="Conv3d",
    )
    gc(
        C.ConvNd,
        lambda x, w: F.conv2d(x, w, padding=1) ** 2,
        d(1, 16, 3, 3),
        d(2, 16, 2, 2),
        name="Conv2dChannelsLast",
    )
    gc(
        C.ConvNd,
        lambda x, w, b: F.conv2d(x, w, b, 2, (1, 2), (2, 1), 2) ** 2,
        d(2, 32, 4, 3),
        d(4, 16, 2, 2),
        d(4),
        name="Conv2dChannelsLastGroupsStrided",
    )
    gc(
        C.ConvTransposeNd,
        lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2) ** 2,
        d(2, 4, 3),
        d(4, 1, 3),
        d(2),
    )
    gc(
        C.ConvTransposeNd,
        lambda x, w: F.conv_transpose2d(x, w, stride=(2, 1), dilation=(1, 2)),
        d(1, 2, 3, 2),
        d(2, 3, 2, 2),
        name="ConvTranspose2d",
    )
    gc(C.Unfold, lambda x: F.unfold(x, (2, 3), dilation=1, padding=1, stride=2) ** 2, d(2, 2, 4, 5))
    gc(
        C.Fold,
        lambda c: F.fold(c, (4, 5), (2, 3), padding=1, stride=2) ** 2,
        d(2, 12, 9),
    )


def add_pool_rows(gc) -> None:
    """Max (overlapping, padded, dilated, ceil mode, with indices), average (padded, count
    excluding padding, divisor override), adaptive and unpooling."""
    gc(P.MaxPoolNd, lambda x: F.max_pool2d(x, 2) ** 2, d(1, 2, 4, 4))
    gc(
        P.MaxPoolNd,
        lambda x: F.max_pool1d(x, 3, 2, 1, dilation=1, ceil_mode=True) ** 2,
        d(2, 2, 8),
        name="MaxPool1dOverlapCeil",
    )
    gc(
        P.MaxPoolNd,
        lambda x: F.max_pool2d(x, 2, 1, dilation=2, return_indices=True)[0] ** 2,
        d(1, 1, 5, 5),
        name="MaxPool2dIndices",
    )
    gc(P.AvgPoolNd, lambda x: F.avg_pool2d(x, 3, 2, 1) ** 2, d(1, 2, 5, 5))
    gc(
        P.AvgPoolNd,
        lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False) ** 2,
        d(2, 2, 6),
        name="AvgPool1dExcludePad",
    )
    gc(P.AdaptiveAvgPoolNd, lambda x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2, d(1, 2, 5, 4))
    gc(
        P.AdaptiveAvgPoolNd,
        lambda x: F.adaptive_avg_pool2d(x, 1) ** 2,
        d(2, 2, 3, 3),
        name="GlobalAvgPool",
    )
    gc(P.AdaptiveMaxPoolNd, lambda x: F.adaptive_max_pool1d(x, 3) ** 2, d(2, 2, 7))
    ind = F.max_pool2d(ember.arange(32.0).reshape(1, 2, 4, 4), 2, return_indices=True)[1]
    gc(P.MaxUnpoolNd, lambda x: F.max_unpool2d(x, ind, 2) ** 2, d(1, 2, 2, 2))


def add_resample_rows(gc) -> None:
    """Interpolation (nearest, linear, cubic), index padding (reflect, replicate, circular,
    with a crop), bilinear forms."""
    gc(R.Interpolate, lambda x: F.interpolate(x, scale_factor=2, mode="nearest") ** 2, d(1, 1, 3))
    gc(
        R.Interpolate,
        lambda x: F.interpolate(x, size=(4, 5), mode="bilinear", align_corners=False) ** 2,
        d(1, 2, 3, 3),
        name="InterpolateBilinear",
    )
    gc(
        R.Interpolate,
        lambda x: F.interpolate(x, size=(5, 4), mode="bicubic", align_corners=True) ** 2,
        d(1, 1, 3, 3),
        name="InterpolateBicubic",
    )
    gc(R.IndexPad, lambda x: F.pad(x, (2, 1), mode="reflect") ** 2, d(1, 2, 4))
    gc(
        R.IndexPad,
        lambda x: F.pad(x, (1, 2, 2, 0), mode="replicate") ** 2,
        d(1, 1, 3, 3),
        name="IndexPadReplicate",
    )
    gc(
        R.IndexPad,
        lambda x: F.pad(x, (2, -1), mode="circular") ** 2,
        d(1, 2, 4),
        name="IndexPadCircularCrop",
    )
    gc(
        B.Bilinear,
        lambda a, b, w, c: F.bilinear(a, b, w, c) ** 2,
        d(2, 3),
        d(2, 2),
        d(4, 3, 2),
        d(4),
    )


def _mha(m, x, w_in, w_out):
    """Multi-head attention (2 heads) with the attention weights requested."""
    out, wts = m.nn.functional.multi_head_attention_forward(
        x, x, x, 4, 2, w_in, None, None, None, False, 0.0, w_out, None, need_weights=True
    )
    return out, wts


# A key padding mask (a fully masked row for batch 1) and a dropout multiplier for the block.
_MK = (
    np.array([[0, 0, -np.inf], [-np.inf] * 3], np.float64).reshape(2, 1, 1, 3) * np.ones((3, 1)),
    (np.random.default_rng(3).random((2, 2, 3, 3)) > 0.3) / 0.7,
)


def add_attention_rows(gc) -> None:
    """Scaled dot-product attention (plain, with a learned additive mask, causal) and
    multi-head attention returning its weights."""
    gc(
        At.Attention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        d(2, 3, 4),
        d(2, 5, 4),
        d(2, 5, 3),
    )
    gc(
        At.Attention,
        lambda q, k, v, mk: F.scaled_dot_product_attention(q, k, v, attn_mask=mk) ** 2,
        d(1, 3, 2),
        d(1, 4, 2),
        d(1, 4, 2),
        d(3, 4),
        name="AttentionMask",
    )
    gc(
        At.Attention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7),
        d(2, 3, 2),
        d(2, 3, 2),
        d(2, 3, 2),
        name="AttentionCausal",
    )
    gc(
        At.AttentionWithWeights,
        lambda x, wi, wo: _mha(ember, x, wi, wo),
        d(3, 2, 4),
        d(12, 4),
        d(4, 4),
    )
    # Batch-first self-attention as one node (x, in/out projections with and without biases).
    gc(
        Mb.SelfAttentionBlock,
        lambda x, wi, bi, wo, bo: (
            Mb.SelfAttentionBlock.apply(x, wi, bi, wo, bo, 2, False, None, None) ** 2
        ),
        d(2, 3, 4),
        d(12, 4),
        d(12),
        d(4, 4),
        d(4),
    )
    gc(
        Mb.SelfAttentionBlock,
        lambda x, wi, wo: Mb.SelfAttentionBlock.apply(
            x, wi, None, wo, None, 1, True, None, None
        ).sin(),
        d(2, 3, 4),
        d(12, 4),
        d(4, 4),
        name="SelfAttentionBlockNoBias",
    )
    gc(
        Mb.SelfAttentionBlock,
        lambda x, wi, wo: Mb.SelfAttentionBlock.apply(x, wi, None, wo, None, 2, False, *_MK) ** 2,
        d(2, 3, 4),
        d(12, 4),
        d(4, 4),
        name="SelfAttentionBlockMaskDropout",
    )
    # Packed (L, N, 3 * E) projections into three (N, heads, L, E / heads) views, and one.
    gc(At.SplitHeads, lambda x: tuple(h * h for h in At.SplitHeads.apply(x, 3, 2)), d(3, 2, 12))
    gc(
        At.SplitHeads,
        lambda x: At.SplitHeads.apply(x, 1, 2)[0] ** 2,
        d(3, 2, 4),
        name="SplitHeadsOne",
    )


def hooked_tanh(m):
    """``m.nn.Tanh()`` with a full backward hook that doubles its input gradient."""
    mod = m.nn.Tanh()
    mod.register_full_backward_hook(lambda _, gi, go: (gi[0] * 2,))
    return mod


def add_misc_rows(gc) -> None:
    """Module backward hooks' identity node."""
    mod = ember.nn.Tanh()  # a hook that only looks (gradcheck needs the true gradient)
    seen = []
    mod.register_full_backward_hook(lambda _, gi, go: seen.append(gi[0].shape))
    gc(Hk.BackwardHookFunction, lambda x: mod(x * x) ** 2, d(2, 3))
