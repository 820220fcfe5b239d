"""scaled_dot_product_attention and MultiheadAttention against PyTorch: outputs, attention weights
and the gradients of the inputs, masks and every parameter (weights copied from ember)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import attention as A
from tests.parity import assert_close, check_op, copy_weights, num_threads, rand_array

RTOL, ATOL = 1e-5, 1e-5
GRTOL, GATOL = 1e-4, 2e-5


# ---- scaled_dot_product_attention ---------------------------------------------------------
def _bool_mask(shape, seed, p=0.3):
    return np.random.default_rng(seed).random(shape) > p


SDPA_CASES = [
    # q, k, v shapes, kwargs, extra (mask array or None)
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}, None),
    ((4, 8), (5, 8), (5, 8), {}, None),
    ((2, 4, 8), (2, 4, 8), (2, 4, 8), {"is_causal": True}, None),
    ((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), {"is_causal": True}, None),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"scale": 0.3}, None),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}, "bool"),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}, "float"),
    ((2, 3, 4, 8), (1, 1, 5, 8), (1, 1, 5, 8), {}, None),  # broadcast batch dims
    ((2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"enable_gqa": True}, None),
    ((2, 4, 3, 8), (2, 1, 5, 8), (2, 1, 5, 4), {"enable_gqa": True}, "bool"),
]


@pytest.mark.parametrize("qs,ks,vs,kwargs,mask", SDPA_CASES)
def test_sdpa_matches_torch(qs, ks, vs, kwargs, mask):
    q, k, v = rand_array(qs, seed=1), rand_array(ks, seed=2), rand_array(vs, seed=3)
    L, S = qs[-2], ks[-2]
    if mask is None:
        check_op(
            lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kwargs),
            lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, **kwargs),
            q, k, v, rtol=RTOL, atol=ATOL, grad_rtol=GRTOL, grad_atol=GATOL,
        )  # fmt: skip
        return
    m = _bool_mask((L, S), 4) if mask == "bool" else rand_array((qs[-3], L, S), seed=5)
    # The float mask requires grad in both libraries: its gradient is compared too.
    check_op(
        lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d, **kwargs),
        lambda a, b, c, d: TF.scaled_dot_product_attention(a, b, c, attn_mask=d, **kwargs),
        q, k, v, m, rtol=RTOL, atol=ATOL, grad_rtol=GRTOL, grad_atol=GATOL,
    )  # fmt: skip


def test_sdpa_fully_masked_rows_give_zeros_as_torch():
    q, k, v = rand_array((2, 4, 8), seed=1), rand_array((2, 5, 8), seed=2), rand_array((2, 5, 3))
    m = _bool_mask((2, 4, 5), 7)
    m[0, 1] = False
    m[1, 3] = False
    check_op(
        lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d),
        lambda a, b, c, d: TF.scaled_dot_product_attention(a, b, c, attn_mask=d),
        q, k, v, m, rtol=RTOL, atol=ATOL, grad_rtol=GRTOL, grad_atol=GATOL,
    )  # fmt: skip
    out = F.scaled_dot_product_attention(*(ember.tensor(a) for a in (q, k, v)), ember.tensor(m))
    assert np.all(out.numpy()[0, 1] == 0)


def test_sdpa_float64():
    q, k, v = (rand_array((3, 4, 5), np.float64, seed=s) for s in (1, 2, 3))
    check_op(
        lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
        lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, is_causal=True),
        q, k, v, rtol=1e-12, atol=1e-12, grad_rtol=1e-10, grad_atol=1e-12,
    )  # fmt: skip


def test_sdpa_dropout_statistics():
    """With uniform scores and v = I, each output entry is keep / (S * (1 - p))."""
    p, S = 0.4, 64
    q = ember.zeros(8, 32, 4)
    k = ember.zeros(8, S, 4)
    v = ember.tensor(np.tile(np.eye(S, dtype=np.float32), (8, 1, 1)), requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    vals = out.detach().numpy()
    zero = vals == 0
    assert abs(zero.mean() - p) < 0.02
    np.testing.assert_allclose(vals[~zero], 1 / (S * (1 - p)), rtol=1e-5)
    # The gradient flows through the same mask: d(sum out)/dv[j] = sum_i keep_ij / (S (1-p)).
    out.sum().backward()
    expected = (~zero).sum(axis=1) / (S * (1 - p))
    np.testing.assert_allclose(v.grad.numpy()[:, :, 0], expected, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"attn_mask": np.ones((4, 5), bool), "is_causal": True},
            "Explicit attn_mask should not be set when is_causal=True",
        ),
        ({"attn_mask": np.ones((3, 5), bool)}, "must match the size of tensor b"),
        ({"attn_mask": np.ones((4, 5), np.int64)}, "Expected attn_mask dtype to be bool or float"),
    ],
)
def test_sdpa_mask_errors(kwargs, match):
    q, k, v = np.zeros((2, 3, 4, 8), np.float32), np.zeros((2, 3, 5, 8), np.float32), None
    v = np.zeros((2, 3, 5, 6), np.float32)
    for lib, fn in ((ember, F), (torch, TF)):
        kw = {n: lib.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kwargs.items()}
        with pytest.raises(RuntimeError, match=match):
            fn.scaled_dot_product_attention(lib.tensor(q), lib.tensor(k), lib.tensor(v), **kw)


def test_sdpa_other_errors():
    q, k = ember.zeros(2, 4, 8), ember.zeros(2, 5, 8)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k, ember.zeros(2, 5, 8, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="same embedding size"):
        F.scaled_dot_product_attention(q, ember.zeros(2, 5, 7), ember.zeros(2, 5, 8))
    with pytest.raises(RuntimeError, match="same sequence length"):
        F.scaled_dot_product_attention(q, k, ember.zeros(2, 4, 8))
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide"):
        F.scaled_dot_product_attention(
            ember.zeros(1, 3, 4, 8), ember.zeros(1, 2, 5, 8), ember.zeros(1, 2, 5, 8),
            enable_gqa=True,
        )  # fmt: skip
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        F.scaled_dot_product_attention(
            ember.zeros(1, 3, 4, 8), ember.zeros(1, 2, 5, 8), ember.zeros(1, 2, 5, 8)
        )


# ---- gradcheck of the fused primitives ----------------------------------------------------
def _t64(rng, *shape, rg=True):
    return ember.tensor(rng.standard_normal(shape), requires_grad=rg)


@pytest.mark.parametrize("with_weights", [False, True])
def test_gradcheck_attention(with_weights):
    rng = np.random.default_rng(0)
    q, k, v = _t64(rng, 2, 3, 4), _t64(rng, 2, 5, 4), _t64(rng, 2, 5, 3)
    mask = _t64(rng, 3, 5)
    keep = (rng.random((2, 3, 5)) > 0.3) / 0.7
    prim = A.AttentionWithWeights if with_weights else A.Attention
    assert gradcheck(lambda a, b, c, m: prim.apply(a, b, c, m, 0.7, None, True), (q, k, v, mask))
    assert gradcheck(lambda a, b, c: prim.apply(a, b, c, None, 0.5, keep, False), (q, k, v))
    # Broadcast batch dimension of k/v.
    k1, v1 = _t64(rng, 1, 5, 4), _t64(rng, 1, 5, 3)
    assert gradcheck(lambda a, b, c: prim.apply(a, b, c, None, 0.5, None, True), (q, k1, v1))


@pytest.fixture
def split_everything(monkeypatch):
    """Every attention pass cut into per-core chunks along its first batch axis (3 threads)."""
    from ember.ops import _parallel

    before = ember.get_num_threads()
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    ember.set_num_threads(3)
    yield
    ember.set_num_threads(before)


@pytest.mark.parametrize("qs,ks,vs,kwargs,mask", SDPA_CASES)
def test_sdpa_cut_into_chunks_matches_torch(split_everything, qs, ks, vs, kwargs, mask):
    test_sdpa_matches_torch(qs, ks, vs, kwargs, mask)


@pytest.mark.parametrize("with_weights", [False, True])
def test_gradcheck_attention_cut_into_chunks(split_everything, with_weights):
    test_gradcheck_attention(with_weights)
    rng = np.random.default_rng(1)  # a per-batch mask and dropout multiplier, cut with the rows
    q, k, v = _t64(rng, 4, 3, 2), _t64(rng, 4, 5, 2), _t64(rng, 4, 5, 3)
    mask, keep = _t64(rng, 4, 3, 5), (rng.random((4, 3, 5)) > 0.3) / 0.7
    prim = A.AttentionWithWeights if with_weights else A.Attention
    assert gradcheck(lambda a, b, c, m: prim.apply(a, b, c, m, 0.6, keep, True), (q, k, v, mask))


# ---- MultiheadAttention -------------------------------------------------------------------
def _mha_pair(*args, **kwargs):
    e = ember.nn.MultiheadAttention(*args, **kwargs)
    t = torch.nn.MultiheadAttention(*args, **kwargs)
    copy_weights(e, t)
    return e, t


def _leaf(arr):
    return ember.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


E_DIM, HEADS = 8, 2

MHA_CASES = [
    # module kwargs, call kwargs, (L, N, S) or unbatched (L, S) when N is None, self-attention,
    # masks: name -> "bool" | "float"
    ({}, {}, (4, 3, 5), False, {}),
    ({}, {"need_weights": False}, (4, 3, 5), False, {}),
    ({}, {"average_attn_weights": False}, (4, 3, 4), True, {}),
    ({"bias": False}, {}, (4, 3, 4), True, {}),
    ({"batch_first": True}, {}, (4, 3, 5), False, {}),
    ({"batch_first": True}, {"need_weights": False}, (4, 3, 4), True, {"attn_mask": "bool"}),
    ({"kdim": 6, "vdim": 5}, {}, (4, 3, 5), False, {}),
    ({"kdim": 6, "vdim": 5, "batch_first": True}, {"need_weights": False}, (4, 3, 5), False, {}),
    ({"add_bias_kv": True}, {}, (4, 3, 5), False, {"key_padding_mask": "bool"}),
    ({"add_zero_attn": True}, {}, (4, 3, 5), False, {"attn_mask": "bool"}),
    ({}, {}, (4, 3, 5), False, {"attn_mask": "bool", "key_padding_mask": "bool"}),
    (
        {},
        {"need_weights": False},
        (4, 3, 5),
        False,
        {"attn_mask": "bool", "key_padding_mask": "bool"},
    ),
    ({}, {}, (4, 3, 5), False, {"attn_mask": "float", "key_padding_mask": "float"}),
    ({}, {}, (4, 3, 5), False, {"attn_mask": "float3d"}),
    ({}, {"is_causal": True}, (4, 3, 4), True, {"attn_mask": "causal"}),
    ({}, {"is_causal": True, "need_weights": False}, (4, 3, 4), True, {"attn_mask": "causal"}),
    # Self-attention's one-GEMM projection split into heads without copies, with every mask.
    (
        {"batch_first": True},
        {},
        (4, 3, 4),
        True,
        {"attn_mask": "float3d", "key_padding_mask": "bool"},
    ),
    (
        {"batch_first": True},
        {"need_weights": False},
        (4, 3, 4),
        True,
        {"key_padding_mask": "float"},
    ),
    ({}, {"average_attn_weights": False}, (4, 3, 4), True, {"attn_mask": "float"}),
    ({"add_bias_kv": True}, {}, (4, 3, 4), True, {"key_padding_mask": "bool"}),
    ({"add_zero_attn": True}, {"need_weights": False}, (4, 3, 4), True, {"attn_mask": "bool"}),
    ({}, {}, (4, None, 4), True, {"attn_mask": "float3d"}),
    ({}, {}, (4, None, 5), False, {"key_padding_mask": "bool"}),
    ({}, {"need_weights": False}, (4, None, 4), True, {"attn_mask": "float3d"}),
    ({"dropout": 0.5}, {}, (4, 3, 5), False, {}),  # eval(): no dropout, equal to torch
]


def _mask(kind, name, L, N, S, seed):
    rng = np.random.default_rng(seed)
    if name == "key_padding_mask":
        shape = (S,) if N is None else (N, S)
        if kind == "bool":
            m = rng.random(shape) < 0.3
            m[..., 0] = False  # keep one key per row so no row is fully masked
            return m
        return rng.standard_normal(shape).astype(np.float32)
    if kind == "causal":
        return np.triu(np.ones((L, S), bool), 1)
    if kind == "bool":
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False
        return m
    if kind == "float3d":
        return rng.standard_normal(((N or 1) * HEADS, L, S)).astype(np.float32)
    return rng.standard_normal((L, S)).astype(np.float32)


# (Both libraries warn for mixed boolean/float masks; the warning is torch's, checked elsewhere.)
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("mod_kw,call_kw,dims,self_attn,masks", MHA_CASES)
def test_mha_matches_torch(mod_kw, call_kw, dims, self_attn, masks):
    e, t = _mha_pair(E_DIM, HEADS, **mod_kw)
    if mod_kw.get("dropout"):
        e.eval()
        t.eval()
    L, N, S = dims
    bf = mod_kw.get("batch_first", False) and N is not None

    def shape(n, d):
        if N is None:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)

    rng = np.random.default_rng(0)
    eq, tq = _leaf(rng.standard_normal(shape(L, E_DIM)).astype(np.float32))
    leaves = [(eq, tq)]
    if self_attn:
        ek = ev = eq
        tk = tv = tq
    else:
        ek, tk = _leaf(rng.standard_normal(shape(S, mod_kw.get("kdim", E_DIM))).astype(np.float32))
        ev, tv = _leaf(rng.standard_normal(shape(S, mod_kw.get("vdim", E_DIM))).astype(np.float32))
        leaves += [(ek, tk), (ev, tv)]
    em, tm = {}, {}
    for i, (name, kind) in enumerate(masks.items()):
        arr = _mask(kind, name, L, N, S, seed=10 + i)
        em[name], tm[name] = ember.tensor(arr), torch.tensor(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t, w_t = t(tq, tk, tv, **tm, **call_kw)
    out_e, w_e = e(eq, ek, ev, **em, **call_kw)
    assert_close(out_e, out_t, RTOL, ATOL, what="output")
    if w_t is None:
        assert w_e is None
    else:
        assert_close(w_e, w_t, RTOL, 1e-6, what="weights")
    g = np.random.default_rng(1)
    roots_e, roots_t, ge, gt = [out_e], [out_t], [], []
    up = g.standard_normal(tuple(out_t.shape)).astype(np.float32)
    ge.append(ember.tensor(up))
    gt.append(torch.tensor(up))
    if w_t is not None:
        upw = g.standard_normal(tuple(w_t.shape)).astype(np.float32)
        roots_e.append(w_e)
        roots_t.append(w_t)
        ge.append(ember.tensor(upw))
        gt.append(torch.tensor(upw))
    ember.autograd.backward(roots_e, ge)
    torch.autograd.backward(roots_t, gt)
    for i, (le, lt) in enumerate(leaves):
        assert_close(le.grad, lt.grad, GRTOL, GATOL, what=f"grad of input {i}")
    named_t = dict(t.named_parameters())
    assert [n for n, _ in e.named_parameters()] == list(named_t)
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, GRTOL, GATOL, what=f"grad of {n}")


@pytest.mark.parametrize("mod_kw,call_kw,dims,self_attn,masks", MHA_CASES[-6:])
def test_mha_cut_into_chunks_matches_torch(
    split_everything, mod_kw, call_kw, dims, self_attn, masks
):
    test_mha_matches_torch(mod_kw, call_kw, dims, self_attn, masks)


def test_mha_float_mask_gradient_matches_torch():
    e, t = _mha_pair(E_DIM, HEADS)
    x = np.random.default_rng(0).standard_normal((4, 2, E_DIM)).astype(np.float32)
    m = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    em, tm = _leaf(m)
    ex, tx = ember.tensor(x), torch.tensor(x)
    oe, we = e(ex, ex, ex, attn_mask=em)
    ot, wt = t(tx, tx, tx, attn_mask=tm)
    (oe.sum() + (we * we).sum()).backward()
    (ot.sum() + (wt * wt).sum()).backward()
    assert_close(em.grad, tm.grad, GRTOL, GATOL)


def test_mha_fully_masked_rows_nan_with_weights_zero_without_as_torch():
    e, t = _mha_pair(E_DIM, HEADS)
    x = np.random.default_rng(0).standard_normal((3, 2, E_DIM)).astype(np.float32)
    kpm = np.array([[False, False, False], [True, True, True]])
    for need in (True, False):
        oe, _ = e(*(ember.tensor(x),) * 3, key_padding_mask=ember.tensor(kpm), need_weights=need)
        with torch.no_grad():
            ot, _ = t(
                *(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(kpm), need_weights=need
            )
        a, b = oe.detach().numpy(), ot.numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(b), rtol=RTOL, atol=ATOL)


def test_mha_state_dict_repr_and_init_match_torch():
    for kw in ({}, {"kdim": 6, "vdim": 5}, {"bias": False, "add_bias_kv": True}):
        e = ember.nn.MultiheadAttention(E_DIM, HEADS, **kw)
        t = torch.nn.MultiheadAttention(E_DIM, HEADS, **kw)
        se, st = e.state_dict(), t.state_dict()
        assert list(se) == list(st)
        assert all(tuple(se[k].shape) == tuple(st[k].shape) for k in st)
        assert repr(e) == repr(t)
    e = ember.nn.MultiheadAttention(E_DIM, HEADS)
    assert repr(e.out_proj) == (
        "NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)"
    )
    assert np.all(e.in_proj_bias.detach().numpy() == 0)
    assert np.all(e.out_proj.bias.detach().numpy() == 0)
    w = e.in_proj_weight.detach().numpy()
    bound = math.sqrt(6.0 / (E_DIM + 3 * E_DIM))  # xavier_uniform_ over (3E, E)
    assert np.all(np.abs(w) <= bound) and w.std() > bound / 4
    assert e._qkv_same_embed_dim and e.head_dim == 4


def test_mha_dropout_on_weights_in_training():
    p = 0.5
    e = ember.nn.MultiheadAttention(4, 1, dropout=p)
    x = ember.randn(32, 16, 4)
    _, w = e(x, x, x)
    _, w_ref = e.eval()(x, x, x)
    wt = w.detach().numpy()
    zero = wt == 0
    assert abs(zero.mean() - p) < 0.03
    np.testing.assert_allclose(wt[~zero], w_ref.detach().numpy()[~zero] / (1 - p), rtol=1e-5)


def test_mha_mismatched_mask_types_warn_as_torch():
    e = ember.nn.MultiheadAttention(E_DIM, HEADS)
    x = ember.randn(3, 2, E_DIM)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask"):
        e(
            x,
            x,
            x,
            key_padding_mask=ember.zeros(2, 3, dtype=ember.bool),
            attn_mask=ember.zeros(3, 3),
        )


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            {"attn_mask": (4, 4)},
            RuntimeError,
            r"The shape of the 2D attn_mask is .*, but should be",
        ),
        (
            {"attn_mask": (5, 4, 5)},
            RuntimeError,
            r"The shape of the 3D attn_mask is .*, but should be",
        ),
        (
            {"key_padding_mask": (3, 4)},
            AssertionError,
            r"Expected key_padded_mask.shape\[1\] to be 5",
        ),
        ({"is_causal": True}, RuntimeError, "Need attn_mask if specifying the is_causal hint"),
        ({"attn_mask_int": (4, 5)}, AssertionError, "only bool and floating types of attn_mask"),
        (
            {"attn_mask": (2, 3, 4, 5)},
            AssertionError,
            "expected `attn_mask` to be `None`, 2-D or 3-D",
        ),
    ],
)
def test_mha_errors_as_torch(call, exc, match):
    for lib in (ember, torch):
        m = lib.nn.MultiheadAttention(E_DIM, HEADS)
        q, kv = lib.zeros(4, 3, E_DIM), lib.zeros(5, 3, E_DIM)
        kw = {}
        for name, val in call.items():
            if name == "attn_mask_int":
                kw["attn_mask"] = lib.zeros(*val, dtype=lib.int64)
            elif isinstance(val, tuple):
                kw[name] = lib.zeros(*val, dtype=lib.bool)
            else:
                kw[name] = val
        with pytest.raises(exc, match=match):
            m(q, kv, kv, **kw)


def test_mha_constructor_and_shape_errors_as_torch():
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
            lib.nn.MultiheadAttention(10, 3)
        with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
            lib.nn.MultiheadAttention(0, 1)
        m = lib.nn.MultiheadAttention(E_DIM, HEADS)
        with pytest.raises(
            AssertionError, match="was expecting embedding dimension of 8, but got 6"
        ):
            m(lib.zeros(4, 3, 6), lib.zeros(4, 3, 6), lib.zeros(4, 3, 6))
        with pytest.raises(AssertionError, match="key shape .* does not match value shape"):
            m(lib.zeros(4, 3, 8), lib.zeros(5, 3, 8), lib.zeros(6, 3, 8))
        with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
            m(lib.zeros(4, 3, 8), lib.zeros(5, 8), lib.zeros(5, 8))


def test_mha_functional_form_matches_module():
    e = ember.nn.MultiheadAttention(E_DIM, HEADS)
    x = ember.randn(4, 2, E_DIM)
    out_m, w_m = e(x, x, x)
    out_f, w_f = F.multi_head_attention_forward(
        x, x, x, E_DIM, HEADS, e.in_proj_weight, e.in_proj_bias, None, None, False, 0.0,
        e.out_proj.weight, e.out_proj.bias,
    )  # fmt: skip
    assert_close([out_f, w_f], [out_m, w_m], 0, 0)


# ---- Transformer layers ---------------------------------------------------------------------
TRANSFORMER_CASES = [
    {},
    {"norm_first": True, "activation": "gelu", "batch_first": True},
    {"bias": False},
]


@pytest.mark.parametrize("kw", TRANSFORMER_CASES)
def test_transformer_encoder_matches_torch(kw):
    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, **kw)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(16))

    e = build(ember)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: enable_nested_tensor notes
        t = build(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    copy_weights(e, t)
    e.eval()
    t.eval()
    bf = kw.get("batch_first", False)
    x = np.random.default_rng(0).standard_normal((3, 5, 16) if bf else (5, 3, 16))
    ex, tx = _leaf(x.astype(np.float32))
    causal = np.triu(np.ones((5, 5), bool), 1)
    kpm = np.zeros((3, 5), bool)
    kpm[1, 4] = True
    oe = e(ex, mask=ember.tensor(causal), src_key_padding_mask=ember.tensor(kpm))
    ot = t(tx, mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(kpm))
    assert_close(oe, ot, 1e-4, 1e-5)
    up = np.random.default_rng(1).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(up)).sum().backward()
    (ot * torch.tensor(up)).sum().backward()
    assert_close(ex.grad, tx.grad, 1e-4, 1e-4)
    named_t = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-3, 1e-4, what=f"grad of {n}")


@pytest.mark.parametrize("kw", TRANSFORMER_CASES)
def test_transformer_decoder_layer_matches_torch(kw):
    e = ember.nn.TransformerDecoderLayer(16, 4, 32, **kw)
    t = torch.nn.TransformerDecoderLayer(16, 4, 32, **kw)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    copy_weights(e, t)
    e.eval()
    t.eval()
    bf = kw.get("batch_first", False)
    rng = np.random.default_rng(2)
    tgt = rng.standard_normal((2, 4, 16) if bf else (4, 2, 16)).astype(np.float32)
    mem = rng.standard_normal((2, 6, 16) if bf else (6, 2, 16)).astype(np.float32)
    (et, tt), (em, tm) = _leaf(tgt), _leaf(mem)
    causal = np.triu(np.ones((4, 4), bool), 1)
    mkpm = np.zeros((2, 6), bool)
    mkpm[0, 5] = True
    oe = e(et, em, tgt_mask=ember.tensor(causal), memory_key_padding_mask=ember.tensor(mkpm),
           tgt_is_causal=True)  # fmt: skip
    ot = t(tt, tm, tgt_mask=torch.tensor(causal), memory_key_padding_mask=torch.tensor(mkpm),
           tgt_is_causal=True)  # fmt: skip
    assert_close(oe, ot, 1e-4, 1e-5)
    oe.sum().backward()
    ot.sum().backward()
    assert_close([et.grad, em.grad], [tt.grad, tm.grad], 1e-4, 1e-4)
    named_t = dict(t.named_parameters())
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, 1e-3, 1e-4, what=f"grad of {n}")


def test_transformer_layer_dropout_and_errors():
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.randn(4, 2, 8)
    a, b = layer(x), layer(x)  # training: dropout active
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    layer.eval()
    assert_close(layer(x), layer(x), 0, 0)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            lib.nn.TransformerEncoderLayer(8, 2, activation="tanh")


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"mask": True}])
def test_sdpa_output_written_in_place_then_backward_as_torch(kw):
    # The backward reads its own copy of the output: an in-place write into the result is
    # allowed (as in PyTorch) and does not change the gradients.
    q = rand_array((2, 3, 4), seed=1)
    grads = []
    for lib, f in ((ember, F), (torch, TF)):
        a = lib.tensor(q, requires_grad=True)
        mask = _bool_mask((3, 3), 2)
        mask[:, 0] = True  # every row attends somewhere
        m = {"attn_mask": lib.tensor(mask)} if kw.get("mask") else {}
        o = f.scaled_dot_product_attention(
            a, a * 2, a * 3, is_causal=kw.get("is_causal", False), **m
        )
        o.mul_(2)
        (o * o).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=GRTOL, atol=1e-4)  # |grad| up to ~200


# ---- packed projections: q, k, v as views of one (L, N, 3 * E) array ------------------------
def _packed_views(lib, qkv, heads):
    """q, k, v ``(N, heads, L, E / heads)`` as views of the projections ``qkv (L, N, 3 * E)``."""
    n_l, n_b, width = qkv.shape
    parts = qkv.reshape(n_l, n_b, 3, heads, width // (3 * heads)).permute(2, 1, 3, 0, 4)
    return parts[0], parts[1], parts[2]


@pytest.mark.parametrize("chunks", [False, True])
def test_sdpa_on_packed_views_matches_torch(chunks, monkeypatch):
    # Views laid out as multi-head attention's packed projections: the output and gradients
    # are written in that layout (one array for the three gradients); values as PyTorch's.
    if chunks:
        from ember.ops import _parallel

        monkeypatch.setattr(_parallel, "MIN_WORK", 0)
        monkeypatch.setattr(_parallel, "SPLIT", True)
    data = rand_array((5, 3, 3 * 8), seed=3)
    w_out = rand_array((3, 2, 5, 4), seed=4)
    results = []
    for lib, f in ((ember, F), (torch, TF)):
        qkv = lib.tensor(data, requires_grad=True)
        out = f.scaled_dot_product_attention(*_packed_views(lib, qkv, 2), is_causal=True)
        (out * lib.tensor(w_out)).sum().backward()
        results.append((out.detach().numpy(), qkv.grad.numpy()))
    assert_close(results[0][0], results[1][0], RTOL, ATOL)
    assert_close(results[0][1], results[1][1], GRTOL, GATOL)


def test_gradcheck_attention_on_packed_views():
    x = _t64(np.random.default_rng(5), 4, 2, 3 * 6)

    def f(a):
        return F.scaled_dot_product_attention(*_packed_views(ember, a, 2))

    assert gradcheck(f, (x,))
    assert gradcheck(lambda a: A.SplitHeads.apply(a, 3, 3)[1] * 2, (x,))


def test_mha_self_attention_gradients_land_in_place(monkeypatch):
    # Self-attention's q, k, v gradients are written into one packed array, which SplitHeads
    # passes on without a copy; the parameter and input gradients are PyTorch's.
    seen = []
    real = A._packed_base
    monkeypatch.setattr(A, "_packed_base", lambda g, s: seen.append(real(g, s)) or seen[-1])
    mods = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.MultiheadAttention(8, 2, batch_first=True))
    copy_weights(*mods)
    # (the chain of nodes, not ops/_mha_block's single node)
    monkeypatch.setattr(type(mods[0]), "_fused_self_attention", lambda self, x: False)
    data = rand_array((3, 5, 8), seed=6)
    grads = []
    for lib, m in zip((ember, torch), mods):
        x = lib.tensor(data, requires_grad=True)
        out = m(x, x, x, need_weights=False)[0]
        (out * out).sum().backward()
        grads.append([x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    assert len(seen) == 1 and seen[0] is not None
    for a, b in zip(*grads):
        assert_close(a, b, GRTOL, GATOL)


def test_split_heads_gradient_changed_by_a_hook():
    # A hook that replaces q's gradient: the packed array no longer holds it, so SplitHeads
    # assembles the projections' gradient from the three it receives.
    data = rand_array((4, 2, 3 * 6), seed=7)
    grads = []
    for lib, f in ((ember, F), (torch, TF)):
        qkv = lib.tensor(data, requires_grad=True)
        q, k, v = _packed_views(lib, qkv, 2)
        if lib is ember:
            q, k, v = A.SplitHeads.apply(qkv, 3, 2)
        q.register_hook(lambda g: g * 3)
        f.scaled_dot_product_attention(q, k, v).pow(2).sum().backward()
        grads.append(qkv.grad.numpy())
    assert_close(grads[0], grads[1], GRTOL, GATOL)


# ---- the softmax's shift (ops/attention._shift) ---------------------------------------------
def test_softmax_shift_choice():
    s = np.array([[-5.0, 5.0], [1.0, 2.0]], np.float32)
    assert A._shift(s, (0.0, 0.0)) == 0.0  # within [-SPAN, HIGH]: no shift
    assert A._shift(s + 60, (0.0, 0.0)) == 65.0  # narrow but high: the maximum
    assert A._shift(s * 10, (0.0, 0.0)) is None  # wider than SPAN: row by row
    assert A._shift(s, (-70.0, 20.0)) is None  # the mask widens it
    assert A._shift(s, None) is None
    for bad in (np.nan, np.inf, -np.inf):
        assert A._shift(np.array([0.0, bad], np.float32), (0.0, 0.0)) is None
    inf = np.inf
    assert A._finite_range(None) == (0.0, 0.0)
    assert A._finite_range(np.array([0.0, -inf])) == (0.0, 0.0)  # a boolean mask
    assert A._finite_range(np.array([-inf, -inf])) == (0.0, 0.0)
    assert A._finite_range(np.array([-1e4, 0.5, -inf])) == (-1e4, 0.5)
    assert A._finite_range(np.array([0.0, np.nan])) is None
    assert A._finite_range(np.array([0.0, inf])) is None


def _scores_case(name, dtype):
    """q, k, v (batch 2, L 5, S 6, E 8) and a mask whose scores take the shift path ``name``."""
    rng = np.random.default_rng(3)
    q = rng.uniform(-1, 1, (2, 5, 8))
    k = rng.uniform(-1, 1, (2, 6, 8))
    v = rng.uniform(-2, 2, (2, 6, 3))
    mask = None
    if name == "high":  # scores ~ 8 * 3 * 3 = 72: one shift by the maximum
        q, k = q + 3, k + 3
    elif name == "wide":  # one row ~90 above the others (exp of the others would be subnormal)
        q[0, 2] = 12 + q[0, 2]
        k = k + 1
    elif name == "high_bool_mask":  # -inf entries (one row fully masked) with the high scores
        q, k = q + 3, k + 3
        mask = rng.random((2, 5, 6)) > 0.4
        mask[1, 3] = False
    elif name == "big_negative_mask":  # -1e4 as "masked": the row-wise shift
        mask = np.where(rng.random((5, 6)) > 0.4, 0.0, -1e4)
        mask[:, 0] = 0.0
    elif name == "float_mask":
        mask = rng.uniform(10, 60, (5, 6))  # up to ~65: one shift by the maximum
    cast = [a.astype(dtype) for a in (q, k, v)]
    if mask is not None and mask.dtype != np.bool_:
        mask = mask.astype(dtype)
    return (*cast, mask)


SHIFT_CASES = ["small", "high", "wide", "high_bool_mask", "big_negative_mask", "float_mask"]
SHIFT_PATH = {  # the shift the first chunk takes: 0.0 none, None row by row, else one value
    "small": 0.0,
    "high": "max",
    "wide": None,
    "high_bool_mask": "max",
    "big_negative_mask": None,
    "float_mask": "max",
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SHIFT_CASES)
def test_sdpa_each_softmax_shift_matches_torch(name, dtype):
    q, k, v, mask = _scores_case(name, dtype)
    s = q @ np.swapaxes(k, -1, -2)  # scale 1 below
    bounds = A._finite_range(None if mask is None else _float_mask(mask, dtype))
    want = SHIFT_PATH[name]
    got = A._shift(s, bounds)
    assert got == want if want != "max" else (got is not None and got > 0)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    grad_tol = {"grad_rtol": tol["rtol"] * 10, "grad_atol": tol["atol"] * 10}
    args = (q, k, v) if mask is None else (q, k, v, mask)
    check_op(
        lambda *a: F.scaled_dot_product_attention(*a[:3], attn_mask=_at(a), scale=1.0),
        lambda *a: TF.scaled_dot_product_attention(*a[:3], attn_mask=_at(a), scale=1.0),
        *args, **tol, **grad_tol,
    )  # fmt: skip


def _at(a):
    return a[3] if len(a) > 3 else None


def _float_mask(mask, dtype):
    if mask.dtype == np.bool_:
        return np.where(mask, 0.0, -np.inf).astype(dtype)
    return mask


@pytest.mark.parametrize("name", SHIFT_CASES)
def test_attention_weights_each_softmax_shift_match_torch(name):
    # The weights variant (plain softmax: fully masked rows are NaN, as PyTorch's MHA) against
    # PyTorch's composition, in float64.
    q, k, v, mask = _scores_case(name, np.float64)
    m = None if mask is None else _float_mask(mask, np.float64)

    def ours(a, b, c):
        return A.AttentionWithWeights.apply(a, b, c, m, 1.0, None, False)

    def theirs(a, b, c):
        s = a @ b.transpose(-1, -2) + (0 if m is None else torch.tensor(m))
        p = torch.softmax(s, -1)
        return p @ c, p

    check_op(ours, theirs, q, k, v, rtol=1e-10, atol=1e-12, grad_rtol=1e-9, grad_atol=1e-11)


def test_sdpa_inf_and_nan_scores_as_torch():
    q, k, v, _ = _scores_case("small", np.float32)
    q[0, 1, 2] = np.inf
    q[1, 0, 0] = np.nan
    for lib, fn in ((ember, F), (torch, TF)):
        out = fn.scaled_dot_product_attention(*(lib.tensor(a) for a in (q, k, v)))
        if lib is ember:
            ours = out.numpy()
        else:
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(out.numpy()))
            ok = ~np.isnan(ours)
            np.testing.assert_allclose(ours[ok], out.numpy()[ok], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SHIFT_CASES)
def test_sdpa_each_softmax_shift_cut_into_chunks(split_everything, name):
    test_sdpa_each_softmax_shift_matches_torch(name, np.float32)


# ---- batch-first self-attention as one node (ops/_mha_block.py) -----------------------------
@pytest.fixture
def block_calls(monkeypatch):
    """Counts the fused block's forward calls."""
    from ember.ops import _mha_block as Mb

    calls = []
    real = Mb._forward
    monkeypatch.setattr(Mb, "_forward", lambda *a: calls.append(1) or real(*a))
    return calls


