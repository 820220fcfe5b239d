"""Files written by real torch 2.13 load in ember, without torch (no torch import here)."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.serialization import UnsafeCheckpointError, load_safetensors
from ember.serialization._errors import CheckpointError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
EXPECTED = dict(np.load(FIXTURES / "expected.npz"))
DTYPE_NAMES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
               "uint8", "bool", "complex64", "complex128"]  # fmt: skip


def _np(t) -> np.ndarray:
    return t._data


def test_manifest_matches_files():
    lines = (FIXTURES / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ")
        listed[name] = digest
    on_disk = {
        p.name
        for p in FIXTURES.iterdir()
        if p.is_file() and p.name not in ("SHA256SUMS", "make_fixtures.py")
    }
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", ["everything.pt", "legacy.pt"])
@pytest.mark.parametrize("mmap", [False, True])
def test_every_dtype_scalar_empty(name, mmap):
    if name == "legacy.pt" and mmap:
        with pytest.raises(RuntimeError, match="mmap can only be used"):
            ember.load(FIXTURES / name, mmap=True)
        return
    sd = ember.load(FIXTURES / name, mmap=mmap)
    assert isinstance(sd, OrderedDict)
    for dt in DTYPE_NAMES:
        for suffix, shape in (("", (2, 3)), ("_scalar", ()), ("_empty", (0, 4))):
            key = dt + suffix
            t = sd[key]
            assert isinstance(t, ember.Tensor)
            want = EXPECTED[key]
            assert tuple(t.shape) == shape
            assert t.dtype is getattr(ember, dt), key  # bfloat16 too (ml_dtypes)
            np.testing.assert_array_equal(_np(t), want)
            assert not t.requires_grad


@pytest.mark.parametrize("name", ["everything.pt", "legacy.pt"])
def test_views_offsets_and_ties(name):
    sd = ember.load(FIXTURES / name)
    base = sd["base"]
    assert sd["tied_a"] is sd["tied_b"] is base
    for key, offset, stride in (
        ("view_offset", 7, (5, 1)),
        ("view_transposed", 0, (1, 5)),
        ("view_step", 0, (10, 3)),
    ):
        v = sd[key]
        np.testing.assert_array_equal(_np(v), EXPECTED[key])
        assert v.storage_offset() == offset
        assert v.stride() == stride
        assert np.shares_memory(_np(v), _np(base))
    # Writing through the base shows in the view: one storage, as in torch.
    base._data[1, 2] = 100.0
    assert sd["view_offset"]._data[0, 0] == 100.0
    np.testing.assert_array_equal(_np(sd["conj"]), EXPECTED["conj"])


def test_crc_off_and_big_endian():
    sd = ember.load(FIXTURES / "crc_off.pt")
    assert list(sd) == ["float64", "float64_scalar", "float64_empty", "float32",
                        "float32_scalar", "float32_empty"]  # fmt: skip
    for k, v in sd.items():
        np.testing.assert_array_equal(_np(v), EXPECTED[k])
    be = ember.load(FIXTURES / "big_endian.pt")
    assert list(be) == ["float32", "int64", "complex64", "int16", "float16", "bool"]
    for k, v in be.items():
        np.testing.assert_array_equal(_np(v), EXPECTED[k])
        assert v._data.dtype.isnative


def test_module_state_metadata():
    sd = ember.load(FIXTURES / "module_state.pt")
    assert list(sd._metadata.items()) == [
        ("", {"version": 1}), ("0", {"version": 1}), ("1", {"version": 2}), ("2", {"version": 1})
    ]  # fmt: skip
    for k, v in sd.items():
        np.testing.assert_array_equal(_np(v), EXPECTED[f"module.{k}"])
    assert sd["1.num_batches_tracked"].dtype is ember.int64


def test_optimizer_state():
    sd = ember.load(FIXTURES / "optimizer_state.pt")
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0, 1]
    assert sd["state"][0]["step"].item() == 2.0
    assert sd["state"][1]["exp_avg"].shape == (2,)
    group = sd["param_groups"][0]
    assert group["params"] == [0, 1] and group["betas"] == (0.9, 0.999) and group["lr"] == 0.1


def test_parameter_size_and_plain_values():
    from ember.nn import Parameter

    obj = ember.load(FIXTURES / "parameter.pt")
    p = obj["p"]
    assert type(p) is Parameter and p.requires_grad
    np.testing.assert_array_equal(_np(p), [[-2.0, -1.25], [-0.5, 0.25]])
    assert obj["n"] == [1, (2.5, "x"), None, True]
    assert obj["s"] == (2, 3) and type(obj["s"]) is ember.Size


def test_unsupported_dtype_is_named():
    with pytest.raises(CheckpointError, match="uint16"):
        ember.load(FIXTURES / "uint16.pt")


def test_safetensors_fixture():
    for loaded in (
        load_safetensors(FIXTURES / "tensors.safetensors"),
        ember.load(FIXTURES / "tensors.safetensors"),
        ember.load(FIXTURES / "tensors.safetensors", mmap=True),
    ):
        assert "complex128" not in loaded  # safetensors 0.8.0 has no complex128
        for k, v in loaded.items():
            np.testing.assert_array_equal(_np(v), EXPECTED[k])
        assert loaded["bfloat16"].dtype is ember.bfloat16


def test_file_objects_and_offsets(tmp_path):
    data = (FIXTURES / "everything.pt").read_bytes()
    sd = ember.load(io.BytesIO(data))
    np.testing.assert_array_equal(_np(sd["float32"]), EXPECTED["float32"])
    # A stream positioned after other data, as when several objects share one file.
    buf = io.BytesIO(b"xyz" + data)
    buf.seek(3)
    assert list(ember.load(buf)) == list(sd)
    legacy = ember.load(io.BytesIO((FIXTURES / "legacy.pt").read_bytes()))
    assert list(legacy) == list(sd)
    with open(FIXTURES / "legacy.pt", "rb") as fh:
        assert list(ember.load(fh)) == list(sd)

    class Unseekable(io.RawIOBase):
        def __init__(self, raw):
            self._b = io.BytesIO(raw)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            return self._b.readinto(b)

    assert list(ember.load(io.BufferedReader(Unseekable(data)))) == list(sd)
    # Paths of any kind; mmap needs one.
    shutil.copy(FIXTURES / "everything.pt", tmp_path / "a.pth")
    assert list(ember.load(str(tmp_path / "a.pth"))) == list(sd)
    with pytest.raises(ValueError, match="file path"):
        ember.load(io.BytesIO(data), mmap=True)


def test_mmap_is_copy_on_write(tmp_path):
    path = tmp_path / "e.pt"
    shutil.copy(FIXTURES / "everything.pt", path)
    before = path.read_bytes()
    sd = ember.load(path, mmap=True)
    sd["float32"]._data[...] = 42.0
    assert path.read_bytes() == before
    assert (sd["float32"]._data == 42.0).all()


def test_map_location_forms():
    path = FIXTURES / "parameter.pt"
    for ml in (None, "cpu", ember.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage):
        assert ember.load(path, map_location=ml)["p"].shape == (2, 2)
    assert ember.load(path, map_location=lambda s, loc: None)["s"] == (2, 3)
    with pytest.raises(RuntimeError, match="cuda"):
        ember.load(path, map_location="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        ember.load(path, map_location={"cpu": "cuda:0"})
    with pytest.raises(TypeError, match="map_location"):
        ember.load(path, map_location=3)


def test_weights_only_false_loads_and_pickle_module_refused():
    import pickle

    full = ember.load(FIXTURES / "parameter.pt", weights_only=False)
    assert ember.equal(full["p"], ember.load(FIXTURES / "parameter.pt")["p"])
    with pytest.raises(RuntimeError, match="pickle_module"):
        ember.load(FIXTURES / "parameter.pt", pickle_module=pickle)
    # weights_only=None means the default (True).
    assert "p" in ember.load(FIXTURES / "parameter.pt", weights_only=None)


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"hello world, this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a PyTorch or safetensors"):
        ember.load(p)
    p.write_bytes(b"")
    with pytest.raises(CheckpointError):
        ember.load(p)
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pt")
    with pytest.raises(AttributeError, match="read"):
        ember.load(12345)


def test_unsafe_error_is_an_unpickling_error():
    import pickle

    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
    assert issubclass(CheckpointError, RuntimeError)


def test_cuda_locations_need_map_location():
    from ._builders import float_bytes, load_bytes, tensor_pickle, zip_checkpoint

    data = zip_checkpoint(tensor_pickle(location="cuda:0"), {"0": float_bytes(4)})
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        load_bytes(data)
    for ml in ("cpu", {"cuda:0": "cpu"}, lambda storage, loc: storage):
        assert ember.load(io.BytesIO(data), map_location=ml)["t"].tolist() == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="mps"):
        ember.load(io.BytesIO(data), map_location={"cuda:0": "mps"})
