"""ONNX translations of ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer``.

Attention is written out with MatMul/Softmax on (batch, heads, length, head_dim) tensors; the
reshapes copy the batch and length dims from their input (Reshape's 0), so both may vary when
the axes are dynamic. Masks must be constants of the export (a causal mask, a fixed padding
mask): a mask computed from the inputs raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..nn import functional as F
from ._graph import ExportError, Graph
from ._ops_tensor import gelu, layer_norm, linear
from ._tracer import MODULES


def _proj(g: Graph, m: Any, x: str, which: int) -> str:
    """The query (0), key (1) or value (2) projection."""
    E = m.embed_dim
    if m._qkv_same_embed_dim:
        w = m.in_proj_weight.detach().numpy()[which * E : (which + 1) * E]
    else:
        w = (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)[which].detach().numpy()
    y = g.node("MatMul", [x, g.const(w.T, "attn_w")])
    if m.in_proj_bias is not None:
        b = m.in_proj_bias.detach().numpy()[which * E : (which + 1) * E]
        y = g.node("Add", [y, g.const(b, "attn_b")])
    return y


def _additive(g: Graph, mask: Any, dt: np.dtype) -> str | None:
    """The mask as a float tensor added to the scores (boolean True: masked out)."""
    if mask is None:
        return None
    name = g.name(mask)
    if mask.dtype.is_floating_point:
        return name if mask.detach().numpy().dtype == dt else g.node("Cast", [name], to=_type(dt))
    inf, zero = g.const(np.asarray(-np.inf, dt)), g.const(np.asarray(0, dt))
    return g.node("Where", [name, inf, zero])


def _type(dt: np.dtype) -> int:
    return g_onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def g_onnx() -> Any:
    import onnx

    return onnx


def attention(
    g: Graph,
    m: Any,
    names: list,
    q: Tensor,
    k: Tensor,
    kpm: Any,
    mask: Any,
    is_causal: bool,
    want: bool,
) -> list:
    """Names of the attention output and (if ``want``) the per-head weights.

    ``names`` are the query, key and value inputs; ``q``/``k`` tensors of their shapes.
    """
    if m.bias_k is not None or m.add_zero_attn:
        raise ExportError(
            "ember.onnx.export: MultiheadAttention with bias_k/add_zero_attn cannot be exported"
        )
    if q.ndim != 3:
        raise ExportError("ember.onnx.export: MultiheadAttention needs batched 3-D inputs")
    h, d, dt = m.num_heads, m.head_dim, q.detach().numpy().dtype
    if not m.batch_first:  # (L, N, E) -> (N, L, E)
        names = [g.node("Transpose", [n], perm=[1, 0, 2]) for n in names]
    heads = []
    for i, n in enumerate(names):  # (N, L, E) -> (N, h, L, d)
        p = g.node("Reshape", [_proj(g, m, n, i), g.ints([0, 0, h, d])])
        heads.append(g.node("Transpose", [p], perm=[0, 2, 1, 3]))
    kt = g.node("Transpose", [heads[1]], perm=[0, 1, 3, 2])
    scores = g.node(
        "Mul", [g.node("MatMul", [heads[0], kt]), g.const(np.asarray(1 / np.sqrt(d), dt))]
    )
    L, S = q.shape[0 if not m.batch_first else 1], k.shape[0 if not m.batch_first else 1]
    add = _additive(g, mask, dt)
    if is_causal and add is None:
        add = g.const(np.triu(np.full((L, S), -np.inf, dt), 1))
    if add is not None:
        if mask is not None and mask.ndim == 3:  # (N * heads, L, S) -> (N, heads, L, S)
            add = g.node("Reshape", [add, g.ints([-1, h, L, S])])
        scores = g.node("Add", [scores, add])
    pad = _additive(g, kpm, dt)
    if pad is not None:  # (N, S) -> (N, 1, 1, S)
        scores = g.node("Add", [scores, g.node("Unsqueeze", [pad, g.ints([1, 2])])])
    attn = g.node("Softmax", [scores], axis=-1)
    ctx = g.node("Transpose", [g.node("MatMul", [attn, heads[2]])], perm=[0, 2, 1, 3])
    out = linear(
        g, g.node("Reshape", [ctx, g.ints([0, 0, m.embed_dim])]), m.out_proj.weight, m.out_proj.bias
    )
    if not m.batch_first:
        out = g.node("Transpose", [out], perm=[1, 0, 2])
    return [out, attn] if want else [out]


@lambda f: MODULES.__setitem__(nn.MultiheadAttention, f)
def _mha(
    g: Graph,
    m: Any,
    out: Any,
    query,
    key,
    value,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    average_attn_weights=True,
    is_causal=False,
) -> list:
    names = [g.name(t) for t in (query, key, value)]
    res = attention(g, m, names, query, key, key_padding_mask, attn_mask, is_causal, need_weights)
    if need_weights:
        w = res[1]
        res[1] = g.node("ReduceMean", [w, g.ints([1])], keepdims=0) if average_attn_weights else w
    return res


def _activation(g: Graph, fn: Any, x: str, like: Tensor) -> str:
    def same(f: Any) -> bool:  # F's functions are wrapped while exporting
        return fn is getattr(f, "_ember_onnx_original", f)

    if same(F.relu) or isinstance(fn, nn.ReLU):
        return g.node("Relu", [x])
    if same(F.gelu) or isinstance(fn, nn.GELU):
        return gelu(g, x, getattr(fn, "approximate", "none"), like)
    raise ExportError(
        f"ember.onnx.export: TransformerEncoderLayer activation {fn!r} is not supported"
    )


@lambda f: MODULES.__setitem__(nn.TransformerEncoderLayer, f)
def _encoder_layer(
    g: Graph,
    m: Any,
    out: Tensor,
    src: Tensor,
    src_mask=None,
    src_key_padding_mask=None,
    is_causal=False,
) -> str:
    def norm(n: str, ln: Any) -> str:
        return layer_norm(g, n, src, tuple(ln.normalized_shape), ln.weight, ln.bias, ln.eps)

    def sa(n: str) -> str:
        kpm, mask = src_key_padding_mask, src_mask
        return attention(g, m.self_attn, [n] * 3, src, src, kpm, mask, is_causal, False)[0]

    def ff(n: str) -> str:
        hidden = _activation(g, m.activation, linear(g, n, m.linear1.weight, m.linear1.bias), src)
        return linear(g, hidden, m.linear2.weight, m.linear2.bias)

    x = g.name(src)
    if m.norm_first:
        x = g.node("Add", [x, sa(norm(x, m.norm1))])
        return g.node("Add", [x, ff(norm(x, m.norm2))])
    x = norm(g.node("Add", [x, sa(x)]), m.norm1)
    return norm(g.node("Add", [x, ff(x)]), m.norm2)
