"""Attention functions of ``ember.nn.functional``: ``scaled_dot_product_attention`` and
``multi_head_attention_forward`` (the function behind ``nn.MultiheadAttention``).

Both end in one fused node (``ember.ops.attention``). Boolean masks become additive float masks
(``-inf`` where attention is not allowed); float masks are added as given and receive gradients.
Dropout masks come from ember's default generator (its stream is not PyTorch's).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor, _wrap
from ...ops import attention as A
from ...ops import elementwise as E
from ...ops import indexing as X
from ...ops import join as J
from ...ops import linalg as L
from ...ops import reduction as R
from ...ops import shape as S
from ._dropout import _keep_mask as _bernoulli_keep

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _keep_mask(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray | None:
    """Dropout multiplier for the attention probabilities: 0 or ``1 / (1 - p)``."""
    if p <= 0:
        return None
    if p >= 1:
        return np.zeros(shape, dtype)
    keep = _bernoulli_keep(shape, p, dtype)
    keep /= np.asarray(1.0 - p, dtype)
    return keep


def _neg_inf_where(mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.zeros(mask.shape, dtype)
    out[mask] = -np.inf
    return out


def _bshape(*shapes: tuple) -> tuple:
    """Broadcast batch shapes, with PyTorch's error for a clash."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        a, b = shapes[0], shapes[1]
        n = max(len(a), len(b))
        a = (1,) * (n - len(a)) + tuple(a)
        b = (1,) * (n - len(b)) + tuple(b)
        for i in range(n - 1, -1, -1):
            if a[i] != b[i] and a[i] != 1 and b[i] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                    f"non-singleton dimension {i}"
                ) from None
        raise


def _repeat_heads(x: Tensor, groups: int) -> Tensor:
    """``x.repeat_interleave(groups, dim=-3)`` as unsqueeze + expand + reshape."""
    shp = tuple(x.shape)
    y = S.unsqueeze(x, -3)
    y = S.expand(y, *shp[:-2], groups, *shp[-2:])
    return S.reshape(y, (*shp[:-3], shp[-3] * groups, *shp[-2:]))


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key.T * scale + mask) @ value``, one fused node.

    Shapes: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)``, output
    ``(..., L, Ev)``; batch dimensions broadcast. ``attn_mask`` is boolean (True = may attend) or
    float (added to the scores), broadcastable to ``(..., L, S)``. ``is_causal`` masks the upper
    triangle (top-left aligned). ``scale`` defaults to ``1 / sqrt(E)``. With ``enable_gqa``,
    key/value heads (dim -3) are repeated to the query's head count. Rows with no allowed key give
    zeros, as PyTorch.

    >>> import ember, ember.nn.functional as F
    >>> q = k = v = ember.ones(2, 3, 4)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    ember.Size([2, 3, 4])
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not "
                f"{type(t).__name__}"
            )
        if t.ndim < 2:
            raise RuntimeError(
                f"scaled_dot_product_attention: expected {name} to have at least 2 dimensions, "
                f"got {t.ndim}"
            )
    qd, kd, vd = query._data.dtype, key._data.dtype, value._data.dtype
    if not (qd == kd == vd):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )
    if qd.kind not in "fV":  # V: bfloat16 (ml_dtypes)
        raise RuntimeError(
            f"scaled_dot_product_attention: expected a floating point query, got {query.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            "scaled_dot_product_attention: query and key must have the same embedding size "
            f"(last dimension), got {query.shape[-1]} and {key.shape[-1]}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            "scaled_dot_product_attention: key and value must have the same sequence length "
            f"(dimension -2), got {key.shape[-2]} and {value.shape[-2]}"
        )
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError(
                "Number of heads in key and value must divide the number of heads in query "
                f"(got {hq} query heads, {hk} key heads and {hv} value heads)"
            )
        key = _repeat_heads(key, hq // hk)
        value = _repeat_heads(value, hq // hv)
    batch = _bshape(tuple(query.shape[:-2]), tuple(key.shape[:-2]))
    batch = _bshape(batch, tuple(value.shape[:-2]))
    n_q, n_k = query.shape[-2], key.shape[-2]
    mask: Any = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                "is_causal=True"
            )
        mask = _neg_inf_where(~np.tri(n_q, n_k, dtype=bool), qd)
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(
                "scaled_dot_product_attention(): argument 'attn_mask' must be Tensor, not "
                f"{type(attn_mask).__name__}"
            )
        md = attn_mask._data.dtype
        if md != np.bool_ and md != qd:
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead."
            )
        _bshape((*batch, n_q, n_k), tuple(attn_mask.shape))
        mask = _neg_inf_where(~attn_mask._data, qd) if md == np.bool_ else attn_mask
    if dropout_p < 0 or dropout_p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    keep = None
    if dropout_p > 0:
        mshape = () if mask is None else np.shape(getattr(mask, "_data", mask))
        keep = _keep_mask(_bshape((*batch, n_q, n_k), mshape), dropout_p, qd)
    return A.Attention.apply(query, key, value, mask, sc, keep, True)


