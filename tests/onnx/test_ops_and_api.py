"""Tensor operations in a user's forward, the export API, and clear refusals."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest

import ember
import ember.nn.functional as F
from ember import nn

from ._lib import assert_same


class Ops(nn.Module):
    """A forward made of the common tensor operations, each form (method, function, operator)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("scale", ember.tensor([0.5, 1.0, 1.5, 2.0]))

    def forward(self, x: ember.Tensor, y: ember.Tensor) -> tuple:
        a = self.fc(x) * self.scale + 1.0
        b = ember.cat([a, y], dim=1).view(x.size(0), -1).reshape(-1, 2, 4)
        c = b.permute(0, 2, 1).transpose(1, 2).contiguous()
        d = (c @ c.transpose(-1, -2)).softmax(dim=-1)
        e = F.relu(d - 0.1).sum(dim=1) / 2 + d.mean(dim=(1, 2), keepdim=True).squeeze(-1)
        f = ember.stack([x, y], dim=0).flatten(1)
        g = x[:, 1:3] + y[..., :2] * x[0][1:3] - x.unsqueeze(0).squeeze(0)[:, None, 1]
        h1, h2 = x.chunk(2, dim=1)
        i = ember.sigmoid(h1).exp() + ember.tanh(h2).abs().sqrt() + (-h1).clamp(min=-0.5, max=0.5)
        j = x.pow(2).neg() + 2 ** x.clamp(max=1) + 1 - x
        k = F.gelu(x) + F.silu(x) + F.leaky_relu(x, 0.3) + F.log_softmax(x, dim=1)
        m = ember.where(x > 0, x, y) + ember.maximum(x, y) + ember.minimum(x, y) * (y <= 0.5)
        n = x.argmax(dim=1).float() + x.amax(dim=1)
        return e, f, g, i, j, k, m, n


def test_tensor_operations_match_onnxruntime() -> None:
    args = (ember.randn(3, 4), ember.randn(3, 4))
    assert_same(Ops(), args, atol=1e-5)


def test_tensor_operations_with_dynamic_batch() -> None:
    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            h = self.conv(x)
            return ember.flatten(h, 1) @ ember.ones(2 * 4 * 4, 3), h.view(h.size(0), -1)

    dyn = {"x": {0: "n"}, "a": {0: "n"}, "b": {0: "n"}}
    kw = dict(input_names=["x"], output_names=["a", "b"], dynamic_axes=dyn)
    for n in (1, 4):
        assert_same(Flat(), (ember.randn(2, 1, 6, 6),), [ember.randn(n, 1, 6, 6)], **kw)


def test_tensor_properties_are_operations() -> None:
    class Props(nn.Module):
        def forward(self, x, y):
            return x.T @ y[0], y.mT + 1, x.shape[0] * y

    assert_same(Props(), (ember.randn(3, 2), ember.randn(2, 3, 4)))

    class Data(nn.Module):
        def forward(self, x):
            return x.data + 1

    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="'Tensor.data'"):
        ember.onnx.export(Data(), (ember.randn(2),), io.BytesIO())


@pytest.mark.parametrize("start,end", [(0, -1), (1, -1), (2, -1), (1, 2), (0, 1)])
def test_flatten_ranges(start: int, end: int) -> None:
    class Flat(nn.Module):
        def forward(self, x):
            return x.flatten(start, end) * 2

    dyn = {"x": {0: "n"}, "y": {0: "n"}} if start > 0 else None
    kw = dict(input_names=["x"], output_names=["y"], dynamic_axes=dyn)
    assert_same(Flat(), (ember.randn(2, 3, 4, 5),), **kw)
    if dyn:
        assert_same(Flat(), (ember.randn(2, 3, 4, 5),), [ember.randn(4, 3, 4, 5)], **kw)


class _Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize(
    "fn,what",
    [
        (lambda x: x.div(2, rounding_mode="floor"), "rounding_mode"),
        (lambda x: x.sum(dtype=ember.float64), "dtype"),
        (lambda x: x.softmax(0, dtype=ember.float64), "dtype"),
    ],
)
def test_untranslated_arguments_refused(fn, what: str) -> None:
    with pytest.raises(ember.onnx.ExportError, match=what):
        ember.onnx.export(_Fn(fn), (ember.randn(3),), io.BytesIO())


def test_in_place_operations_are_recorded() -> None:
    class InPlace(nn.Module):
        def forward(self, x):
            y = x * 1
            y.add_(2)
            y.mul_(x)
            y += 1
            return F.relu(y)

    assert_same(InPlace(), (ember.randn(3, 4),))


