"""Whole objects in checkpoints, both ways: torch.save of a whole model (nn.Sequential, an
nn.Module subclass), optimizer and NumPy arrays loads into ember's classes with
weights_only=False; ember.save of the same loads in torch; weights_only=True stays closed except
for add_safe_globals."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch

import ember
from ember.serialization import UnsafeCheckpointError
from tests.parity import to_numpy

X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def _layers(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.LayerNorm(8), lib.nn.Linear(8, 2)
    )


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = _layers(torch)
        self.register_buffer("offset", torch.full((2,), 0.5))

    def forward(self, x):
        return self.body(x) + self.offset


class EmberNet(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = _layers(ember)
        self.register_buffer("offset", ember.full((2,), 0.5))

    def forward(self, x):
        return self.body(x) + self.offset


TorchNet.__qualname__ = EmberNet.__qualname__ = "Net"


@pytest.fixture
def net_named(monkeypatch):
    """Both classes pickle as ``<this module>.Net``: the class a script defines under its own
    name, whether it imported torch or ember as torch."""
    mod = sys.modules[__name__]

    def use(cls):
        monkeypatch.setattr(mod, "Net", cls, raising=False)

    return use


def _same_output(e_model, t_model):
    eo = e_model(ember.tensor(X))
    to = t_model(torch.tensor(X))
    np.testing.assert_allclose(to_numpy(eo), to_numpy(to), rtol=1e-5, atol=1e-6)


def test_torch_whole_sequential_loads_into_ember_classes(tmp_path):
    t = _layers(torch)
    torch.save(t, tmp_path / "seq.pt")
    e = ember.load(tmp_path / "seq.pt", weights_only=False)
    assert type(e) is ember.nn.Sequential
    assert [type(m) for m in e] == [
        ember.nn.Linear,
        ember.nn.ReLU,
        ember.nn.LayerNorm,
        ember.nn.Linear,
    ]
    assert isinstance(e[0].weight, ember.nn.Parameter)
    _same_output(e, t)
    # and it trains: gradients flow to the loaded parameters
    e(ember.tensor(X)).sum().backward()
    assert e[0].weight.grad is not None


def test_torch_module_subclass_loads_into_ember_subclass(tmp_path, net_named):
    net_named(TorchNet)
    t = TorchNet()
    torch.save(t, tmp_path / "net.pt")
    net_named(EmberNet)
    e = ember.load(tmp_path / "net.pt", weights_only=False)
    assert type(e) is EmberNet and type(e.body) is ember.nn.Sequential
    assert ember.equal(e.offset, ember.full((2,), 0.5))
    _same_output(e, t)
    assert set(e.state_dict()) == set(t.state_dict())


def test_ember_whole_model_loads_into_torch_classes(tmp_path, net_named):
    net_named(EmberNet)
    e = EmberNet()
    ember.save(e, tmp_path / "net.pt")
    ember.save(e.body, tmp_path / "seq.pt")
    seq = torch.load(tmp_path / "seq.pt", weights_only=False)
    assert type(seq) is torch.nn.Sequential and type(seq[0]) is torch.nn.Linear
    _same_output(e.body, seq)
    net_named(TorchNet)
    t = torch.load(tmp_path / "net.pt", weights_only=False)
    assert type(t) is TorchNet
    _same_output(e, t)


def test_optimizer_and_model_together_both_ways(tmp_path):
    t = _layers(torch)
    opt = torch.optim.Adam(t.parameters(), lr=0.01)
    t(torch.tensor(X)).sum().backward()
    opt.step()
    torch.save({"model": t, "opt": opt, "epoch": 3}, tmp_path / "ckpt.pt")
    got = ember.load(tmp_path / "ckpt.pt", weights_only=False)
    assert type(got["opt"]) is ember.optim.Adam and got["epoch"] == 3
    # the optimizer's parameters are the loaded model's (shared objects, as in the pickle)
    assert got["opt"].param_groups[0]["params"][0] is got["model"][0].weight
    state = got["opt"].state[got["model"][0].weight]
    np.testing.assert_allclose(
        to_numpy(state["exp_avg"]), to_numpy(opt.state[t[0].weight]["exp_avg"])
    )
    # one more step each, from the loaded state: the same parameters
    e = got["model"]
    e(ember.tensor(X)).sum().backward()
    got["opt"].step()
    opt.zero_grad()
    t(torch.tensor(X)).sum().backward()
    opt.step()
    for a, b in zip(e.parameters(), t.parameters()):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-6)
    # and back to torch
    ember.save(got, tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=False)
    assert type(back["opt"]) is torch.optim.Adam and type(back["model"]) is torch.nn.Sequential


def test_numpy_arrays_and_plain_objects_both_ways(tmp_path):
    obj = {"arr": np.arange(6.0).reshape(2, 3), "t": ember.ones(2), "s": {1, 2}, "f": 1.5}
    ember.save(obj, tmp_path / "np.pt")
    back = torch.load(tmp_path / "np.pt", weights_only=False)
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    assert isinstance(back["t"], torch.Tensor) and back["s"] == {1, 2}
    torch.save(
        {"arr": np.ones(3, np.int16), "t": torch.zeros(2, dtype=torch.float64)}, tmp_path / "t.pt"
    )
    got = ember.load(tmp_path / "t.pt", weights_only=False)
    assert got["arr"].dtype == np.int16 and got["t"].dtype == ember.float64


def test_dtypes_devices_sizes_inside_whole_objects(tmp_path):
    obj = [ember.float16, ember.device("cpu"), ember.Size([2, 3]), ember.nn.functional.relu]
    ember.save(obj, tmp_path / "misc.pt")
    with pytest.raises(UnsafeCheckpointError, match="relu is not allowed"):
        ember.load(tmp_path / "misc.pt", weights_only=True)
    back = torch.load(tmp_path / "misc.pt", weights_only=False)
    assert back[:3] == [torch.float16, torch.device("cpu"), torch.Size([2, 3])]
    assert back[3] is torch.nn.functional.relu
    torch.save([torch.int8, torch.Size([4]), torch.nn.functional.gelu], tmp_path / "t.pt")
    got = ember.load(tmp_path / "t.pt", weights_only=False)
    assert got == [ember.int8, ember.Size([4]), ember.nn.functional.gelu]


def test_torch_name_ember_lacks_is_named(tmp_path):
    torch.save(torch.nn.Identity(), tmp_path / "ok.pt")
    assert isinstance(ember.load(tmp_path / "ok.pt", weights_only=False), ember.nn.Identity)
    torch.save({"q": torch.ao.quantization.QConfig}, tmp_path / "q.pt")
    with pytest.raises(pickle.UnpicklingError, match="ember does not have"):
        ember.load(tmp_path / "q.pt", weights_only=False)


def test_weights_only_true_still_refuses_whole_objects(tmp_path):
    torch.save(_layers(torch), tmp_path / "seq.pt")
    with pytest.raises(UnsafeCheckpointError, match="not allowed"):
        ember.load(tmp_path / "seq.pt")
    with pytest.raises(pickle.UnpicklingError):  # torch's own weights-only loader refuses too
        torch.load(tmp_path / "seq.pt", weights_only=True)


def test_state_dicts_still_load_weights_only_in_torch(tmp_path):
    e = _layers(ember)
    ember.save({"model": e.state_dict(), "step": 2}, tmp_path / "sd.pt")
    back = torch.load(tmp_path / "sd.pt", weights_only=True)
    t = _layers(torch)
    t.load_state_dict(back["model"])
    _same_output(e, t)


class Config:
    """A plain class a checkpoint may hold (allowed with add_safe_globals)."""

    def __init__(self, width=0):
        self.width = width


class Point(tuple):
    pass


def test_safe_globals_as_torch(tmp_path):
    path = tmp_path / "cfg.pt"
    torch.save({"cfg": Config(7), "w": torch.ones(2)}, path)
    for lib in (ember, torch):
        ser = lib.serialization
        assert ser.get_unsafe_globals_in_checkpoint(path) == [f"{__name__}.Config"]
        with pytest.raises(pickle.UnpicklingError):
            lib.load(path, weights_only=True)
        with ser.safe_globals([Config]):
            assert ser.get_unsafe_globals_in_checkpoint(path) == []
            got = lib.load(path, weights_only=True)
            assert type(got["cfg"]) is Config and got["cfg"].width == 7
        assert Config not in ser.get_safe_globals()
        ser.add_safe_globals([(Config, f"{__name__}.Config")])
        assert lib.load(path, weights_only=True)["cfg"].width == 7
        ser.clear_safe_globals()
        assert ser.get_safe_globals() == []


def test_safe_globals_with_torch_class_names(tmp_path):
    path = tmp_path / "lin.pt"
    torch.save(torch.nn.Linear(2, 3), path)
    assert "torch.nn.modules.linear.Linear" in torch.serialization.get_unsafe_globals_in_checkpoint(
        path
    )
    with ember.serialization.safe_globals([ember.nn.Linear]):
        lin = ember.load(path, weights_only=True)
    assert type(lin) is ember.nn.Linear and lin.weight.shape == ember.Size([3, 2])
    _ = lin(ember.ones(1, 2))


def test_legacy_format_whole_objects(tmp_path):
    # torch's legacy (pre-1.6) format holds a whole model too; ember reads it, and writes the
    # legacy format for weights-only data.
    t = _layers(torch)
    torch.save(t, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    e = ember.load(tmp_path / "old.pt", weights_only=False)
    assert type(e) is ember.nn.Sequential
    _same_output(e, t)
    with pytest.raises(UnsafeCheckpointError):
        ember.load(tmp_path / "old.pt")
    with pytest.raises(TypeError):
        ember.save(_layers(ember), tmp_path / "e.pt", _use_new_zipfile_serialization=False)


LAYERS = {
    "conv_stack": (
        lambda L: L.nn.Sequential(
            L.nn.Conv2d(3, 4, 3, padding=1),
            L.nn.BatchNorm2d(4),
            L.nn.ReLU(),
            L.nn.MaxPool2d(2),
            L.nn.Flatten(),
        ),
        (2, 3, 8, 8),
    ),  # fmt: skip
    "lstm": (lambda L: L.nn.LSTM(5, 6, num_layers=2, batch_first=True), (2, 4, 5)),
    "gru": (lambda L: L.nn.GRU(5, 6), (4, 2, 5)),
    "attention": (lambda L: L.nn.MultiheadAttention(8, 2, batch_first=True), (2, 3, 8)),
    "encoder_layer": (
        lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        (2, 3, 8),
    ),
    "norms": (lambda L: L.nn.Sequential(L.nn.GroupNorm(2, 4), L.nn.LayerNorm([4, 5])), (3, 4, 5)),
    "conv_transpose": (lambda L: L.nn.ConvTranspose2d(3, 2, 3, stride=2), (1, 3, 5, 5)),
    "conv1d_reflect": (
        lambda L: L.nn.Conv1d(3, 2, 3, padding="same", padding_mode="reflect"),
        (1, 3, 7),
    ),
}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", list(LAYERS))
def test_whole_layers_round_trip_through_both_libraries(name, tmp_path):
    make, shape = LAYERS[name]
    t = make(torch).eval()
    torch.save(t, tmp_path / "t.pt")
    e = ember.load(tmp_path / "t.pt", weights_only=False).eval()
    assert type(e).__name__ == type(t).__name__ and type(e).__module__.startswith("ember.")
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    n_args = 3 if name == "attention" else 1
    expected = _first(t(*[torch.tensor(x)] * n_args))
    got = _first(e(*[ember.tensor(x)] * n_args))
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), rtol=1e-5, atol=1e-5)
    ember.save(e, tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt", weights_only=False).eval()
    assert type(back) is type(t)
    for sub_t, sub_back in zip(t.modules(), back.modules()):
        assert type(sub_back) is type(sub_t)  # torch's own classes all the way down
    again = _first(back(*[torch.tensor(x)] * n_args))
    np.testing.assert_allclose(to_numpy(again), to_numpy(expected), rtol=1e-6, atol=1e-6)


def test_whole_model_loads_without_torch_installed(tmp_path):
    import subprocess
    import textwrap

    torch.save(_layers(torch), tmp_path / "seq.pt")
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None  # importing torch now fails
        import ember
        m = ember.load({str(tmp_path / "seq.pt")!r}, weights_only=False)
        print(type(m).__module__, type(m[0]).__name__, tuple(m(ember.ones(1, 4)).shape))
        """
    )
    root = str(__import__("pathlib").Path(ember.__file__).parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert out.stdout.split() == ["ember.nn.modules.container", "Linear", "(1,", "2)"]