def _self_attention_vs_torch(data, dtype=np.float32, rtol=RTOL, atol=ATOL, **mod_kw):
    """Forward and every gradient (input, parameters) of ``m(x, x, x, need_weights=False)``."""
    mods = []
    mod_kw.setdefault("batch_first", True)
    for lib in (ember, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.MultiheadAttention(**mod_kw))
    mods[0].to(getattr(ember, np.dtype(dtype).name))
    mods[1].to(getattr(torch, np.dtype(dtype).name))
    copy_weights(*mods)
    up = np.random.default_rng(9).standard_normal(data.shape).astype(dtype)
    res = []
    for lib, m in zip((ember, torch), mods):
        x = lib.tensor(data.astype(dtype), requires_grad=True)
        out, w = m(x, x, x, need_weights=False)
        assert w is None
        out.backward(lib.tensor(up))
        res.append(
            [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]
        )
    for i, (a, b) in enumerate(zip(*res)):
        tol = (rtol, atol) if i == 0 else (rtol * 10, atol * 10)
        assert_close(a, b, *tol, what=f"result {i}")


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_self_attention_block_matches_torch(block_calls, bias, dtype, batch_first):
    tol = (RTOL, ATOL) if dtype == np.float32 else (1e-10, 1e-12)
    data = rand_array((3, 5, 8), seed=11)
    kw = {"embed_dim": 8, "num_heads": 2, "bias": bias, "batch_first": batch_first}
    _self_attention_vs_torch(data, dtype, *tol, **kw)
    assert block_calls == [1]


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_block_cut_into_chunks_matches_torch(block_calls, monkeypatch, batch_first):
    from ember.ops import _parallel

    monkeypatch.setattr(_parallel, "MIN_GEMM", 0)
    with num_threads(3):
        data = rand_array((5, 4, 12), seed=12)
        _self_attention_vs_torch(data, embed_dim=12, num_heads=3, batch_first=batch_first)
    assert block_calls == [1]


