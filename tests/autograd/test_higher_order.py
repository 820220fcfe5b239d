"""Second (and higher) derivatives against torch: ``create_graph=True`` for every op family the
engine covers, ``.grad`` accumulation under create_graph, custom Functions, once_differentiable.

Each family row is ``fn(lib, *tensors) -> scalar``; the test computes a Hessian-vector product
``grad(grad(f, xs, create_graph=True) . v, xs)`` with ember and with torch and compares them
(values and first derivatives too).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.ops._cases import Arr, d
from tests.ops._gradcheck_nn import _mha, hooked_tanh
from tests.parity import assert_close

ROWS: list = []


def row(name: str, fn, *specs: Arr) -> None:
    ROWS.append(pytest.param(fn, specs, id=name))


def _pos(*shape: int) -> Arr:
    return d(*shape, low=0.5, high=2.0)


def _unit(*shape: int) -> Arr:
    return d(*shape, low=-0.9, high=0.9)


def _idx(m, *rows):
    return m.tensor(list(rows))


# ---- elementwise and unary -------------------------------------------------------------------
row("add_sub_broadcast", lambda m, x, y: ((x + y) * (x - y) * (1.5 - x) + 2.5).sum(), d(2, 3), d(3))
row("mul_div", lambda m, x, y: (x * y / (y * y + 1) / 3.0).sum(), d(2, 3), _pos(2, 1))
row("pow_tensor", lambda m, x, y: (x**y).sum(), _pos(2, 3), d(3))
row("pow_scalar", lambda m, x: (x**3 + 2.0**x + x**0.5).sum(), _pos(2, 3))
row("atan2", lambda m, x, y: m.atan2(x, y).sum(), d(2, 3), _pos(2, 3))
row("neg_square_abs", lambda m, x: (-(x * x) * x.abs() + m.square(x)).sum(), d(2, 3))
row("exp_log", lambda m, x: (x.exp() * x.log() + m.exp2(x) + m.log2(x) + m.log10(x)).sum(), _pos(3))
row("expm1_log1p", lambda m, x: (x.expm1() * x.log1p()).sum(), _pos(3))
row("sqrt_rsqrt", lambda m, x: (x.sqrt() * x.rsqrt() * x + x.reciprocal()).sum(), _pos(2, 3))
row("trig", lambda m, x: (x.sin() * x.cos() + m.tan(x)).sum(), _unit(2, 3))
row("inverse_trig", lambda m, x: (m.asin(x) + m.acos(x) * m.atan(x)).sum(), _unit(2, 3))
row("hyperbolic", lambda m, x: (m.sinh(x) * m.cosh(x) + x.tanh() ** 2).sum(), d(2, 3))
row("inverse_hyperbolic", lambda m, x: (m.asinh(x) * m.atanh(x / 2)).sum(), _unit(2, 3))
row("acosh", lambda m, x: m.acosh(x + 1.5).pow(2).sum(), _pos(2, 3))
row("sigmoid_erf", lambda m, x: (x.sigmoid() * m.erf(x)).sum(), d(2, 3))
row("relu_frac", lambda m, x: (x.relu() ** 3 + m.frac(x) * x).sum(), d(2, 3))
row("piecewise_constant", lambda m, x: (x * x.sign() + x.floor() * x + x.round()).sum(), d(2, 3))
row(
    "floor_divide_mod", lambda m, x, y: ((x % y) ** 2 + m.fmod(x, y) * x).sum(), _pos(2, 3), _pos(3)
)
row("cast", lambda m, x: (x.float() * x.float()).double().sum(), d(2, 3))

# ---- comparisons, where, clamp, max, min -------------------------------------------------------
row("where", lambda m, x, y: (m.where(x > 0, x * x, y**3)).sum(), d(2, 3), d(3))
row("clamp_scalar", lambda m, x: (x.clamp(-0.5, 0.7) ** 2 * x).sum(), d(2, 3))
row("clamp_tensor", lambda m, x, lo: (x.clamp(lo, None) ** 3).sum(), d(2, 3), d(3))
row(
    "maximum_minimum", lambda m, x, y: (m.maximum(x, y) ** 2 * m.minimum(x, y)).sum(), d(2, 3), d(3)
)
row("max_min_dim", lambda m, x: (x.max(1).values ** 3).sum() + (x.min(0)[0] ** 2).sum(), d(3, 4))
row("amax_full", lambda m, x: x.amax(1).pow(3).sum() + x.max() ** 2, d(3, 4))

# ---- reductions ---------------------------------------------------------------------------------
row("sum_mean", lambda m, x: (x.sum(1) ** 2).sum() + x.mean(0).pow(3).sum() + x.sum() ** 2, d(3, 4))
row("var_std", lambda m, x: x.var(1).pow(2).sum() + x.std() + x.std(0, keepdim=True).sum(), d(3, 4))
row("logsumexp", lambda m, x: x.logsumexp(1).pow(2).sum() + x.logsumexp((0, 1)), d(3, 4))
row("norm", lambda m, x: x.norm() ** 3 + x.norm(dim=1).sum(), d(3, 4))
row("cumsum_cumprod", lambda m, x: (x.cumsum(1) ** 2).sum() + x.cumprod(0).sum(), _pos(3, 4))

# ---- softmax, matmul, linear --------------------------------------------------------------------
row(
    "softmax",
    lambda m, x, w: (x.softmax(1) * w).sum() + x.log_softmax(0).pow(2).sum(),
    d(3, 4),
    d(4),
)
_X = np.random.default_rng(7).uniform(-1, 1, (5, 4))  # a constant input (no gradient)


def _mlp(m, w1, b1, w2, b2):
    """A tanh/sigmoid MLP on a constant input: Linear's gradients (LinearBackward) with and
    without the input gradient, TanhBackward and SigmoidBackward on the graph."""
    F = m.nn.functional
    h = F.linear(m.tensor(_X).to(w1.dtype), w1, b1).tanh()
    return (F.linear(h, w2, b2).sigmoid() ** 2).mean()


def _linear_const(m, b):
    x = m.tensor(_X).to(b.dtype)
    return m.nn.functional.linear(x, x[:3], b)


row("mlp_tanh_sigmoid", _mlp, d(3, 4), d(3), d(2, 3), d(2))
row(
    "linear_bias_only",
    lambda m, b: (_linear_const(m, b).tanh() ** 3).sum(),
    d(3),
)
row("matmul_2d", lambda m, x, y: (x @ y).tanh().sum(), d(3, 4), d(4, 2))
row("matmul_batch", lambda m, x, y: ((x @ y) ** 2).sum(), d(2, 3, 4), d(4, 2))
row("matmul_vec", lambda m, x, y: ((x @ y) ** 2).sum() + (y @ y) ** 2, d(3, 4), d(4))
row("matmul_vec_batch", lambda m, x, y: ((y @ x) ** 2).sum(), d(2, 4, 3), d(4))
row("matmul_broadcast", lambda m, x, y: ((x @ y) ** 2).sum(), d(2, 1, 3, 4), d(2, 4, 3))
row(
    "linear",
    lambda m, x, w, b: m.nn.functional.linear(x, w, b).tanh().pow(2).sum(),
    d(2, 3, 4),
    d(5, 4),
    d(5),
)

# ---- indexing -----------------------------------------------------------------------------------
row("slice", lambda m, x: (x[1:, ::2] ** 3).sum() + x[0, 1] ** 2, d(3, 4))
row("advanced_index", lambda m, x: (x[_idx(m, 0, 2, 0)] ** 3).sum(), d(3, 4))
row("bool_mask", lambda m, x: (x[x > 0] ** 3).sum(), d(3, 4))
row("gather", lambda m, x: (x.gather(1, _idx(m, [0, 0, 2], [1, 3, 1])) ** 3).sum(), d(2, 4))
row(
    "scatter",
    lambda m, x, s: (x.scatter(1, _idx(m, [0, 2], [1, 0]), s) ** 3).sum(),
    d(2, 3),
    d(2, 2),
)
row(
    "scatter_add",
    lambda m, x, s: (x.scatter_add(0, _idx(m, [0, 1, 0], [1, 1, 0]), s) ** 3).sum(),
    d(2, 3),
    d(2, 3),
)
row("index_select", lambda m, x: (x.index_select(0, _idx(m, 1, 1, 0)) ** 3).sum(), d(2, 3))
row(
    "masked_fill",
    lambda m, x, v: (x.masked_fill(x > 0, 1.0) ** 3).sum() + (x.masked_fill(x < 0, v) ** 2).sum(),
    d(2, 3),
    d(),
)
row("index_put", lambda m, x, v: (x.index_put((_idx(m, 0, 1),), v * v) ** 3).sum(), d(3, 2), d(2))


def _setitem(m, x, v):
    y = x * 1
    y[_idx(m, 2, 0)] = v**2
    return (y**3).sum()


row("setitem", _setitem, d(3, 2), d(2))

# ---- shape ops, cat/stack -----------------------------------------------------------------------
row("view_reshape", lambda m, x: (x.view(4, 3).t().reshape(12) ** 3).sum(), d(3, 4))
row("permute_transpose", lambda m, x: (x.permute(2, 0, 1).transpose(0, 1) ** 3).sum(), d(2, 3, 2))
row(
    "expand_repeat",
    lambda m, x: (x.expand(2, 3, 2) ** 3).sum() + (x.repeat(2, 2) ** 3).sum(),
    d(3, 1),
)
row("flip_roll", lambda m, x: (x.flip(0) * x.roll(1, 1) * x).sum(), d(2, 3))
row("tril_triu", lambda m, x: ((x.tril(-1) + x.triu(1)) ** 3).sum(), d(3, 3))
row(
    "pad",
    lambda m, x: (m.nn.functional.pad(x, (1, -1, 0, 2)) ** 3).sum(),
    d(2, 3),
)
row("clone_squeeze", lambda m, x: (x.clone().unsqueeze(0).squeeze(0) ** 3).sum(), d(2, 3))
row(
    "cat_stack",
    lambda m, x, y: (m.cat([x, y], 1) ** 3).sum() + (m.stack([x, x]) ** 2).sum(),
    d(2, 1),
    d(2, 3),
)
row(
    "split_chunk",
    lambda m, x: sum((c**3).sum() * (k + 1) for k, c in enumerate(x.chunk(3, 1))),
    d(2, 3),
)


# ---- activations (the gradient they receive depends on x: second derivatives in both factors) --
def _act(name: str, call, spec: Arr = None) -> None:
    row(
        name,
        lambda m, x: (call(m.nn.functional, x) * x.sin()).sum(),
        spec or d(2, 3, low=-4, high=4),
    )


_act("elu", lambda F, x: F.elu(x, 0.7) + F.selu(x) + F.celu(x, 0.5))
_act("gelu", lambda F, x: F.gelu(x))
_act("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh"))
_act("glu", lambda F, x: F.glu(x, 1).repeat(1, 2), d(2, 4))
_act("hardshrink_softshrink", lambda F, x: F.hardshrink(x, 0.3) + F.softshrink(x, 0.4))
_act("hardswish", lambda F, x: F.hardswish(x))
_act("hardtanh", lambda F, x: F.hardtanh(x, -0.5, 0.7))
_act("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1))
_act("logsigmoid", lambda F, x: F.logsigmoid(x))
_act("mish", lambda F, x: F.mish(x))
_act("silu", lambda F, x: F.silu(x))
_act("softplus", lambda F, x: F.softplus(x, 2.0, 3.0) + F.softplus(x))
_act("softsign_tanhshrink", lambda F, x: F.softsign(x) * F.tanhshrink(x))
_act("threshold", lambda F, x: F.threshold(x, 0.1, 2.0))
row(
    "prelu",
    lambda m, x, w: (
        (m.nn.functional.prelu(x, w) ** 2).sum() + (m.nn.functional.prelu(x, w[:1]) * x).sum()
    ),
    d(2, 3, 2),
    d(3),
)


# ---- losses (squared or scaled by the input: the upstream gradient depends on x) ---------------
def _w(m, x):
    return m.tensor([0.5, 1.0, 2.0, 1.5], dtype=x.dtype)


def _loss(name: str, call, *specs: Arr) -> None:
    row(name, lambda m, *xs: call(m.nn.functional, m, *xs) ** 2, *specs)


_loss("cross_entropy", lambda F, m, x: F.cross_entropy(x, _idx(m, 0, 3, 1)), d(3, 4))
_loss(
    "cross_entropy_weight_smoothing_ignore",
    lambda F, m, x: F.cross_entropy(
        x, _idx(m, 0, 3, 1), _w(m, x), ignore_index=1, label_smoothing=0.2
    ),
    d(3, 4),
)
_loss(
    "cross_entropy_spatial_none",
    lambda F, m, x: (F.cross_entropy(x, _idx(m, [0, 2], [1, 1]), reduction="none") * x[:, 0]).sum(),
    d(2, 3, 2),
)
_loss(
    "cross_entropy_probabilities",
    lambda F, m, x, p: F.cross_entropy(x, p.softmax(1), _w(m, x), label_smoothing=0.1),
    d(3, 4),
    d(3, 4),
)
_loss(
    "nll_loss", lambda F, m, x: F.nll_loss(x, _idx(m, 0, 3, 1), _w(m, x), ignore_index=3), d(3, 4)
)
for _k in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
    _loss(_k, lambda F, m, x, t, k=_k: getattr(F, k)(x, t) * x.sum(), d(2, 3), d(2, 3))
_loss(
    "binary_cross_entropy",
    lambda F, m, x, t: F.binary_cross_entropy(x, t, _w(m, x)[:3]),
    d(2, 3, low=0.1, high=0.9),
    d(2, 3, low=0.1, high=0.9),
)
_loss(
    "bce_with_logits",
    lambda F, m, x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=_w(m, x)[:3]),
    d(2, 3),
    d(2, 3, low=0.1, high=0.9),
)
_loss("kl_div", lambda F, m, x, t: F.kl_div(x, t, reduction="batchmean"), d(2, 3), _pos(2, 3))
_loss(
    "kl_div_log_target",
    lambda F, m, x, t: F.kl_div(x, t, reduction="sum", log_target=True),
    d(2, 3),
    d(2, 3),
)
_loss("cosine_similarity", lambda F, m, a, b: F.cosine_similarity(a, b, 1).sum(), d(2, 3), d(3))
_loss(
    "soft_margin_loss",
    lambda F, m, x: F.soft_margin_loss(x, m.tensor([1.0, -1.0, 1.0], dtype=m.float64)),
    d(2, 3),
)


# ---- normalisation ---------------------------------------------------------------------------
def _norm(name: str, call, *specs: Arr) -> None:
    row(name, lambda m, x, *ps: (call(m.nn.functional, m, x, *ps) * x.sin()).sum(), *specs)


_norm(
    "batch_norm_train",
    lambda F, m, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    d(3, 2, 2),
    d(2),
    d(2),
)
_norm("batch_norm_train_plain", lambda F, m, x: F.batch_norm(x, None, None, training=True), d(4, 3))
_norm(
    "batch_norm_eval",
    lambda F, m, x, w, b: F.batch_norm(
        x,
        m.tensor([0.1, -0.2], dtype=x.dtype),
        m.tensor([0.5, 2.0], dtype=x.dtype),
        w,
        b,
        training=False,
    ),
    d(3, 2, 2),
    d(2),
    d(2),
)
_norm(
    "layer_norm", lambda F, m, x, w, b: F.layer_norm(x, (2, 3), w, b), d(2, 2, 3), d(2, 3), d(2, 3)
)
_norm("layer_norm_plain", lambda F, m, x: F.layer_norm(x, (3,)), d(2, 3))
_norm("group_norm", lambda F, m, x, w, b: F.group_norm(x, 2, w, b), d(2, 4, 3), d(4), d(4))
_norm("instance_norm", lambda F, m, x: F.instance_norm(x), d(2, 2, 3))
_norm("rms_norm", lambda F, m, x, w: F.rms_norm(x, (3,), w, 1e-5), d(2, 3), d(3))
_norm("rms_norm_plain", lambda F, m, x: F.rms_norm(x, (2, 3)), d(2, 2, 3))


row(
    "embedding",
    lambda m, w: (m.nn.functional.embedding(_idx(m, [1, 0, 2], [2, 2, 3]), w) ** 3).sum(),
    d(4, 2),
)
row(
    "embedding_padding_freq",
    lambda m, w: (
        m.nn.functional.embedding(
            _idx(m, [1, 0, 2], [2, 2, 3]), w, padding_idx=2, scale_grad_by_freq=True
        )
        ** 3
    ).sum(),
    d(4, 2),
)


# ---- special functions and pointwise extras --------------------------------------------------
row("lgamma_digamma", lambda m, x: (m.lgamma(x) * m.digamma(x)).sum(), _pos(2, 3))
row("polygamma", lambda m, x: (m.polygamma(1, x) * m.polygamma(2, x)).sum(), _pos(2, 3))
row("erfinv", lambda m, x: (m.erfinv(x) ** 2).sum(), _unit(2, 3))


row("bessel_i0_i1", lambda m, x: (m.i0(x) * m.special.i1(x)).sum(), d(2, 3))
row("bessel_i0e_i1e", lambda m, x: (m.special.i0e(x) * m.special.i1e(x)).sum(), d(2, 3))
row("xlogy", lambda m, x, y: (m.xlogy(x, y) ** 2).sum(), d(2, 3), _pos(3))
# ember.special's own primitives (the functions torch also has at top level share ops' ones).
row(
    "special_erfcx_ndtr_entr",
    lambda m, x: (m.special.erfcx(x) * m.special.ndtr(x) + m.special.entr(x) ** 2).sum(),
    _pos(2, 3),
)
row(
    "special_ndtri_log_ndtr",
    lambda m, x: (m.special.ndtri(x) ** 2 * m.special.log_ndtr(x * 8 - 6)).sum(),
    d(2, 3, low=0.05, high=0.95),
)
row(
    "special_xlog1py",
    lambda m, x, y: (m.special.xlog1py(x, y) ** 2 * y).sum(),
    d(2, 3),
    d(3, low=-0.5, high=2),
)
row("special_zeta_q", lambda m, q: (m.special.zeta(3.5, q) ** 2 * q).sum(), _pos(2, 3))
row(
    "special_gammainc_x",
    lambda m, x: (
        m.special.gammainc(m.tensor([0.5, 2.0, 7.5], dtype=x.dtype), x * 4) ** 2
        * m.special.gammaincc(m.tensor([1.5, 3.0, 0.7], dtype=x.dtype), x)
    ).sum(),
    _pos(2, 3),
)


def _special_shared(m, x):
    """ember.special's functions that use ember.ops' primitives (torch's top-level ones)."""
    sp = m.special
    gamma = sp.gammaln(x) * sp.polygamma(2, x) + sp.multigammaln(x + 1, 3) ** 2
    erf = sp.erfc(x) * sp.erfinv(x / 3) * sp.sinc(x) * sp.logit(x / 3)
    return gamma.sum() + (erf**2).sum() + (sp.xlogy(x, x) * sp.digamma(x)).sum()


row("special_shared", _special_shared, _pos(2, 3))
row("logaddexp", lambda m, x, y: (m.logaddexp(x, y) * m.logaddexp2(y, x)).sum(), d(2, 3), d(3))
row("hypot", lambda m, x, y: (m.hypot(x, y) ** 2 * x).sum(), d(2, 3), _pos(2, 3))
row("copysign", lambda m, x, y: (m.copysign(x, y) ** 3).sum(), d(2, 3), d(2, 3))
row("sinc_logit", lambda m, x: (m.sinc(x) * m.logit(x)).sum(), d(2, 3, low=0.1, high=0.9))
row("logit_eps", lambda m, x: (m.logit(x, 0.2) ** 2).sum(), d(2, 3, low=0.1, high=0.9))
row("nan_to_num", lambda m, x: (m.nan_to_num(x) ** 3).sum(), d(2, 3))
row("fmax_fmin", lambda m, x, y: (m.fmax(x, y) ** 2 * m.fmin(x, y)).sum(), d(2, 3), d(3))
row("prod", lambda m, x: x.prod() ** 2 + (x.prod(1) * x[:, 0]).sum() + x.prod(0).sum(), d(3, 4))
row(
    "prod_with_zeros",
    lambda m, x: (
        (x * m.tensor([[1.0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]], dtype=x.dtype))
        .prod(1)
        .pow(2)
        .sum()
    ),
    d(3, 4),
)
row(
    "index_add_copy",
    lambda m, x, s: (
        (x.index_add(0, _idx(m, 2, 0), s) ** 3).sum()
        + (x.index_copy(0, _idx(m, 1, 0), s * s) ** 2).sum()
    ),
    d(3, 2),
    d(2, 2),
)
row("median_nansum", lambda m, x: x.median() ** 3 + (m.nansum(x, 1) ** 2).sum(), d(2, 3))
row("logcumsumexp", lambda m, x: (m.logcumsumexp(x * 3, 1) ** 3).sum(), d(3, 4))
row(
    "einsum",
    lambda m, x, y, z, w: (
        (m.einsum("bij,jk,bk->bi", x, y, z) ** 2).sum()
        + (m.einsum("iji,j->i", w, y[:2, 0]) ** 3).sum()
    ),
    d(2, 2, 3),
    d(3, 4),
    d(2, 4),
    d(3, 2, 3),
)
row(
    "einsum_diagonal_sum",
    lambda m, x: (m.einsum("ii->i", x) ** 3).sum() + (m.einsum("ij->j", x) ** 3).sum(),
    d(3, 3),
)
row(
    "unfold_as_strided",
    lambda m, x: (x.unfold(1, 2, 1) ** 3).sum() + (m.as_strided(x, (2, 2), (1, 2), 1) ** 3).sum(),
    d(2, 4),
)


def _scatter_reduce(reduce: str, include_self: bool):
    def fn(m, x, s):
        zero = m.tensor([[1.0, 0, 1], [1, 1, 1]], dtype=x.dtype)  # a zero in src for "prod"
        y = x.scatter_reduce(
            1, _idx(m, [0, 1, 0], [2, 2, 1]), s * zero, reduce, include_self=include_self
        )
        return (y**3).sum()

    return fn


for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        row(f"scatter_reduce_{_reduce}_{_self}", _scatter_reduce(_reduce, _self), d(2, 3), d(2, 3))


# ---- complex numbers and FFTs (real inputs and outputs; complex in between) ------------------
def _cx(m, a, b):
    return m.complex(a, b)


row(
    "complex_parts",
    lambda m, a, b: (
        (_cx(m, a, b).real ** 3 * _cx(m, b, a).imag).sum() + (_cx(m, a, b).abs() ** 3).sum()
    ),
    d(2, 3),
    d(3),
)
row(
    "conj_view_as_real",
    lambda m, a, b: (m.view_as_real(_cx(m, a, b).conj() * _cx(m, b, a)) ** 3).sum(),
    d(3),
    d(3),
)
row(
    "angle_view_as_complex",
    lambda m, x: (
        (m.view_as_complex(x).angle() ** 3).sum()
        + (m.view_as_real(m.view_as_complex(x) * m.view_as_complex(x)) ** 2).sum()
        + (m.angle(x) * x).sum()
    ),
    d(3, 2),
)
row("polar", lambda m, r, a: (m.view_as_real(m.polar(r, a)) ** 3).sum(), _pos(3), d(2, 3))
row(
    "fft_ifftn",
    lambda m, x, a, b: (
        (m.view_as_real(m.fft.fft(x * x, n=7)) ** 3).sum()
        + (m.view_as_real(m.fft.ifftn(_cx(m, a, b), s=(3, 5), norm="ortho")) ** 3).sum()
    ),
    d(2, 6),
    d(4, 4),
    d(4, 4),
)
row(
    "rfft_irfft",
    lambda m, x, a, b: (
        (m.view_as_real(m.fft.rfftn(x, s=(3, 5))) ** 3).sum()
        + (m.fft.irfft(_cx(m, a, b), n=8) ** 3).sum()
        + (m.fft.irfftn(_cx(m, a, b).expand(2, 5), norm="forward") ** 3).sum()
    ),
    d(4, 4),
    d(5),
    d(5),
)
row(
    "complex_slicing_and_arithmetic",
    lambda m, x, y: (
        m.view_as_real(
            m.cat([m.fft.fft(x)[1:].flip(0), m.fft.fft(x)[_idx(m, 1, 3, 3)].roll(1)])
            / (m.fft.fft(y, n=8) + 3)
            - m.fft.fft(x).mean(0, keepdim=True)
        )
        ** 3
    ).sum(),
    d(6),
    d(6),
)
row(
    "stft_istft",
    lambda m, x, a: (
        (
            m.view_as_real(
                m.stft(
                    x, 8, hop_length=2, window=m.hann_window(8, dtype=x.dtype), return_complex=True
                )
            )
            ** 2
        ).sum()
        + (
            m.istft(m.view_as_complex(a), 8, hop_length=2, window=m.hann_window(8, dtype=a.dtype))
            ** 3
        ).sum()
    ),
    d(2, 32),
    d(5, 9, 2),
)
row(
    "fft_abs",
    lambda m, x: (m.fft.fft(x).abs() ** 3).sum() + m.fft.hfft(x[:4] * 1).pow(3).sum(),
    d(6),
)


# ---- convolution -----------------------------------------------------------------------------
def _conv(name: str, call, *specs: Arr) -> None:
    row(name, lambda m, *ts: (call(m.nn.functional, *ts).tanh() ** 2).sum(), *specs)


_conv("conv1d", lambda F, x, w, b: F.conv1d(x, w, b, 2, 1), d(2, 2, 7), d(3, 2, 3), d(3))
_conv(
    "conv2d_same_dilated_groups",
    lambda F, x, w: F.conv2d(x, w, padding="same", dilation=(1, 2), groups=2),
    d(1, 4, 5, 5),
    d(4, 2, 2, 3),
)
_conv(
    "conv2d_channels_last",
    lambda F, x, w: F.conv2d(x, w, padding=1),
    d(1, 16, 3, 3),
    d(2, 16, 2, 2),
)
_conv("conv3d", lambda F, x, w: F.conv3d(x, w, stride=2), d(1, 1, 4, 3, 4), d(2, 1, 2, 2, 2))
_conv(
    "conv_transpose1d",
    lambda F, x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2),
    d(2, 4, 3),
    d(4, 1, 3),
    d(2),
)
_conv(
    "conv_transpose2d",
    lambda F, x, w: F.conv_transpose2d(x, w, stride=(2, 1), dilation=(1, 2)),
    d(1, 2, 3, 2),
    d(2, 3, 2, 2),
)
_conv("unfold", lambda F, x: F.unfold(x, (2, 3), padding=1, stride=2), d(2, 2, 4, 5))
_conv("fold", lambda F, c: F.fold(c, (4, 5), (2, 3), padding=1, stride=2), d(2, 12, 9))


