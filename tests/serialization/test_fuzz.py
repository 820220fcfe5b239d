"""Fuzzing: mutated valid files raise only ember's own errors (no crash, hang or blow-up)."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember.serialization import UnsafeCheckpointError, save_safetensors
from ember.serialization._errors import CheckpointError
from ember.serialization._format import prepare_zip

from ._builders import zip_checkpoint

ALLOWED = (UnsafeCheckpointError, CheckpointError)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _sample_object():
    from ember.nn import Parameter

    base = ember.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4))
    sd = OrderedDict(
        w=base,
        v=ember.from_numpy(base._data[1:, 1:]),
        i=ember.from_numpy(np.array([1, 2, 3], np.int64)),
        b=ember.from_numpy(np.array([True, False])),
        p=Parameter(ember.from_numpy(np.ones(2, np.float16))),
        nested=[1, 2.5, "x", None, (True, b"\x00"), {"k": {1, 2}}, 1 + 2j],
    )
    sd._metadata = OrderedDict([("", {"version": 1})])
    return sd


def _zip_parts():
    pkl, storages = prepare_zip(_sample_object())
    return pkl, {key: bytes(arr.view(np.uint8)) for key, _, _, arr in storages}


PKL, STORAGES = _zip_parts()
ZIP = zip_checkpoint(PKL, STORAGES, crc=False)
_buf = io.BytesIO()
ember.save(_sample_object(), _buf, _use_new_zipfile_serialization=False)
LEGACY = _buf.getvalue()
_buf = io.BytesIO()
save_safetensors(
    {"a": ember.from_numpy(np.ones((2, 3), np.float32)), "b": ember.from_numpy(np.arange(4))},
    _buf,
    {"format": "pt"},
)
SAFETENSORS = _buf.getvalue()


@st.composite
def mutated(draw, data: bytes, *, focus: int | None = None) -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted, and perhaps truncated."""
    out = bytearray(data)
    hi = len(out) - 1 if focus is None else min(focus, len(out) - 1)
    for _ in range(draw(st.integers(1, 6))):
        # Deletions shrink the buffer: keep the position inside what is left.
        pos = draw(st.integers(0, min(hi, len(out) - 1)))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if kind == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            out[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord("("), ord("."), 0x71]))
        elif kind == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif len(out) > 1:
            del out[pos]
    if draw(st.booleans()) and len(out) > 2:
        out = out[: draw(st.integers(1, len(out) - 1))]
    return bytes(out)


def _load(data: bytes) -> None:
    try:
        ember.load(io.BytesIO(data))
    except ALLOWED:
        pass


def test_unmutated_inputs_load():
    assert list(ember.load(io.BytesIO(ZIP))) == ["w", "v", "i", "b", "p", "nested"]
    assert list(ember.load(io.BytesIO(LEGACY))) == ["w", "v", "i", "b", "p", "nested"]
    assert sorted(ember.load(io.BytesIO(SAFETENSORS))) == ["a", "b"]


@FUZZ
@given(mutated(PKL))
def test_fuzz_pickle_inside_a_valid_zip(pkl):
    _load(zip_checkpoint(pkl, STORAGES, crc=False))


@FUZZ
@given(mutated(ZIP))
def test_fuzz_zip_container(data):
    _load(data)


@FUZZ
@given(mutated(LEGACY))
def test_fuzz_legacy(data):
    _load(data)


@FUZZ
@given(mutated(SAFETENSORS, focus=200))
def test_fuzz_safetensors_header(data):
    _load(data)


@FUZZ
@given(st.binary(max_size=64))
def test_fuzz_random_pickles(body):
    _load(zip_checkpoint(b"\x80\x02" + body + b".", STORAGES, crc=False))