@pytest.mark.parametrize("scale", [10.0, 40.0])
def test_self_attention_block_large_scores_match_torch(block_calls, scale):
    # Scores far apart (the row-wise shift) and large: float64, where rounding stays small.
    data = rand_array((2, 6, 8), np.float64, seed=13) * scale
    _self_attention_vs_torch(data, np.float64, 1e-9, 1e-9, embed_dim=8, num_heads=2)
    assert block_calls == [1]


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_block_strided_input_and_no_input_grad(block_calls, batch_first):
    mods = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.MultiheadAttention(8, 4, batch_first=batch_first))
    copy_weights(*mods)
    data = rand_array((5, 3, 8), seed=14)
    outs = []
    for lib, m in zip((ember, torch), mods):
        x = lib.tensor(data).transpose(0, 1)  # (3, 5, 8), not contiguous
        out = m(x, x, x, need_weights=False)[0]
        out.pow(2).sum().backward()
        outs.append([out.detach().numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*outs):
        assert_close(a, b, GRTOL, GATOL)
    assert block_calls == [1]


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_block_double_backward_matches_torch(block_calls, batch_first):
    data = rand_array((2, 3, 4), np.float64, seed=15)
    mods = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.MultiheadAttention(4, 2, batch_first=batch_first).double())
    copy_weights(*mods)
    res = []
    for lib, m in zip((ember, torch), mods):
        x = lib.tensor(data, requires_grad=True)
        # (PyTorch's need_weights=False path, flash attention, has no double backward: its
        # need_weights=True path computes the same output with plain softmax.)
        out = m(x, x, x, need_weights=lib is torch)[0]
        params = [x, *m.parameters()]
        gs = lib.autograd.grad(out.pow(2).sum(), params, create_graph=True)
        hs = lib.autograd.grad(sum(g.sin().sum() for g in gs), params)
        res.append([g.detach().numpy() for g in gs] + [h.numpy() for h in hs])
    for a, b in zip(*res):
        assert_close(a, b, 1e-9, 1e-10)
    assert block_calls == [1]


