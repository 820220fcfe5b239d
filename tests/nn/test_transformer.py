"""``nn.Transformer`` and ``nn.TransformerDecoder`` against PyTorch: state_dict keys, outputs and
every gradient with ember's weights copied into torch's model, the causal mask, and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn._lib import same_error
from tests.parity import assert_close, copy_weights

RTOL, ATOL = 1e-4, 2e-5


def _inputs(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _grads_match(e, t, leaves) -> None:
    named_t = dict(t.named_parameters())
    assert [n for n, _ in e.named_parameters()] == list(named_t)
    for n, p in e.named_parameters():
        assert_close(p.grad, named_t[n].grad, RTOL, ATOL, what=f"grad of {n}")
    for a, b in leaves:
        assert_close(a.grad, b.grad, RTOL, ATOL, what="input grad")


def _make(lib, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.nn.Transformer(
            d_model=8,
            nhead=2,
            num_encoder_layers=2,
            num_decoder_layers=2,
            dim_feedforward=16,
            dropout=0.0,
            **kw,
        )


@pytest.mark.parametrize("kw", [{}, {"batch_first": True, "norm_first": True}])
def test_transformer_matches_torch(kw):
    e, t = _make(ember, **kw), _make(torch, **kw)
    assert list(e.state_dict()) == list(t.state_dict())
    copy_weights(e, t)
    bf = kw.get("batch_first", False)
    src_shape, tgt_shape = ((2, 5, 8), (2, 4, 8)) if bf else ((5, 2, 8), (4, 2, 8))
    se, st = _inputs(src_shape, 1)
    te, tt = _inputs(tgt_shape, 2)
    mask_e = ember.nn.Transformer.generate_square_subsequent_mask(4)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert_close(mask_e, mask_t, 0, 0)
    kpm = np.array([[False] * 5, [False] * 3 + [True] * 2])
    out_e = e(se, te, tgt_mask=mask_e, src_key_padding_mask=ember.tensor(kpm))
    out_t = t(st, tt, tgt_mask=mask_t, src_key_padding_mask=torch.tensor(kpm))
    assert_close(out_e, out_t, RTOL, ATOL)
    up = np.random.default_rng(3).standard_normal(out_t.shape).astype(np.float32)
    (out_e * ember.tensor(up)).sum().backward()
    (out_t * torch.tensor(up)).sum().backward()
    _grads_match(e, t, [(se, st), (te, tt)])


def test_decoder_stack_with_norm_and_causal_flag():
    def build(lib):
        layer = lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        return lib.nn.TransformerDecoder(layer, 3, norm=lib.nn.LayerNorm(8))

    e, t = build(ember), build(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    copy_weights(e, t)
    te, tt = _inputs((2, 4, 8), 4)
    me, mt = _inputs((2, 6, 8), 5)
    mask_e = ember.nn.Transformer.generate_square_subsequent_mask(4)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(4)
    out_e = e(te, me, tgt_mask=mask_e, tgt_is_causal=True)
    out_t = t(tt, mt, tgt_mask=mask_t, tgt_is_causal=True)
    assert_close(out_e, out_t, RTOL, ATOL)
    out_e.sum().backward()
    out_t.sum().backward()
    _grads_match(e, t, [(te, tt), (me, mt)])


def test_mask_dtype_and_encoder_flags():
    m = ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64)
    assert m.dtype == ember.float64
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16)
    enc = ember.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False, mask_check=False)
    assert enc.enable_nested_tensor is False and enc.mask_check is False


@pytest.mark.parametrize(
    "shapes",
    [((5, 2, 8), (4, 3, 8)), ((5, 2, 8), (4, 2, 6))],
)
def test_transformer_shape_errors(shapes):
    def call(lib):
        model = _make(lib)
        return model(lib.zeros(*shapes[0]), lib.zeros(*shapes[1]))

    same_error(call)