# ---- multi-head attention -------------------------------------------------------------------
def _mha_shape_check(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    key_padding_mask: Tensor | None,
    attn_mask: Tensor | None,
    num_heads: int,
) -> bool:
    """PyTorch's rank checks (AssertionError); returns whether the input is batched."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                f"found {attn_mask.dim()}-D tensor instead"
            )
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                f"found {key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                    f"but found {attn_mask.dim()}-D tensor instead"
                )
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(
                        f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}"
                    )
        return False
    raise AssertionError(
        "query should be unbatched 2D or batched 3D tensor but received "
        f"{query.dim()}-D query tensor"
    )


def _canonical_mask(
    mask: Tensor | None,
    mask_name: str,
    other_type: D.dtype | None,
    other_name: str,
    target_type: D.dtype,
    check_other: bool = True,
) -> Tensor | None:
    """A boolean mask becomes a float mask of ``target_type`` (``-inf`` where True)."""
    if mask is None:
        return None
    is_float = mask.dtype.kind == "f"
    if mask._data.dtype != np.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type "
            "for both instead.",
            stacklevel=3,
        )
    if not is_float:
        return _wrap(_neg_inf_where(mask._data, target_type.np))
    return mask


def _none_or_dtype(input: Tensor | None) -> D.dtype | None:
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _slice(t: Tensor | None, start: int, stop: int) -> Tensor | None:
    return None if t is None else X.getitem(t, slice(start, stop))


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    w: tuple | None,
    packed: Tensor | None,
    packed_bias: Tensor | None,
) -> tuple:
    """q, k, v projections ``w`` (None: the three slices of ``packed``). Self-attention with
    packed weights is one GEMM, as PyTorch."""
    if packed is not None and query is key and key is value:
        return J.chunk(L.linear(query, packed, packed_bias), 3, -1)
    e = query.shape[-1]
    if w is None:
        w = tuple(_slice(packed, i * e, (i + 1) * e) for i in range(3))
    b = tuple(_slice(packed_bias, i * e, (i + 1) * e) for i in range(3))
    if packed is not None and key is value:
        q = L.linear(query, w[0], b[0])
        kv = L.linear(key, _slice(packed, e, 3 * e), _slice(packed_bias, e, 3 * e))
        return (q, *J.chunk(kv, 2, -1))
    return tuple(L.linear(x, wi, bi) for x, wi, bi in zip((query, key, value), w, b))


def _pad_last(mask: Tensor | None) -> Tensor | None:
    return None if mask is None else S.constant_pad(mask, (0, 1))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention with the weights passed in, as ``nn.MultiheadAttention`` runs it.

    Shapes (sequence first): query ``(L, N, E)`` or unbatched ``(L, E)``, key/value
    ``(S, N, E_k/E_v)``. Returns ``(output (L, N, E), weights)``; weights are ``(N, L, S)``
    averaged over heads, ``(N, num_heads, L, S)`` otherwise, or None when not ``need_weights``.
    Masks: ``key_padding_mask`` ``(N, S)`` and ``attn_mask`` ``(L, S)`` or
    ``(N * num_heads, L, S)``; boolean True means *not* allowed (the opposite of
    ``scaled_dot_product_attention``); float masks are added to the scores.
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value, key_padding_mask = _add_batch_dim(query, key, value, key_padding_mask)
    tgt_len, bsz, embed_dim = query.shape
    key_padding_mask, attn_mask, is_causal = _canonical_masks(
        query, key_padding_mask, attn_mask, is_causal, need_weights
    )
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    ws, packed = _projection_weights(key, value, in_proj_weight, separate, embed_dim)
    bh = bsz * num_heads
    attn_mask = _check_attn_mask(attn_mask, tgt_len, key.shape[0], bh)
    plain = bias_k is None and bias_v is None and static_k is None and static_v is None
    if plain and packed is not None and query is key and key is value:
        # Self-attention: one GEMM for the three projections, split into heads without copies.
        qkv = L.linear(query, packed, in_proj_bias)
        q, k, v = A.SplitHeads.apply(qkv, 3, num_heads)
    else:
        q, k, v = _in_projection(query, key, value, ws, packed, in_proj_bias)
        k, v, attn_mask, key_padding_mask = _add_bias_kv(
            k, v, bias_k, bias_v, static_k, static_v, attn_mask, key_padding_mask, bsz, embed_dim
        )
        (q,) = A.SplitHeads.apply(q, 1, num_heads)
        k = _heads(k, static_k, bsz, num_heads, head_dim, "static_k")
        v = _heads(v, static_v, bsz, num_heads, head_dim, "static_v")
    if add_zero_attn:
        k = J.cat([k, _wrap(np.zeros((bsz, num_heads, 1, head_dim), k._data.dtype))], 2)
        v = J.cat([v, _wrap(np.zeros((bsz, num_heads, 1, head_dim), v._data.dtype))], 2)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        attn_mask = _merge_key_padding(attn_mask, key_padding_mask, bsz, num_heads, src_len)
    if attn_mask is not None and attn_mask.shape[0] == bh:  # per head: (N, heads, L, S)
        attn_mask = S.reshape(attn_mask, (bsz, num_heads, *attn_mask.shape[1:]))
    if not training:
        dropout_p = 0.0
    out, weights = _attend(
        q, k, v, attn_mask, is_causal, need_weights, dropout_p, (tgt_len, src_len), head_dim
    )
    out = S.reshape(S.permute(out, 2, 0, 1, 3), (tgt_len * bsz, embed_dim))
    out = S.reshape(L.linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))
    if weights is not None:
        weights = S.reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            weights = R.mean(weights, 1)
        if not is_batched:
            weights = S.squeeze(weights, 0)
    if not is_batched:
        out = S.squeeze(out, 1)
    return out, weights


def _add_batch_dim(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any) -> tuple:
    """Unbatched inputs as a batch of one (keeping ``query is key is value`` identities)."""
    same_qk, same_kv = query is key, key is value
    query = S.unsqueeze(query, 1)
    key = query if same_qk else S.unsqueeze(key, 1)
    value = key if same_kv else S.unsqueeze(value, 1)
    if key_padding_mask is not None:
        key_padding_mask = S.unsqueeze(key_padding_mask, 0)
    return query, key, value, key_padding_mask


def _canonical_masks(
    query: Tensor, key_padding_mask: Any, attn_mask: Any, is_causal: bool, need_weights: bool
) -> tuple:
    """Both masks as float masks (or None), and whether the causal hint still holds."""
    key_padding_mask = _canonical_mask(
        key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask", query.dtype
    )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
            "method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if key_padding_mask is not None:
            is_causal = False
    return key_padding_mask, attn_mask, is_causal


def _projection_weights(
    key: Tensor,
    value: Tensor,
    in_proj_weight: Tensor | None,
    separate: tuple | None,
    embed_dim: int,
) -> tuple:
    """The three input projection weights given one by one with ``use_separate_proj_weight``
    (else None: ``_in_projection`` slices them from the packed one), and the packed one (None
    when ``separate``)."""
    if separate is not None:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                f"{value.shape[:2]}"
            )
        for nm, w in zip("qkv", separate):
            if w is None:
                raise AssertionError(
                    f"use_separate_proj_weight is True but {nm}_proj_weight is None"
                )
        return separate, None
    if tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    if in_proj_weight is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    return None, in_proj_weight


def _check_attn_mask(attn_mask: Any, tgt_len: int, src_len: int, bh: int) -> Any:
    """``attn_mask`` checked against ``(L, S)`` or ``(N * num_heads, L, S)``, made 3-D."""
    if attn_mask is None:
        return None
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                f"{(tgt_len, src_len)}."
            )
        return S.unsqueeze(attn_mask, 0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != (bh, tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                f"{(bh, tgt_len, src_len)}."
            )
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _add_bias_kv(
    k: Tensor,
    v: Tensor,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    static_k: Tensor | None,
    static_v: Tensor | None,
    attn_mask: Any,
    kpm: Any,
    bsz: int,
    embed_dim: int,
) -> tuple:
    """Append the learnt ``bias_k``/``bias_v`` as one more key/value position (both or none)."""
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = J.cat([k, S.expand(bias_k, 1, bsz, embed_dim)])
        v = J.cat([v, S.expand(bias_v, 1, bsz, embed_dim)])
        return k, v, _pad_last(attn_mask), _pad_last(kpm)
    if bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    if bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")
    return k, v, attn_mask, kpm


def _merge_key_padding(
    attn_mask: Any, kpm: Tensor, bsz: int, num_heads: int, src_len: int
) -> Tensor:
    """``key_padding_mask (N, S)`` checked and added to ``attn_mask`` per head."""
    if kpm.shape[0] != bsz:
        raise AssertionError(
            f"Expected key_padded_mask.shape[0] to be {bsz}, but got {kpm.shape[0]}"
        )
    if kpm.shape[1] != src_len:
        raise AssertionError(
            f"Expected key_padded_mask.shape[1] to be {src_len}, but got {kpm.shape[1]}"
        )
    kpm = S.reshape(kpm, (bsz, 1, 1, src_len))
    kpm = S.reshape(S.expand(kpm, bsz, num_heads, 1, src_len), (bsz * num_heads, 1, src_len))
    return kpm if attn_mask is None else E.add(attn_mask, kpm)


def _attend(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Any,
    is_causal: bool,
    need_weights: bool,
    dropout_p: float,
    lens: tuple,
    head_dim: int,
) -> tuple:
    """The fused attention node over ``(N, num_heads, L or S, head_dim)`` q, k, v: the output,
    and the per-head weights when ``need_weights``."""
    tgt_len, src_len = lens
    mask: Any = attn_mask
    if is_causal and attn_mask is None:
        if need_weights:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        mask = _neg_inf_where(~np.tri(tgt_len, src_len, dtype=bool), q._data.dtype)
    mshape = () if mask is None else np.shape(getattr(mask, "_data", mask))
    scores = (*q.shape[:2], tgt_len, src_len)
    keep = _keep_mask(np.broadcast_shapes(scores, mshape), dropout_p, q._data.dtype)
    scale = 1.0 / math.sqrt(head_dim)
    if need_weights:
        return A.AttentionWithWeights.apply(q, k, v, mask, scale, keep, False)
    return A.Attention.apply(q, k, v, mask, scale, keep, True), None


def _heads(
    x: Tensor, static: Tensor | None, bsz: int, num_heads: int, head_dim: int, name: str
) -> Tensor:
    """``(S, N, E) -> (N, num_heads, S, head_dim)``, or the given static projection
    ``(N * num_heads, S, head_dim)`` viewed so."""
    if static is None:
        return A.SplitHeads.apply(x, 1, num_heads)[0]
    bh = bsz * num_heads
    if static.size(0) != bh:
        raise AssertionError(f"expecting {name}.size(0) of {bh}, but got {static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return S.reshape(static, (bsz, num_heads, *static.shape[1:]))
