"""safetensors: byte-compatible with the reference package, and stricter when reading."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import ember
from ember.serialization import UnsafeCheckpointError, load_safetensors, save_safetensors
from ember.serialization._errors import CheckpointError

NP_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.float16, np.int32, np.float32,
             np.complex64, np.float64, np.int64]  # fmt: skip


def _sample(dt, shape):
    n = int(np.prod(shape)) if shape else 1
    x = np.arange(n, dtype=np.float64) - 2
    if dt is np.bool_:
        x = x % 2 == 0
    elif dt is np.complex64:
        x = x + 1j
    return x.astype(dt).reshape(shape)


def _ours(tensors: dict, metadata=None) -> bytes:
    buf = io.BytesIO()
    save_safetensors({k: ember.from_numpy(v) for k, v in tensors.items()}, buf, metadata)
    return buf.getvalue()


def _tensors() -> dict:
    tensors = {}
    for i, dt in enumerate(NP_DTYPES):
        tensors[f"t{9 - i}"] = _sample(dt, (2, 3))
        tensors[f"s{i}"] = _sample(dt, ())
        tensors[f"e{i}"] = _sample(dt, (0, 2))
    tensors['name with "quotes" and é and \u2028'] = _sample(np.float32, (5,))
    return tensors


@pytest.mark.parametrize("metadata", [None, {}, {"format": "pt"}, {'é\n"': "\x01/"}])
def test_byte_identical_to_reference(metadata):
    tensors = _tensors()
    assert _ours(tensors, metadata) == safetensors.numpy.save(tensors, metadata=metadata)


def test_metadata_with_several_keys():
    # The reference keeps metadata in a hash map, so its key order changes from run to run;
    # ember keeps the dict's order. The headers agree as JSON and in length.
    tensors, md = _tensors(), {"b": "1", "a": "2", "c": "3"}
    ours, ref = _ours(tensors, md), safetensors.numpy.save(tensors, metadata=md)
    assert len(ours) == len(ref)
    n = struct.unpack("<Q", ours[:8])[0]
    assert json.loads(ours[8 : 8 + n]) == json.loads(ref[8 : 8 + n])
    assert ours[8 + n :] == ref[8 + n :]
    assert list(json.loads(ours[8 : 8 + n])["__metadata__"]) == ["b", "a", "c"]


@pytest.mark.parametrize("n", range(1, 9))
def test_header_padding_matches(n):
    tensors = {"x" * n: np.ones(n, np.float32)}
    assert _ours(tensors) == safetensors.numpy.save(tensors)


def test_reads_reference_files_including_bf16(tmp_path):
    t = {
        "bf": torch.tensor([1.5, -2.0, 3.0e38], dtype=torch.bfloat16),
        "f": torch.arange(6.0).reshape(2, 3),
        "b": torch.tensor([True, False]),
        "c": torch.tensor([1 + 2j], dtype=torch.complex64),
        "scalar": torch.tensor(7, dtype=torch.int16),
    }
    safetensors.torch.save_file(t, tmp_path / "m.safetensors", metadata={"format": "pt"})
    for loaded in (load_safetensors(tmp_path / "m.safetensors"),
                   ember.load(tmp_path / "m.safetensors"),
                   ember.load(str(tmp_path / "m.safetensors"), mmap=True)):  # fmt: skip
        assert list(loaded) == list(safetensors.torch.load_file(tmp_path / "m.safetensors"))
        for k, v in t.items():
            if v.dtype is torch.bfloat16:  # bit-exact: compare the 16-bit words
                got = loaded[k]._data.view(np.int16)
                np.testing.assert_array_equal(got, v.view(torch.int16).numpy())
            else:
                np.testing.assert_array_equal(loaded[k]._data, v.numpy())
        assert loaded["bf"].dtype is ember.bfloat16


def test_reference_reads_ours(tmp_path):
    tensors = {f"t{i}": _sample(dt, (3, 2)) for i, dt in enumerate(NP_DTYPES)}
    path = tmp_path / "o.safetensors"
    save_safetensors({k: ember.from_numpy(v) for k, v in tensors.items()}, path, {"k": "v"})
    back = safetensors.numpy.load_file(path)
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)
    with safetensors.safe_open(path, "np") as f:
        assert f.metadata() == {"k": "v"}


def test_writer_refusals(tmp_path):
    base = ember.from_numpy(np.arange(6, dtype=np.float32))
    with pytest.raises(ValueError, match="non contiguous"):
        save_safetensors({"v": ember.from_numpy(np.arange(6.0)[::2])}, tmp_path / "a")
    with pytest.raises(RuntimeError, match="share memory"):
        save_safetensors({"a": base, "b": base}, tmp_path / "a")
    with pytest.raises(RuntimeError, match="share memory"):
        save_safetensors({"a": base, "b": ember.from_numpy(base._data[2:])}, tmp_path / "a")
    # Disjoint slices of one array do not overlap: allowed, as in the reference.
    save_safetensors(
        {"a": ember.from_numpy(base._data[:3]), "b": ember.from_numpy(base._data[3:])},
        tmp_path / "a",
    )
    with pytest.raises(ValueError, match="complex128"):
        save_safetensors({"c": ember.from_numpy(np.ones(2, np.complex128))}, tmp_path / "a")
    with pytest.raises(TypeError, match="metadata"):
        save_safetensors({"a": base}, tmp_path / "a", metadata={"k": 1})
    with pytest.raises(TypeError, match="not a Tensor"):
        save_safetensors({"a": np.ones(2)}, tmp_path / "a")
    with pytest.raises(ValueError, match="reserved"):
        save_safetensors({"__metadata__": base}, tmp_path / "a")
    with pytest.raises(TypeError, match="dict"):
        save_safetensors([base], tmp_path / "a")


def _file(header, data: bytes = b"", raw: bytes | None = None) -> bytes:
    head = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + data


def _t(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


@pytest.mark.parametrize(
    "blob,match",
    [(b"\x01\x00", "fewer than the 8-byte"),
     (struct.pack("<Q", 100_000_001) + b"{}", "over the limit"),
     (struct.pack("<Q", 50) + b"{}", "past the end"),
     (_file(None, raw=b"{\xff}"), "not valid UTF-8"),
     (_file(None, raw=b"{not json}"), "not valid JSON"),
     (_file(None, raw=b"[1, 2]"), "not a JSON object"),
     (_file(None, raw=b"[" * 100_000), "JSON|nested"),
     (_file({"__metadata__": {"a": 1}}), "__metadata__"),
     (_file({"__metadata__": _t()}, b"\x00" * 8), "__metadata__"),
     (_file({"a": _t(dtype="F32X")}, b"\x00" * 8), "unknown dtype"),
     (_file({"a": _t(dtype="f32")}, b"\x00" * 8), "unknown dtype"),
     (_file({"a": {"dtype": "F32", "shape": [2]}}, b"\x00" * 8), "needs dtype"),
     (_file({"a": _t(shape=(-2,))}, b"\x00" * 8), "non-negative integers"),
     (_file({"a": _t(shape=(True,))}, b"\x00" * 4), "non-negative integers"),
     (_file(None, raw=b'{"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}'),
      "only integers"),
     (_file(None, raw=b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 8]}}'),
      "NaN"),
     (_file({"a": _t(shape=(1,) * 65, offsets=(0, 4))}, b"\x00" * 4), "dimensions"),
     (_file({"a": _t(offsets=(0, 8, 9))}, b"\x00" * 8), "data_offsets"),
     (_file({"a": _t(offsets=(8, 0))}, b"\x00" * 8), "data_offsets"),
     (_file({"a": _t(offsets=(4, 12))}, b"\x00" * 12), "hole or overlap"),
     (_file({"a": _t(), "b": _t()}, b"\x00" * 8), "hole or overlap"),
     (_file({"a": _t(offsets=(0, 12))}, b"\x00" * 12), "shape needs 8"),
     (_file({"a": _t(shape=(2**62, 2**62))}, b"\x00" * 8), "shape needs"),
     (_file({"a": _t()}, b"\x00" * 9), "data section has 9"),
     (_file({"a": _t()}, b"\x00" * 7), "data section has 7"),
     (_file({"a": _t(dtype="F4", shape=(3,), offsets=(0, 2))}, b"\x00" * 2), "whole number")],
)  # fmt: skip
def test_reader_validation(tmp_path, blob, match):
    with pytest.raises(CheckpointError, match=match):
        load_safetensors(io.BytesIO(blob))


def test_duplicate_names_rejected():
    head = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
    head += b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    with pytest.raises(UnsafeCheckpointError, match="repeats the name 'a'"):
        load_safetensors(io.BytesIO(_file(None, b"\x00" * 4, raw=head)))


def test_reader_accepts_what_reference_accepts():
    # Leading whitespace, unknown fields, empty files and U8/I8 data.
    head = b'  {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2], "extra": 1}}'
    loaded = load_safetensors(io.BytesIO(_file(None, b"\x01\x02", raw=head)))
    assert loaded["a"].tolist() == [1, 2]
    assert load_safetensors(io.BytesIO(_file({}))) == {}
    with pytest.raises(CheckpointError, match="U16"):
        load_safetensors(io.BytesIO(_file({"a": _t(dtype="U16", offsets=(0, 4))}, b"\x00" * 4)))


def test_header_length_that_looks_like_a_pickle(tmp_path):
    # A 640-byte header starts the file with b"\x80\x02", like a legacy torch file.
    name = "n" * (640 - len('{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'))
    data = _ours({name: np.ones(1, np.float32)})
    assert data[:2] == b"\x80\x02"
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    assert ember.load(path)[name].tolist() == [1.0]