@pytest.mark.parametrize(
    "mod_kw,call_kw",
    [
        ({"add_bias_kv": True}, {}),
        ({"add_zero_attn": True}, {}),
        ({"kdim": 6, "vdim": 6}, {}),
        ({}, {"need_weights": True}),
        ({}, {"is_causal": True, "attn_mask": "bool"}),
        ({}, {"attn_mask": "grad"}),  # a float mask that requires grad
    ],
)
def test_self_attention_block_only_where_it_applies(block_calls, mod_kw, call_kw):
    m = ember.nn.MultiheadAttention(8, 2, batch_first=True, **mod_kw)
    x = ember.tensor(rand_array((2, 3, 8), seed=16))
    kw = dict(call_kw)
    kw.setdefault("need_weights", False)
    if kw.get("attn_mask") == "bool":
        kw["attn_mask"] = ember.tensor(np.triu(np.ones((3, 3), bool), 1))
    elif kw.get("attn_mask") == "grad":
        kw["attn_mask"] = ember.tensor(rand_array((3, 3), seed=18), requires_grad=True)
    if "kdim" in mod_kw:
        k = ember.tensor(rand_array((2, 3, 6), seed=17))
        m(x, k, k, **kw)
    else:
        m(x, x, x, **kw)
    assert block_calls == []