def test_unsupported_operator_names_it() -> None:
    class Cum(nn.Module):
        def forward(self, x):
            return x.cumsum(0)

    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="'Tensor.cumsum'"):
        ember.onnx.export(Cum(), (ember.randn(3),), io.BytesIO())


def test_unsupported_module_names_it() -> None:
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="'ember.nn.Bilinear'"):
        ember.onnx.export(
            nn.Bilinear(2, 2, 3), (ember.randn(1, 2), ember.randn(1, 2)), io.BytesIO()
        )


def test_setitem_on_a_traced_tensor_is_refused() -> None:
    class Write(nn.Module):
        def forward(self, x):
            x[0] = 1.0
            return x

    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="__setitem__"):
        ember.onnx.export(Write(), (ember.randn(3),), io.BytesIO())


def test_dropout_function_in_training_refused() -> None:
    class D(nn.Module):
        def forward(self, x):
            return F.dropout(x, 0.5, training=True)

    with pytest.raises(ember.onnx.ExportError, match="dropout"):
        ember.onnx.export(D(), (ember.randn(3),), io.BytesIO())


def test_is_in_onnx_export_and_wrappers_removed_afterwards() -> None:
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(ember.onnx.is_in_onnx_export())
            return x + 1

    original_add = ember.Tensor.__add__
    ember.onnx.export(Probe(), (ember.randn(2),), io.BytesIO())
    # the forward runs twice: the second trace checks that nothing untraced depends on the inputs
    assert seen == [True, True] and not ember.onnx.is_in_onnx_export()
    assert ember.Tensor.__add__ is original_add
    assert not hasattr(F.relu, "_ember_onnx_original")
    assert nn.Module.__call__.__qualname__ == "Module.__call__"


def test_export_to_a_path_returns_program(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    prog = ember.onnx.export(nn.Linear(3, 2), (ember.randn(1, 3),), str(path), opset_version=17)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17
    assert prog.model_proto == model
    names = {i.name for i in model.graph.initializer}
    assert {"weight", "bias"} <= names  # parameters keep their state_dict names


def test_default_input_names_follow_forward_and_trailing_dict_is_kwargs() -> None:
    class Two(nn.Module):
        def forward(self, features, bias=None):
            return features + bias

    prog = ember.onnx.export(Two(), (ember.randn(2), {"bias": ember.randn(2)}))
    assert [i.name for i in prog.model_proto.graph.input] == ["features", "bias"]


def test_dynamic_axes_list_form_names_dims() -> None:
    prog = ember.onnx.export(
        nn.Linear(3, 2), (ember.randn(4, 3),), input_names=["x"], dynamic_axes={"x": [0]}
    )
    dim = prog.model_proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "x_dynamic_axes_1"


def test_refused_arguments() -> None:
    with pytest.raises(NotImplementedError, match="dynamic_shapes"):
        ember.onnx.export(nn.Linear(3, 2), (ember.randn(1, 3),), dynamic_shapes={"x": {0: "n"}})
    with pytest.raises(TypeError, match="unexpected keyword"):
        ember.onnx.export(nn.Linear(3, 2), (ember.randn(1, 3),), not_an_option=1)
    with pytest.raises(ember.onnx.ExportError, match="opset"):
        ember.onnx.export(nn.Linear(3, 2), (ember.randn(1, 3),), opset_version=9)


def test_embedding_model_word_language_style() -> None:
    class LM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.rnn = nn.LSTM(6, 8, 2)
            self.dec = nn.Linear(8, 20)

        def forward(self, tokens, h, c):
            out, (h, c) = self.rnn(self.emb(tokens), (h, c))
            return F.log_softmax(self.dec(out).view(-1, 20), dim=1), h, c

    tok = ember.tensor(np.random.default_rng(0).integers(0, 20, (5, 3)))
    assert_same(LM(), (tok, ember.zeros(2, 3, 8), ember.zeros(2, 3, 8)))


def test_missing_onnx_names_the_extra(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[onnx\]'"):
        ember.onnx.export(nn.Linear(2, 2), (ember.randn(1, 2),))
    assert ember.onnx.is_in_onnx_export() is False  # needs no onnx


def test_import_ember_loads_none_of_the_ecosystem() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ember; "
        "print(any(m.split('.')[0] in ('onnx', 'onnxruntime', 'tensorboard', 'multiprocessing') "
        "or m.startswith(('ember.onnx', 'ember.multiprocessing', 'ember.utils.tensorboard')) "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
