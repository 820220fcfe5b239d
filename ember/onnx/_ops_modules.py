"""ONNX translations of ember's layers: one handler per module class.

A handler gets the graph, the module, the call's result and the call's arguments; weights
become initializers. Layers whose behaviour ONNX cannot express exactly (non-zero padding
modes, pooling indices, divisor overrides, training-mode batch statistics) raise ExportError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor
from ._graph import ExportError, Graph
from ._ops_tensor import flatten, gelu, layer_norm, linear
from ._tracer import MODULES, PASS_THROUGH


def module(*classes: type):
    def deco(fn):
        for c in classes:
            MODULES[c] = fn
        return fn

    return deco


def _tuple(v: Any, n: int) -> list:
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def _refuse(m: Any, what: str) -> None:
    raise ExportError(f"ember.onnx.export: {type(m).__name__} with {what} cannot be exported")


# ---- linear and convolution ------------------------------------------------------------------
@module(nn.Linear)
def _linear(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if x.ndim == 2:
        b = [g.name(m.bias)] if m.bias is not None else []
        return g.node("Gemm", [g.name(x), g.name(m.weight), *b], transB=1)
    return linear(g, g.name(x), m.weight, m.bias)


@module(nn.Identity)
def _identity(g: Graph, m: Any, out: Tensor, x: Tensor, *a: Any, **k: Any) -> str:
    return g.node("Identity", [g.name(x)])


def _conv_pads(m: Any, x: Tensor, nd: int) -> dict:
    if m.padding_mode != "zeros":
        _refuse(m, f"padding_mode={m.padding_mode!r}")
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return {"pads": [0] * (2 * nd)}
        # 'same': the total padding of each dim, the extra one at the end as PyTorch
        total = [d * (k - 1) for d, k in zip(_tuple(m.dilation, nd), _tuple(m.kernel_size, nd))]
        return {"pads": [t // 2 for t in total] + [t - t // 2 for t in total]}
    p = _tuple(m.padding, nd)
    return {"pads": p + p}


@module(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    nd = x.ndim - 2
    if nd < 1:
        _refuse(m, "an unbatched input")
    ins = [g.name(x), g.name(m.weight)] + ([g.name(m.bias)] if m.bias is not None else [])
    return g.node(
        "Conv",
        ins,
        kernel_shape=_tuple(m.kernel_size, nd),
        strides=_tuple(m.stride, nd),
        dilations=_tuple(m.dilation, nd),
        group=m.groups,
        **_conv_pads(m, x, nd),
    )


@module(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_t(g: Graph, m: Any, out: Tensor, x: Tensor, output_size: Any = None) -> str:
    nd = x.ndim - 2
    if m.padding_mode != "zeros":
        _refuse(m, f"padding_mode={m.padding_mode!r}")
    ins = [g.name(x), g.name(m.weight)] + ([g.name(m.bias)] if m.bias is not None else [])
    p = _tuple(m.padding, nd)
    extra = [int(o) - int(e) for o, e in zip(out.shape[2:], _conv_t_size(m, x, nd))]
    return g.node(
        "ConvTranspose",
        ins,
        kernel_shape=_tuple(m.kernel_size, nd),
        strides=_tuple(m.stride, nd),
        dilations=_tuple(m.dilation, nd),
        group=m.groups,
        pads=p + p,
        output_padding=extra,
    )


def _conv_t_size(m: Any, x: Tensor, nd: int) -> list:
    """The output size without output padding."""
    s, p, d, k = (_tuple(v, nd) for v in (m.stride, m.padding, m.dilation, m.kernel_size))
    return [
        (i - 1) * s_ - 2 * p_ + d_ * (k_ - 1) + 1
        for i, s_, p_, d_, k_ in zip(x.shape[2:], s, p, d, k)
    ]


# ---- pooling ---------------------------------------------------------------------------------
@module(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
def _max_pool(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if m.return_indices:
        _refuse(m, "return_indices=True")
    nd = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}[type(m)]
    p = _tuple(m.padding, nd)
    return g.node(
        "MaxPool",
        [g.name(x)],
        kernel_shape=_tuple(m.kernel_size, nd),
        strides=_tuple(m.stride if m.stride is not None else m.kernel_size, nd),
        pads=p + p,
        dilations=_tuple(m.dilation, nd),
        ceil_mode=int(m.ceil_mode),
    )


@module(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _avg_pool(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if getattr(m, "divisor_override", None):
        _refuse(m, "divisor_override")
    nd = {nn.AvgPool1d: 1, nn.AvgPool2d: 2, nn.AvgPool3d: 3}[type(m)]
    p = _tuple(m.padding, nd)
    return g.node(
        "AveragePool",
        [g.name(x)],
        kernel_shape=_tuple(m.kernel_size, nd),
        strides=_tuple(m.stride if m.stride is not None else m.kernel_size, nd),
        pads=p + p,
        ceil_mode=int(m.ceil_mode),
        count_include_pad=int(m.count_include_pad),
    )


@module(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool2d)
def _adaptive(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    is_max = isinstance(m, nn.AdaptiveMaxPool2d)
    if is_max and m.return_indices:
        _refuse(m, "return_indices=True")
    ins, outs = x.shape[2:], out.shape[2:]
    if all(o == 1 for o in outs):
        return g.node("GlobalMaxPool" if is_max else "GlobalAveragePool", [g.name(x)])
    if any(i % o for i, o in zip(ins, outs)):
        _refuse(m, f"an input size {tuple(ins)} not divisible by the output size {tuple(outs)}")
    k = [i // o for i, o in zip(ins, outs)]
    return g.node("MaxPool" if is_max else "AveragePool", [g.name(x)], kernel_shape=k, strides=k)


# ---- normalisation ---------------------------------------------------------------------------
@module(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batch_norm(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if m.training or m.running_mean is None:
        _refuse(m, "batch statistics (training mode or track_running_stats=False)")
    c, dt = m.num_features, x.detach().numpy().dtype
    w = g.name(m.weight) if m.affine else g.const(np.ones(c, dt))
    b = g.name(m.bias) if m.affine else g.const(np.zeros(c, dt))
    ins = [g.name(x), w, b, g.name(m.running_mean), g.name(m.running_var)]
    return g.node("BatchNormalization", ins, epsilon=float(m.eps))


@module(nn.LayerNorm)
def _layer_norm(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if g.opset < 17:
        raise ExportError("ember.onnx.export: LayerNorm needs opset_version >= 17")
    bias = getattr(m, "bias", None)
    return layer_norm(g, g.name(x), x, tuple(m.normalized_shape), m.weight, bias, m.eps)


@module(nn.GroupNorm)
def _group_norm(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    # InstanceNormalization over (N, groups, -1), then the per-channel affine
    n_g, dt = m.num_groups, x.detach().numpy().dtype
    grouped = g.node("Reshape", [g.name(x), g.ints([0, n_g, -1])])
    ones, zeros = g.const(np.ones(n_g, dt)), g.const(np.zeros(n_g, dt))
    normed = g.node("InstanceNormalization", [grouped, ones, zeros], epsilon=float(m.eps))
    y = g.node("Reshape", [normed, g.node("Shape", [g.name(x)])])
    if not m.affine:
        return y
    shape = [m.num_channels] + [1] * (x.ndim - 2)
    w = g.const(m.weight.detach().numpy().reshape(shape))
    b = g.const(m.bias.detach().numpy().reshape(shape))
    return g.node("Add", [g.node("Mul", [y, w]), b])


# ---- activations and dropout -----------------------------------------------------------------
_SIMPLE = {
    nn.ReLU: "Relu",
    nn.Tanh: "Tanh",
    nn.Sigmoid: "Sigmoid",
    nn.Softsign: "Softsign",
    nn.Softplus: "Softplus",
}


def _simple(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if isinstance(m, nn.Softplus) and (m.beta != 1 or m.threshold != 20):
        _refuse(m, "beta != 1 or threshold != 20")
    return g.node(_SIMPLE[type(m)], [g.name(x)])


for _c in _SIMPLE:
    MODULES[_c] = _simple

MODULES[nn.GELU] = lambda g, m, out, x: gelu(g, g.name(x), m.approximate, x)
MODULES[nn.LeakyReLU] = lambda g, m, out, x: g.node(
    "LeakyRelu", [g.name(x)], alpha=float(m.negative_slope)
)
MODULES[nn.ELU] = lambda g, m, out, x: g.node("Elu", [g.name(x)], alpha=float(m.alpha))
MODULES[nn.Hardtanh] = MODULES[nn.ReLU6] = lambda g, m, out, x: g.node(
    "Clip", [g.name(x), g.like(m.min_val, x), g.like(m.max_val, x)]
)


@module(nn.SiLU)
def _silu(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    n = g.name(x)
    return g.node("Mul", [n, g.node("Sigmoid", [n])])


@module(nn.Softmax, nn.LogSoftmax)
def _softmax(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if m.dim is None:
        _refuse(m, "dim=None")
    kind = "Softmax" if isinstance(m, nn.Softmax) else "LogSoftmax"
    return g.node(kind, [g.name(x)], axis=m.dim % x.ndim)


@module(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
def _dropout(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    if m.training and m.p > 0:
        _refuse(m, "training mode (call model.eval() first)")
    return g.node("Identity", [g.name(x)])


# ---- shapes and lookups ----------------------------------------------------------------------
@module(nn.Flatten)
def _flatten(g: Graph, m: Any, out: Tensor, x: Tensor) -> str:
    return flatten(g, g.name(x), x, out, m.start_dim, m.end_dim)


@module(nn.Embedding)
def _embedding(g: Graph, m: Any, out: Tensor, idx: Tensor) -> str:
    if m.max_norm is not None:
        _refuse(m, "max_norm")
    name = g.name(idx)
    if idx.dtype != out.dtype and str(idx.dtype) != "ember.int64":
        name = g.node("Cast", [name], to=7)  # 7 = INT64
    return g.node("Gather", [g.name(m.weight), name], axis=0)


# containers: their forward runs other modules, which record themselves
PASS_THROUGH.update({nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.TransformerEncoder})
