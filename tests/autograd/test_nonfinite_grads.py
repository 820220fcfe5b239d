"""An inf or NaN upstream gradient through every op that masks or routes gradients: PyTorch
selects (masked positions get 0, copies sum to inf) where a multiply by a 0/1 mask would give
NaN (inf * 0). Every gradient must match torch's bit for bit, NaN positions included."""

import numpy as np
import pytest
import torch

import ember

VALS = [-2.0, -0.5, 0.0, 0.5, 2.0, 7.0]

OPS = {
    "tanh": lambda m, x: x.tanh(),
    "sigmoid": lambda m, x: x.sigmoid(),
    "adaptive_avg": lambda m, x: (
        m.nn.functional.adaptive_avg_pool1d(x.reshape(1, 1, 6), 4).repeat(1, 1, 2).reshape(8)[:6]
    ),
    "interp_linear": lambda m, x: (
        m.nn.functional.interpolate(x.reshape(1, 1, 6), size=4, mode="linear")
        .repeat(1, 1, 2)
        .reshape(8)[:6]
    ),
    "prelu_weight": lambda m, x: m.nn.functional.prelu(m.tensor(VALS), x[:1]),
    "lerp_scalar": lambda m, x: m.lerp(x, m.zeros(6), 0.3),
    "lerp_far": lambda m, x: m.lerp(x, m.ones(6), 0.8),
    "lerp_tensor": lambda m, x: m.lerp(m.zeros(6), x, m.full((6,), 0.6)),
    "relu": lambda m, x: m.nn.functional.relu(x),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.1, 5.0),
    "clamp": lambda m, x: x.clamp(-1, 1),
    "clamp_min": lambda m, x: x.clamp(min=0),
    "clamp_max": lambda m, x: x.clamp(max=0),
    "leaky": lambda m, x: m.nn.functional.leaky_relu(x),
    "elu": lambda m, x: m.nn.functional.elu(x),
    "selu": lambda m, x: m.nn.functional.selu(x),
    "celu": lambda m, x: m.nn.functional.celu(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x),
    "hardshrink": lambda m, x: m.nn.functional.hardshrink(x),
    "softshrink": lambda m, x: m.nn.functional.softshrink(x),
    "abs": lambda m, x: x.abs(),
    "maximum0": lambda m, x: m.maximum(x, m.zeros_like(x)),
    "minimum0": lambda m, x: m.minimum(x, m.zeros_like(x)),
    "where": lambda m, x: m.where(x > 0, x, m.zeros_like(x)),
    "masked_fill": lambda m, x: x.masked_fill(x < 0, 0.0),
    "max_dim": lambda m, x: x.reshape(2, 3).max(1).values.repeat(3),
    "amax": lambda m, x: x.reshape(2, 3).amax(1).repeat(3),
    "sort": lambda m, x: x.sort().values,
    "topk": lambda m, x: m.cat([x.topk(3).values, x.topk(3).values]),
    "index": lambda m, x: m.cat([x[:3], x[:3]]),
    "gather": lambda m, x: x.gather(0, m.tensor([0, 0, 1, 1, 2, 2])),
    "pad": lambda m, x: m.nn.functional.pad(x[1:5], (1, 1)),
    "mul0": lambda m, x: x * m.tensor([0.0, 1, 0, 1, 0, 1]),
    "sign": lambda m, x: x.sign(),
    "floor": lambda m, x: x.floor(),
    "round": lambda m, x: x.round(),
    "glu": lambda m, x: m.nn.functional.glu(m.cat([x, x]), 0),
    "prelu": lambda m, x: m.nn.functional.prelu(x, m.tensor([0.25])),
    "rrelu_eval": lambda m, x: m.nn.functional.rrelu(x, training=False),
    "softplus_thr": lambda m, x: m.nn.functional.softplus(x, threshold=1.0),
    "logsigmoid": lambda m, x: m.nn.functional.logsigmoid(x),
    "maxpool1d": lambda m, x: (
        m.nn.functional.max_pool1d(x.reshape(1, 1, 6), 2).repeat_interleave(2).reshape(6)
    ),
    "adaptive_max": lambda m, x: (
        m.nn.functional.adaptive_max_pool1d(x.reshape(1, 1, 6), 3).repeat_interleave(2).reshape(6)
    ),
    "dropout_eval": lambda m, x: m.nn.functional.dropout(x, 0.5, training=False),
    "l1_loss_none": lambda m, x: m.nn.functional.l1_loss(x, m.zeros_like(x), reduction="none"),
    "smooth_l1_none": lambda m, x: m.nn.functional.smooth_l1_loss(
        x, m.zeros_like(x), reduction="none"
    ),
    "huber_none": lambda m, x: m.nn.functional.huber_loss(x, m.zeros_like(x), reduction="none"),
    "hinge_none": lambda m, x: m.nn.functional.hinge_embedding_loss(
        x, m.ones_like(x), reduction="none"
    ),
    "margin_rank": lambda m, x: m.nn.functional.margin_ranking_loss(
        x, m.zeros_like(x), m.ones_like(x), reduction="none"
    ),
    "triu": lambda m, x: x.reshape(2, 3).triu().reshape(6),
    "diag_embed": lambda m, x: m.diag(x)[0],
    "cummax": lambda m, x: x.cummax(0).values,
    "median": lambda m, x: x.median().repeat(6),
    "kthvalue": lambda m, x: x.kthvalue(2).values.repeat(6),
    "mode": lambda m, x: x.reshape(2, 3).mode(1).values.repeat(3),
    "nanmedian": lambda m, x: x.nanmedian().repeat(6),
    "max_all": lambda m, x: x.max().repeat(6),
    "min_all": lambda m, x: x.min().repeat(6),
    "norm_inf": lambda m, x: m.linalg.vector_norm(x, float("inf")).repeat(6),
    "embedding": lambda m, x: m.nn.functional.embedding(
        m.tensor([0, 0, 1, 1, 2, 2]), x.reshape(6, 1)
    ).reshape(6),
    "scatter": lambda m, x: m.zeros(6).scatter(0, m.tensor([0, 1, 2]), x[:3]) + x * 0,
    "index_select": lambda m, x: x.index_select(0, m.tensor([0, 0, 1, 1, 2, 2])),
    "masked_select": lambda m, x: x.masked_select(m.ones(6, dtype=m.bool)),
    "unfold": lambda m, x: x.unfold(0, 2, 2).reshape(6),
    "interp_nearest": lambda m, x: m.nn.functional.interpolate(
        x[:3].reshape(1, 1, 3), scale_factor=2, mode="nearest"
    ).reshape(6),
}