# ---- pooling -----------------------------------------------------------------------------------
def _pool(name: str, call, spec: Arr) -> None:
    row(name, lambda m, x: (call(m.nn.functional, x).sin() * 2).pow(2).sum(), spec)


_pool("max_pool2d", lambda F, x: F.max_pool2d(x, 2), d(1, 2, 4, 4))
_pool("max_pool1d_overlap_ceil", lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), d(2, 2, 8))
_pool(
    "max_pool2d_dilated_indices",
    lambda F, x: F.max_pool2d(x, 2, 1, dilation=2, return_indices=True)[0],
    d(1, 1, 5, 5),
)
_pool("avg_pool2d", lambda F, x: F.avg_pool2d(x, 3, 2, 1), d(1, 2, 5, 5))
_pool(
    "avg_pool1d_exclude_pad",
    lambda F, x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    d(2, 2, 6),
)
_pool("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)), d(1, 2, 5, 4))
_pool("global_avg_pool", lambda F, x: F.adaptive_avg_pool2d(x, 1), d(2, 2, 3, 3))
_pool("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 3), d(2, 2, 7))


def _unpool(m, x):
    ind = m.nn.functional.max_pool2d(m.arange(32.0).reshape(1, 2, 4, 4), 2, return_indices=True)[1]
    return (m.nn.functional.max_unpool2d(x, ind, 2).sin() ** 2).sum()


row("max_unpool2d", _unpool, d(1, 2, 2, 2))


# ---- resampling, index padding, bilinear -------------------------------------------------------
def _sq(name: str, call, *specs: Arr) -> None:
    row(name, lambda m, *ts: (call(m.nn.functional, *ts).sin() ** 2).sum(), *specs)


_sq(
    "interpolate_nearest", lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest"), d(1, 1, 3)
)
_sq(
    "interpolate_bilinear",
    lambda F, x: F.interpolate(x, size=(4, 5), mode="bilinear", align_corners=False),
    d(1, 2, 3, 3),
)
_sq(
    "interpolate_bicubic",
    lambda F, x: F.interpolate(x, size=(5, 4), mode="bicubic", align_corners=True),
    d(1, 1, 3, 3),
)
_sq("pad_reflect", lambda F, x: F.pad(x, (2, 1), mode="reflect"), d(1, 2, 4))
_sq("pad_replicate", lambda F, x: F.pad(x, (1, 2, 2, 0), mode="replicate"), d(1, 1, 3, 3))
_sq("pad_circular_crop", lambda F, x: F.pad(x, (2, -1), mode="circular"), d(1, 2, 4))
_sq("bilinear", lambda F, a, b, w, c: F.bilinear(a, b, w, c), d(2, 3), d(2, 2), d(4, 3, 2), d(4))


# ---- attention --------------------------------------------------------------------------------
_sq(
    "sdpa",
    lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v),
    d(2, 3, 4),
    d(2, 5, 4),
    d(2, 5, 3),
)
_sq(
    "sdpa_mask_causal",
    lambda F, q, k, v, mk: (
        F.scaled_dot_product_attention(q, k, v, attn_mask=mk)
        + F.scaled_dot_product_attention(q, k[:, :3], v[:, :3], is_causal=True, scale=0.7)
    ),
    d(1, 3, 2),
    d(1, 4, 2),
    d(1, 4, 2),
    d(3, 4),
)
row(
    "multi_head_attention_weights",
    lambda m, x, wi, wo: sum((t.sin() ** 2).sum() for t in _mha(m, x, wi, wo)),
    d(3, 2, 4),
    d(12, 4),
    d(4, 4),
)


row(
    "cummax_cummin",
    lambda m, x: (x.cummax(1).values ** 3).sum() + (x.cummin(0)[0] ** 2).sum(),
    d(3, 4),
)
row(
    "index_fill",
    lambda m, x, v: (x.index_fill(1, _idx(m, 0, 2), v) ** 3).sum() + v**2,
    d(2, 3),
    d(),
)
row("module_backward_hook", lambda m, x: (hooked_tanh(m)(x * x) ** 2).sum(), d(2, 3))


def _inplace_and_views(m, x):
    y = x * 1
    y.mul_(x)
    y.add_(x**3)
    y.sin_()
    z = y * 1
    z[0] = x[1] * x[2]
    z[1:] *= x[:2]
    return (z.unsqueeze(0).expand(2, 3).reshape(6)[1:5] ** 2).sum()


row("inplace_and_views", _inplace_and_views, d(3))


# ---- recurrent layers: nn.RNN/LSTM/GRU with the weights given as tensors -----------------------
def _recurrent(name: str, mode: str, **kw) -> None:
    """A row running ``nn.<mode>(3, 3, **kw)`` (T=3, batch 2) with its parameters replaced by
    the row's tensors (torch.func/ember.func ``functional_call``)."""
    shapes = [p.shape for _, p in getattr(torch.nn, mode)(3, 3, **kw).named_parameters()]
    n_h = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    lstm = mode == "LSTM"
    p = kw.get("proj_size", 0) or 3

    def fn(m, x, *states_and_weights):
        mod = getattr(m.nn, mode)(3, 3, **kw).double()
        names = [n for n, _ in mod.named_parameters()]
        hx = tuple(states_and_weights[:2]) if lstm else states_and_weights[0]
        ws = states_and_weights[2:] if lstm else states_and_weights[1:]
        out, hn = m.func.functional_call(mod, dict(zip(names, ws)), (x, hx))
        last = (hn[0] ** 2).sum() + (hn[1] ** 3).sum() if lstm else (hn**2).sum()
        return (out.sin() ** 2).sum() + last

    states = (_unit(n_h, 2, p), _unit(n_h, 2, 3)) if lstm else (_unit(n_h, 2, 3),)
    row(name, fn, _unit(3, 2, 3), *states, *(_unit(*s) for s in shapes))


_recurrent("rnn_tanh", "RNN")
_recurrent("rnn_relu_bidirectional", "RNN", nonlinearity="relu", bidirectional=True)
_recurrent("lstm", "LSTM")
_recurrent("lstm_proj_two_layers", "LSTM", num_layers=2, proj_size=2)
_recurrent("gru", "GRU")
_recurrent("gru_bidirectional_two_layers", "GRU", num_layers=2, bidirectional=True, bias=False)


def _run(lib, fn, arrays, v_arrays):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    gs = lib.autograd.grad(out, xs, create_graph=True)
    total = sum((g * lib.tensor(v)).sum() for g, v in zip(gs, v_arrays) if g.requires_grad)
    if not isinstance(total, (ember.Tensor, torch.Tensor)):
        hs = [None] * len(xs)  # every first derivative is a constant
    else:
        hs = lib.autograd.grad(total, xs, allow_unused=True)
    return out, gs, hs


@pytest.mark.parametrize("fn, specs", ROWS)
def test_hessian_vector_product_matches_torch(fn, specs):
    arrays = [s.make(seed=k + 5) for k, s in enumerate(specs)]
    rng = np.random.default_rng(1)
    vs = [rng.uniform(-1, 1, a.shape) for a in arrays]
    eo, eg, eh = _run(ember, fn, arrays, vs)
    to, tg, th = _run(torch, fn, arrays, vs)
    assert_close(eo, to.detach(), rtol=1e-9, atol=1e-10)
    for e, t in zip(eg, tg):
        assert_close(e.detach(), t.detach(), rtol=1e-9, atol=1e-10)
        assert e.requires_grad == t.requires_grad
    for e, t in zip(eh, th):
        if t is None:
            assert e is None or not e.numpy().any()
        else:
            assert e is not None, "ember found no second derivative where torch has one"
            assert_close(e, t, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fn, specs", ROWS)
def test_float32_second_derivatives_keep_float32_like_torch(fn, specs):
    arrays = [s.make(seed=k + 5).astype(np.float32) for k, s in enumerate(specs)]
    vs = [np.ones(a.shape, np.float32) for a in arrays]
    _, _, eh = _run(ember, fn, arrays, vs)
    _, _, th = _run(torch, fn, arrays, vs)
    for e, t in zip(eh, th):
        if t is not None:
            # atol also scales with the result: float32 rounding in either library is relative
            # to the largest terms (multi-head attention's Hessian-vector products reach ~340 and
            # both libraries are ~1.5e-3 off float64 there, so a small entry may differ by more
            # than 1e-4 while ember is as close to float64 as PyTorch).
            scale = float(t.detach().abs().max()) if t.numel() else 0.0
            assert_close(e, t, rtol=1e-3, atol=1e-4 + 1e-5 * scale)  # dtype included


@pytest.mark.parametrize("order", [3, 4])
def test_derivatives_to_any_order(order):
    a = np.linspace(-1, 1, 5)
    results = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        y = (x.sin() * x.exp() + x.tanh() ** 3).sum()
        for _ in range(order):
            (y,) = m.autograd.grad(y, x, create_graph=True)
            y = y.sum()
        results.append(y.item())
    assert results[0] == pytest.approx(results[1], rel=1e-10)


CONSTANT_GRADIENTS = {
    "mean": lambda m, x, c: x.mean(),
    "sum_keepdim": lambda m, x, c: x.sum(0, keepdim=True).sum(),
    "times_constant": lambda m, x, c: (x * c).sum(),
    "divided_by_constant": lambda m, x, c: (x / c).mean(),
    "square": lambda m, x, c: (x * x).sum(),  # saves x: its gradient is on the graph
}


@pytest.mark.parametrize("name", sorted(CONSTANT_GRADIENTS))
def test_create_graph_gradients_of_constants_are_constants_like_torch(name):
    # A formula that reads only constants (the root's gradient, inputs without grad) gives a
    # constant under create_graph (computed on arrays, ops/_util._constant_result).
    a = np.random.default_rng(2).uniform(0.5, 2, (2, 3))
    res = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        (g,) = m.autograd.grad(
            CONSTANT_GRADIENTS[name](m, x, m.tensor(a[::-1].copy())), x, create_graph=True
        )
        res.append(g)
    assert res[0].requires_grad == res[1].requires_grad
    assert_close(res[0].detach(), res[1].detach(), rtol=1e-12, atol=0)


def test_mlp_input_derivatives_to_third_order():
    # A PINN's derivatives d^k u / dx^k through Linear, tanh and sigmoid layers: each order
    # differentiates the previous order's LinearBackward / TanhBackward / SigmoidBackward ops.
    g = np.random.default_rng(3)
    w1, b1, w2 = g.standard_normal((6, 1)), g.standard_normal(6), g.standard_normal((1, 6))
    results = []
    for m in (ember, torch):
        x = m.tensor(np.linspace(-1, 1, 7).reshape(-1, 1), requires_grad=True)
        F = m.nn.functional
        u = F.linear(F.linear(x, m.tensor(w1), m.tensor(b1)).tanh().sigmoid(), m.tensor(w2))
        ds = []
        for _ in range(3):
            (u,) = m.autograd.grad(u, x, m.ones_like(u), create_graph=True)
            ds.append(u.detach().numpy())
        results.append(ds)
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_tanh_mlp_input_derivatives_to_fourth_order():
    # Each order differentiates the previous one's TanhBackward and ScaledProduct ops (tanh's
    # second derivative -2 gg g y is one ScaledProduct, whose derivatives are ScaledProducts).
    g = np.random.default_rng(4)
    w1, b1 = g.standard_normal((5, 1)), g.standard_normal(5)
    w2, w3 = g.standard_normal((4, 5)), g.standard_normal((1, 4))
    results = []
    for m in (ember, torch):
        x = m.tensor(np.linspace(-1, 1, 6).reshape(-1, 1), requires_grad=True)
        F = m.nn.functional
        h = F.linear(F.linear(x, m.tensor(w1), m.tensor(b1)).tanh(), m.tensor(w2)).tanh()
        u = F.linear(h, m.tensor(w3))
        ds = []
        for _ in range(4):
            (u,) = m.autograd.grad(u, x, m.ones_like(u), create_graph=True)
            ds.append(u.detach().numpy())
        results.append(ds)
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def _accumulate(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    has_graph = first.grad_fn is not None
    (x**2).sum().backward(create_graph=True)  # .grad = .grad + new, a new tensor with a graph
    replaced = x.grad is not first
    (g2,) = m.autograd.grad(x.grad.sum(), x)
    return has_graph, replaced, x.grad.detach().tolist(), g2.tolist()


def test_backward_create_graph_accumulates_with_graph_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _accumulate(ember) == _accumulate(torch)


def test_backward_create_graph_warns_like_torch():
    ember.autograd._CYCLE_WARNED = False
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="Using backward\\(\\) with create_graph=True") as rec:
        (x * x).sum().backward(create_graph=True)
    assert "reference cycle between the parameter and its gradient" in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only, as torch's TORCH_WARN_ONCE
        (x * x).sum().backward(create_graph=True)
        ember.autograd.grad((x * x).sum(), x, create_graph=True)  # autograd.grad never warns


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_retain_graph_defaults_to_create_graph(m):
    x = m.tensor([0.5, 1.5], requires_grad=True)
    y = (x.exp() * x).sum()
    m.autograd.grad(y, x, create_graph=True)
    y.backward()  # the graph was kept
    with pytest.raises(RuntimeError, match="second time"):
        m.autograd.grad(y, x, create_graph=True, retain_graph=False)
        y.backward()


def _grad_outputs_with_graph(m):
    # The double-backward trick: the gradient is linear in grad_outputs, differentiate it.
    x = m.tensor([0.3, -0.7, 1.1], requires_grad=True)
    u = m.zeros(3, requires_grad=True)
    y = x.sin() * x
    (g,) = m.autograd.grad(y, x, grad_outputs=u, create_graph=True)
    (j,) = m.autograd.grad(g, u, grad_outputs=m.ones(3))
    return j.tolist()


def test_grad_outputs_that_require_grad_keep_their_graph():
    assert _grad_outputs_with_graph(ember) == pytest.approx(_grad_outputs_with_graph(torch))


def _hooks_under_create_graph(m):
    seen = []
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: seen.append((g.requires_grad, m.is_grad_enabled())))
    (y * x).sum().backward(create_graph=True)
    return seen


def test_hooks_see_gradients_with_graph_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _hooks_under_create_graph(ember) == _hooks_under_create_graph(torch)


def _node_hooks_and_retain_grad(m):
    x = m.tensor([0.4, -0.9], dtype=m.float64, requires_grad=True)
    y = x.sin() * x
    y.retain_grad()
    z = y * y
    z.grad_fn.register_hook(lambda gi, go: (gi[0] * 2, gi[1] * 3))
    z.grad_fn.register_prehook(lambda go: (go[0] + 1,))
    z.sum().backward(create_graph=True)
    (h,) = m.autograd.grad(x.grad.sum(), x)
    return x.grad.detach().tolist(), h.tolist(), y.grad.tolist(), y.grad.requires_grad


def test_node_hooks_and_retain_grad_under_create_graph_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = _node_hooks_and_retain_grad(ember), _node_hooks_and_retain_grad(torch)
    for a, b in zip(e[:3], t[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert e[3] == t[3]


def _custom_function(m, once: bool):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    if once:
        Cube.backward = staticmethod(m.autograd.function.once_differentiable(Cube.backward))
    x = m.tensor([0.5, -1.5], requires_grad=True)
    (g,) = m.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    return x, g


def test_custom_function_backward_is_differentiable_like_torch():
    res = []
    for m in (ember, torch):
        x, g = _custom_function(m, once=False)
        (h,) = m.autograd.grad(g.sum(), x)
        res.append((g.detach().tolist(), h.tolist()))
    assert res[0] == res[1]


def test_once_differentiable_raises_torchs_error():
    for m in (ember, torch):
        x, g = _custom_function(m, once=True)
        assert g.grad_fn is None  # the seed did not require grad: a plain result, as torch
        v = m.ones(2, requires_grad=True)

        class Sq(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            @m.autograd.function.once_differentiable
            def backward(ctx, gr):
                (a,) = ctx.saved_tensors
                return 2 * a * gr

        (g,) = m.autograd.grad(Sq.apply(x), x, grad_outputs=v, create_graph=True)
        with pytest.raises(RuntimeError) as err:
            g.sum().backward()
        assert str(err.value) == (
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def test_create_graph_gradients_equal_first_order_ones():
    a = np.random.default_rng(3).uniform(-1, 1, (4, 5))
    x = ember.tensor(a, requires_grad=True)
    w = ember.tensor(a.T.copy(), requires_grad=True)

    def f():
        return ((x @ w).softmax(1) * x.sum(1, keepdim=True)).logsumexp(0).sum()

    first = ember.autograd.grad(f(), [x, w])
    graph = ember.autograd.grad(f(), [x, w], create_graph=True)
    for p, q in zip(first, graph):
        assert q.grad_fn is not None
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