def _block_masks(kind, N, L, seed):
    rng = np.random.default_rng(seed)
    kpm = attn = None
    if "kpm_bool" in kind:
        kpm = rng.random((N, L)) < 0.3
        kpm[:, 0] = False
        if "dead" in kind:
            kpm[1] = True  # batch element 1 has no key left: zeros, as PyTorch
    if "kpm_float" in kind:
        kpm = rng.standard_normal((N, L)).astype(np.float32)
    if "attn_bool" in kind:
        attn = np.triu(np.ones((L, L), bool), 1)
    if "attn_float3d" in kind:
        attn = rng.standard_normal((N * 2, L, L)).astype(np.float32)
    return kpm, attn


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize(
    "kind",
    ["kpm_bool", "kpm_float", "attn_bool", "attn_float3d", "kpm_bool+attn_bool", "kpm_bool_dead"],
)
def test_self_attention_block_masks_match_torch(block_calls, kind, batch_first):
    N, L = 3, 5
    kpm, attn = _block_masks(kind, N, L, seed=19)
    mods = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.MultiheadAttention(8, 2, batch_first=batch_first))
    copy_weights(*mods)
    data = rand_array((N, L, 8) if batch_first else (L, N, 8), seed=20)
    up = np.random.default_rng(21).standard_normal(data.shape).astype(np.float32)
    res = []
    for lib, m in zip((ember, torch), mods):
        x = lib.tensor(data, requires_grad=True)
        kw = {"need_weights": False}
        if kpm is not None:
            kw["key_padding_mask"] = lib.tensor(kpm)
        if attn is not None:
            kw["attn_mask"] = lib.tensor(attn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch's nested-tensor fast path notes)
            out = m(x, x, x, **kw)[0]
        out.backward(lib.tensor(up))
        res.append(
            [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]
        )
    for i, (a, b) in enumerate(zip(*res)):
        assert_close(a, b, RTOL if i == 0 else GRTOL, ATOL if i == 0 else GATOL, what=str(i))
    if "dead" in kind:
        rows = res[0][0][1] if batch_first else res[0][0][:, 1]
        assert np.all(rows == np.asarray(mods[1].out_proj.bias.detach().numpy()))
    assert block_calls == [1]


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_block_dropout_as_the_chain_of_nodes(block_calls, monkeypatch, batch_first):
    # Training with dropout: the same keep mask (ember's generator, drawn the same way) as the
    # chain of nodes, so the same output and gradients.
    m = ember.nn.MultiheadAttention(8, 2, dropout=0.4, batch_first=batch_first)
    data = rand_array((3, 5, 8), seed=22)
    n_b, n_l = (3, 5) if batch_first else (5, 3)
    kpm = ember.tensor(np.array([[False] * (n_l - 1) + [True]] * n_b))
    res = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(type(m), "_fused_self_attention", lambda self, x: False)
        m.zero_grad()
        x = ember.tensor(data, requires_grad=True)
        ember.manual_seed(5)
        out = m(x, x, x, need_weights=False, key_padding_mask=kpm)[0]
        (out * out).sum().backward()
        res.append(
            [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()]
        )
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert block_calls == [1]
