"""Every translated layer: the exported file in onnxruntime gives ember's outputs."""

from __future__ import annotations

import pytest

import ember
from ember import nn

from ._lib import assert_same

LAYERS = {
    "linear2d": (lambda: nn.Linear(6, 4), (3, 6)),
    "linear3d": (lambda: nn.Linear(6, 4), (2, 3, 6)),
    "linear_nobias": (lambda: nn.Linear(6, 4, bias=False), (3, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1, dilation=1), (2, 3, 8, 8)),
    "conv2d_groups": (lambda: nn.Conv2d(4, 4, 3, groups=2, dilation=2), (2, 4, 9, 9)),
    "conv2d_same": (lambda: nn.Conv2d(3, 2, 4, padding="same"), (1, 3, 7, 7)),
    "conv_t2d": (
        lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        (2, 3, 5, 5),
    ),
    "maxpool2d": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 9)),
    "maxpool2d_ceil": (lambda: nn.MaxPool2d(2, ceil_mode=True), (1, 2, 7, 7)),
    "maxpool1d": (lambda: nn.MaxPool1d(2), (2, 3, 8)),
    "avgpool2d": (
        lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        (2, 3, 9, 9),
    ),
    "avgpool1d": (lambda: nn.AvgPool1d(2), (2, 3, 8)),
    "adaptive_avg_1": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 6, 6)),
    "adaptive_avg_2": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 6, 6)),
    "adaptive_max_1": (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 6, 6)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5), (4, 5)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "batchnorm2d_noaffine": (lambda: nn.BatchNorm2d(3, affine=False), (2, 3, 4, 4)),
    "layernorm": (lambda: nn.LayerNorm(6), (2, 3, 6)),
    "layernorm2": (lambda: nn.LayerNorm((3, 6), elementwise_affine=False), (2, 3, 6)),
    "groupnorm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    "relu": (nn.ReLU, (3, 5)),
    "gelu": (nn.GELU, (3, 5)),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), (3, 5)),
    "silu": (nn.SiLU, (3, 5)),
    "tanh": (nn.Tanh, (3, 5)),
    "sigmoid": (nn.Sigmoid, (3, 5)),
    "leaky": (lambda: nn.LeakyReLU(0.2), (3, 5)),
    "elu": (lambda: nn.ELU(0.5), (3, 5)),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 0.5), (3, 5)),
    "relu6": (nn.ReLU6, (3, 5)),
    "softplus": (nn.Softplus, (3, 5)),
    "softmax": (lambda: nn.Softmax(dim=1), (3, 5)),
    "logsoftmax": (lambda: nn.LogSoftmax(dim=-1), (3, 5)),
    "dropout": (lambda: nn.Dropout(0.5), (3, 5)),
    "dropout2d": (lambda: nn.Dropout2d(0.5), (2, 3, 4, 4)),
    "flatten": (nn.Flatten, (2, 3, 4, 4)),
    "flatten_mid": (lambda: nn.Flatten(1, 2), (2, 3, 4, 4)),
    "identity": (nn.Identity, (2, 3)),
}


def _stats(m: nn.Module) -> None:
    """Give norm layers non-trivial running statistics."""
    for mod in m.modules():
        if getattr(mod, "running_mean", None) is not None:
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_onnxruntime(name: str) -> None:
    make, shape = LAYERS[name]
    m = make()
    _stats(m)
    m.eval()
    assert_same(m, (ember.randn(*shape),))


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_both_opsets(opset: int) -> None:
    assert_same(nn.GELU(), (ember.randn(4, 3),), opset_version=opset)


def test_embedding_with_int64_indices() -> None:
    m = nn.Embedding(10, 4)
    idx = ember.tensor([[1, 2, 9], [0, 0, 3]])
    assert_same(m, (idx,))


def test_sequential_cnn_with_dynamic_batch() -> None:
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 10),
        nn.LogSoftmax(dim=1),
    )
    _stats(m)
    dyn = {"x": {0: "batch"}, "y": {0: "batch"}}
    for batch in (1, 5):
        assert_same(
            m,
            (ember.randn(2, 1, 8, 8),),
            [ember.randn(batch, 1, 8, 8)],
            input_names=["x"],
            output_names=["y"],
            dynamic_axes=dyn,
        )


def test_eval_mode_used_and_training_mode_restored() -> None:
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9), nn.BatchNorm1d(3))
    m.train()
    assert_same(m, (ember.randn(4, 3),))  # would differ if dropout or batch stats ran
    m2 = nn.Sequential(nn.Dropout(0.9))
    m2.train()
    import io

    ember.onnx.export(m2, (ember.randn(2, 2),), io.BytesIO())
    assert m2.training and m2[0].training