def _grad(m, fn, fill):
    x = m.tensor(VALS, requires_grad=True)
    y = fn(m, x)
    y.backward(m.full(y.shape, fill))
    return x.grad.numpy()


@pytest.mark.parametrize("fill", [float("inf"), float("-inf"), float("nan")], ids=str)
@pytest.mark.parametrize("name", sorted(OPS))
def test_non_finite_upstream_gradient_as_torch(name, fill):
    ours, theirs = _grad(ember, OPS[name], fill), _grad(torch, OPS[name], fill)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape", [(64, 1024), (3,), ()])
def test_relu_large_and_small_inputs_stop_inf_gradients(shape):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape).astype(np.float32)
    g_np = np.where(rng.random(shape) < 0.5, np.inf, 1.0).astype(np.float32)
    out = []
    for m in (ember, torch):
        x = m.tensor(x_np, requires_grad=True)
        m.nn.functional.relu(x).backward(m.tensor(g_np))
        out.append(x.grad.numpy())
    np.testing.assert_array_equal(*out)


WINDOWED = {
    "adaptive_avg_pool1d": lambda F, x: F.adaptive_avg_pool1d(x[0], 3),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x, (4, 3)),
    "linear": lambda F, x: F.interpolate(x[0], size=4, mode="linear"),
    "bilinear": lambda F, x: F.interpolate(x, size=(4, 5), mode="bilinear"),
}


@pytest.mark.parametrize("name", sorted(WINDOWED))
def test_an_inf_input_stays_in_its_windows_as_torch(name):
    """Pooling and interpolation run as matrix products, where inf * 0 = NaN would spread an
    inf input over every output; the result must be torch's (inf only where its window is)."""
    x_np = np.arange(42.0, dtype=np.float32).reshape(1, 1, 6, 7)
    x_np[0, 0, 1, 2] = np.inf
    x_np[0, 0, 4, 5] = -np.inf
    ours = WINDOWED[name](ember.nn.functional, ember.tensor(x_np)).numpy()
    theirs = WINDOWED[name](torch.nn.functional, torch.tensor(x_np)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
