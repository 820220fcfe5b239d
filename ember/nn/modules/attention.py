"""``nn.MultiheadAttention`` and the Transformer layers built on it (``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``), with PyTorch's parameters and repr.

Parameters are PyTorch's: one packed ``in_proj_weight (3E, E)`` when key and value have the
query's embedding size, otherwise ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``;
``in_proj_bias (3E)``; ``out_proj`` (a Linear printed as ``NonDynamicallyQuantizableLinear``);
optional ``bias_k``/``bias_v`` ``(1, 1, E)``. State dicts therefore load in both libraries.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._creation import empty
from ..._tensor import Tensor
from ...ops import shape as S
from ...ops._mha_block import SelfAttentionBlock
from .. import init
from ..functional import _attention as FA
from ..functional._activation import gelu, relu
from ..parameter import Parameter
from ._errors import names_layer
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = [
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    "TransformerDecoderLayer",
]


class NonDynamicallyQuantizableLinear(Linear):
    """A plain :class:`Linear` under PyTorch's name for ``MultiheadAttention.out_proj`` (the name
    only matters to PyTorch's quantization tooling; kept so reprs match)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads: ``MultiHead(Q, K, V) = Concat(head_1..h) W_O``.

    Args:
        embed_dim: model dimension ``E`` (query size, and output size).
        num_heads: number of heads; must divide ``embed_dim``.
        dropout: dropout on the attention weights (training only). Default 0.
        bias: biases in the input and output projections. Default True.
        add_bias_kv: learn a bias appended to the key and value sequences. Default False.
        add_zero_attn: append a zero key/value position. Default False.
        kdim, vdim: key/value feature sizes (default ``embed_dim``).
        batch_first: inputs and output are ``(N, L, E)`` instead of ``(L, N, E)``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(attn_output, attn_weights)``.

    >>> import ember
    >>> mha = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = ember.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    (ember.Size([3, 5, 8]), ember.Size([3, 5, 5]))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                "embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, dtype=dtype
        )
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``
        (``out_proj.weight`` keeps Linear's default), as PyTorch."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    @names_layer
    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend ``query`` to ``key``/``value``; see the class docstring for shapes."""
        is_batched = query.dim() == 3
        key_padding_mask = FA._canonical_mask(
            key_padding_mask,
            "key_padding_mask",
            FA._none_or_dtype(attn_mask),
            "attn_mask",
            query.dtype,
        )
        attn_mask = FA._canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if query is key and key is value and not need_weights and not is_causal:
            out = self._self_attention_block(query, key_padding_mask, attn_mask)
            if out is not None:
                return out, None
        if self.batch_first and is_batched:
            # Keep `query is key is value` visible: self-attention takes the one-GEMM projection.
            if key is value:
                if query is key:
                    query = key = value = S.transpose(query, 1, 0)
                else:
                    query, key = S.transpose(query, 1, 0), S.transpose(key, 1, 0)
                    value = key
            else:
                query, key, value = (S.transpose(x, 1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = FA.multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )
        if self.batch_first and is_batched:
            out = S.transpose(out, 1, 0)
        return out, weights

    def _fused_self_attention(self, x: Tensor) -> bool:
        """Whether ``x`` attends to itself through ``ops._mha_block`` (batched, packed
        projections, no extra keys, float32/float64 throughout): one node whose
        work runs per core over the batch (fewer pool hand-offs and passes on one core)."""
        if not (x.dim() == 3 and self._qkv_same_embed_dim):
            return False
        if self.bias_k is not None or self.bias_v is not None or self.add_zero_attn:
            return False
        n_b, n_l, e = x.shape
        if not self.batch_first:
            n_b, n_l = n_l, n_b
        if e != self.embed_dim or n_b == 0 or n_l == 0 or e % self.num_heads:
            return False
        dt = x._data.dtype
        params = (self.in_proj_weight, self.in_proj_bias, self.out_proj.weight, self.out_proj.bias)
        return dt in _FUSED_DTYPES and all(p is None or p._data.dtype == dt for p in params)

    def _self_attention_block(self, x: Tensor, kpm: Any, attn_mask: Any) -> Tensor | None:
        """``x`` attending to itself as one node (``ops._mha_block``), or None where that does
        not apply (the chain of nodes then runs, with its checks and errors)."""
        if not self._fused_self_attention(x):
            return None
        mask = _block_mask(x, kpm, attn_mask, self.num_heads, self.batch_first)
        if mask is False:
            return None
        n_b, n_l = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        keep = None
        if self.training and self.dropout > 0:
            keep = FA._keep_mask((n_b, self.num_heads, n_l, n_l), self.dropout, x._data.dtype)
        return SelfAttentionBlock.apply(
            x,
            self.in_proj_weight,
            self.in_proj_bias,
            self.out_proj.weight,
            self.out_proj.bias,
            self.num_heads,
            not self.batch_first,
            mask,
            keep,
        )


def _block_mask(x: Tensor, kpm: Any, attn_mask: Any, heads: int, batch_first: bool) -> Any:
    """The additive ``(N | 1, heads | 1, L, L)`` mask of the self-attention block from the
    canonical (float) masks: None without masks, False where the block does not take them (a
    mask that requires grad, another dtype, or a shape the chain of nodes rejects)."""
    n_b, n_l = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    mask = None
    for m in (kpm, attn_mask):
        if m is not None and (m.requires_grad or m._data.dtype != x._data.dtype):
            return False
    if kpm is not None:
        if tuple(kpm.shape) != (n_b, n_l):
            return False
        mask = kpm._data.reshape(n_b, 1, 1, n_l)
    if attn_mask is not None:
        a = attn_mask._data
        if a.shape == (n_l, n_l):
            a = a[None, None]
        elif a.shape == (n_b * heads, n_l, n_l):
            a = a.reshape(n_b, heads, n_l, n_l)
        else:
            return False
        mask = a if mask is None else mask + a
    return mask


_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---- Transformer layers ---------------------------------------------------------------------
def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return relu
    if activation == "gelu":
        return gelu
    if isinstance(activation, str):
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class _FeedForwardMixin:
    """The position-wise feed-forward block and the self-attention block shared by encoder and
    decoder layers."""

    linear1: Linear
    linear2: Linear
    dropout: Dropout
    dropout1: Dropout
    self_attn: MultiheadAttention
    activation: Callable[[Tensor], Tensor]

    def _ff_block(self, x: Tensor, out_dropout: Module) -> Tensor:
        return out_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _sa_block(
        self, x: Tensor, attn_mask: Tensor | None, kpm: Tensor | None, is_causal: bool
    ) -> Tensor:
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=kpm,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)


class TransformerEncoderLayer(_FeedForwardMixin, Module):
    """Self-attention then a feed-forward network, each with a residual connection and LayerNorm
    (after the residual, or before the block with ``norm_first=True``).

    ``TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation='relu', layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)``;
    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``.

    >>> import ember
    >>> layer = ember.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32)
    >>> layer(ember.randn(10, 2, 16)).shape
    ember.Size([10, 2, 16])
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """Encode ``src`` (``(S, N, E)``, ``(N, S, E)`` with ``batch_first``, or ``(S, E)``)."""
        src_key_padding_mask = FA._canonical_mask(
            src_key_padding_mask,
            "src_key_padding_mask",
            FA._none_or_dtype(src_mask),
            "src_mask",
            src.dtype,
        )
        src_mask = FA._canonical_mask(src_mask, "src_mask", None, "", src.dtype, False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x), self.dropout2)
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x, self.dropout2))
        return x


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer``, then an optional ``norm``.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``.

    >>> import ember
    >>> layer = ember.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32)
    >>> encoder = ember.nn.TransformerEncoder(layer, num_layers=2)
    >>> encoder(ember.randn(10, 2, 16)).shape
    ember.Size([10, 2, 16])
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        # Nested tensors are a PyTorch inference fast path; ember always runs the regular path.
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        """Run ``src`` through every layer (and ``norm``)."""
        src_key_padding_mask = FA._canonical_mask(
            src_key_padding_mask,
            "src_key_padding_mask",
            FA._none_or_dtype(mask),
            "mask",
            src.dtype,
        )
        mask = FA._canonical_mask(mask, "mask", None, "", src.dtype, False)
        out = src
        for mod in self.layers:
            out = mod(
                out,
                src_mask=mask,
                is_causal=bool(is_causal),
                src_key_padding_mask=src_key_padding_mask,
            )
        if self.norm is not None:
            out = self.norm(out)
        return out


class TransformerDecoderLayer(_FeedForwardMixin, Module):
    """Self-attention, attention over the encoder's ``memory``, then a feed-forward network;
    each with a residual connection and LayerNorm (``norm_first`` as the encoder layer).

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``.

    >>> import ember
    >>> layer = ember.nn.TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32)
    >>> layer(ember.randn(7, 2, 16), ember.randn(10, 2, 16)).shape
    ember.Size([7, 2, 16])
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"dropout": dropout, "bias": bias, "batch_first": batch_first, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Decode ``tgt`` attending to ``memory``."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x), self.dropout3)
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x
                + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x, self.dropout3))
        return x

    def _mha_block(
        self,
        x: Tensor,
        mem: Tensor,
        attn_mask: Tensor | None,
        kpm: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=kpm,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)
