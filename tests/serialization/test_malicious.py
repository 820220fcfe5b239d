"""Every malicious or malformed vector from the reference list, built from bytes (no torch).

Each must be rejected with ember's error naming the rule, and with no side effect: no file
written, no module imported, no memory blow-up.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tracemalloc
import zlib

import pytest

import ember
from ember.serialization import UnsafeCheckpointError
from ember.serialization._errors import CheckpointError

from ._builders import (
    float_bytes,
    glob,
    load_bytes,
    pkl,
    plain_zip,
    tensor_pickle,
    ustr,
    zip_checkpoint,
)

OK_STORAGE = {"0": float_bytes(4)}


def _reject_pickle(data_pkl: bytes, match: str, storages=None, exc=UnsafeCheckpointError):
    with pytest.raises(exc, match=match):
        load_bytes(zip_checkpoint(data_pkl, storages))


def test_valid_baseline_loads():
    sd = load_bytes(zip_checkpoint(tensor_pickle(), OK_STORAGE))
    assert sd["t"].tolist() == [0.0, 1.0, 2.0, 3.0]


# ---- code execution and globals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "module,name",
    [("os", "system"), ("builtins", "eval"), ("__builtin__", "eval"), ("builtins", "getattr"),
     ("posix", "system"), ("subprocess", "Popen"), ("torch", "load"), ("numpy", "load"),
     ("torch._utils", "_rebuild_tensor_v2.__globals__"), ("collections", "OrderedDict.fromkeys"),
     ("this", "s"), ("builtins", "__import__"), ("_codecs", "decode")],
)  # fmt: skip
def test_globals_outside_the_allowlist(tmp_path, module, name):
    marker = tmp_path / "pwned"
    payload = pkl(glob(module, name), ustr(f"touch {marker}"), b"\x85R")
    modules_before = set(sys.modules)
    _reject_pickle(payload, f"global {module.replace('__builtin__', 'builtins')}.{name} is not")
    assert not marker.exists()
    assert set(sys.modules) == modules_before  # nothing imported


def test_getattr_chain_and_reduce_on_values():
    # getattr(OrderedDict, 'fromkeys') style chains: REDUCE on anything but an allowlisted
    # constructor is refused, including on values and on memoized globals.
    _reject_pickle(pkl(glob("builtins", "getattr"), b")R"), "builtins.getattr")
    _reject_pickle(pkl(ustr("system"), b")R"), "REDUCE on 'system'")
    _reject_pickle(pkl(glob("torch", "FloatStorage"), b"q\x00h\x00)R"), "REDUCE on")
    _reject_pickle(pkl(glob("torch", "float32"), b")R"), "REDUCE on")


def test_codecs_encode_only_latin1():
    ok = pkl(glob("_codecs", "encode"), ustr("abc"), ustr("latin1"), b"\x86R")
    assert load_bytes(zip_checkpoint(ok)) == b"abc"
    _reject_pickle(pkl(glob("_codecs", "encode"), ustr("abc"), ustr("rot13"), b"\x86R"), "latin1")


@pytest.mark.parametrize(
    "opcode,name",
    [(b"\x93", "STACK_GLOBAL"), (b"iposix\nsystem\n", "INST"), (b"(o", "OBJ"),
     (b"\x82\x01", "EXT1"), (b"\x83\x01\x00", "EXT2"), (b"\x95" + b"\x00" * 8, "FRAME"),
     (b"\x94", "MEMOIZE"), (b"B\x01\x00\x00\x00a", "BINBYTES"), (b"\x8c\x01a", "SHORT_BINUNICODE"),
     (b"Pfoo\n", "PERSID"), (b"I1\n", "INT"), (b"S'a'\n", "STRING"), (b"p0\n", "PUT"),
     (b"\x80\x02", "PROTO"), (b"\xff", "unknown")],
)  # fmt: skip
def test_opcodes_outside_the_subset(opcode, name):
    _reject_pickle(pkl(b"N", opcode), name)


@pytest.mark.parametrize("proto", [0, 1, 3, 4, 5])
def test_other_protocols(proto):
    _reject_pickle(pkl(b"N", proto=proto), f"protocol {proto}")


# ---- structure ---------------------------------------------------------------------------------


def test_setitem_append_build_targets():
    _reject_pickle(pkl(b"]K\x01K\x02s"), "SETITEM on a list")
    _reject_pickle(pkl(b")K\x01K\x02s"), "SETITEM on a tuple")
    _reject_pickle(pkl(b"](K\x01K\x02u"), "SETITEMS on a list")
    _reject_pickle(pkl(b"}K\x01a"), "APPEND on a dict")
    _reject_pickle(pkl(b"}(K\x01e"), "APPENDS on a dict")
    _reject_pickle(pkl(glob("torch", "float32"), b"K\x01a"), "APPEND on a dtype")
    od = glob("collections", "OrderedDict") + b")R"
    _reject_pickle(pkl(od, b"}", ustr("__class__"), od, b"sb"), "BUILD is only allowed")
    _reject_pickle(pkl(b"}}b"), "BUILD on a dict")
    meta = b"}" + ustr("_metadata") + b"}s"
    ok = load_bytes(zip_checkpoint(pkl(od, meta, b"b")))
    assert ok._metadata == {}
    _reject_pickle(pkl(od, meta, b"b", meta, b"b"), "BUILD applied twice")


def test_self_reference_and_sealed_containers():
    _reject_pickle(pkl(b"]q\x00h\x00a"), "contains itself")
    _reject_pickle(pkl(b"}q\x00K\x01h\x00s"), "contains itself")
    # a = []; b = [a]; a.append(b): the second append targets a list already in use.
    _reject_pickle(pkl(b"]q\x00]q\x01h\x00aa"), "already in use")
    # A list placed in a tuple cannot be changed afterwards.
    _reject_pickle(pkl(b"]q\x00h\x00\x85h\x00K\x01a"), "already in use")


def test_depth_count_and_exponential_sharing():
    _reject_pickle(pkl(b"(" * 10_000), "MARKs nested deeper")
    _reject_pickle(pkl(b"]" * 300 + b"a" * 299), "nested deeper")
    # Each level holds the previous one twice: 2**40 elements with sharing expanded.
    levels = b"]q\x00" + b"".join(
        b"]q" + bytes([i]) + b"(h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"e"
        for i in range(1, 41)
    )
    _reject_pickle(pkl(levels), "sharing expanded")


def test_memo_stack_and_mark_errors():
    _reject_pickle(pkl(b"h\x05"), "memo key 5 is missing")
    _reject_pickle(pkl(b"j\x00\x00\x01\x00"), "memo key 65536 is missing")
    _reject_pickle(pkl(b"a"), "stack underflow")
    _reject_pickle(pkl(b"\x86"), "stack underflow at TUPLE2")
    _reject_pickle(pkl(b"t"), "without a MARK")
    _reject_pickle(pkl(b"(N"), "unbalanced MARK")
    _reject_pickle(pkl(b"NN"), "stack holds 2 objects")
    _reject_pickle(b"\x80\x02N", "no STOP")
    _reject_pickle(pkl(b"N") + b"junk", "bytes after STOP")
    _reject_pickle(pkl(b"q\x00"), "stack underflow at BINPUT")


def test_lengths_read_exactly():
    _reject_pickle(b"\x80\x02X\xff\xff\x00\x00abc.", "truncated: BINUNICODE")
    _reject_pickle(b"\x80\x02U\x10abc.", "truncated: SHORT_BINSTRING")
    _reject_pickle(b"\x80\x02\x8a\x09\x01.", "truncated: LONG1")
    _reject_pickle(b"\x80\x02J\x01\x00", "truncated: BININT")
    _reject_pickle(b"\x80\x02G\x00\x00", "truncated: BINFLOAT")
    _reject_pickle(b"\x80\x02ctorch\nfloat32", "not terminated")
    _reject_pickle(pkl(b"X\x02\x00\x00\x00\xff\xfe"), "not valid UTF-8")
    _reject_pickle(pkl(b"}]K\x01s"), "dict key of type list")


def test_internal_objects_cannot_escape():
    _reject_pickle(pkl(glob("torch._utils", "_rebuild_tensor_v2")), "cannot be the loaded")
    _reject_pickle(pkl(b"]", glob("torch", "Tensor"), b"a"), "cannot be stored")
    pid = b"(" + ustr("storage") + glob("torch", "FloatStorage") + ustr("0") + ustr("cpu")
    pid += b"K\x04tQ"
    _reject_pickle(pkl(pid), "cannot be the loaded", OK_STORAGE)


# ---- persistent ids and tensor bounds ----------------------------------------------------------


def test_persistent_ids_that_are_not_storages():
    _reject_pickle(pkl(ustr("foo"), b"Q"), "persistent id must be")
    _reject_pickle(pkl(b"K\x01Q"), "persistent id must be")
    _reject_pickle(pkl(b"(", ustr("module"), b"K\x01K\x02K\x03K\x04tQ"), "persistent id must be")
    bad_type = b"(" + ustr("storage") + glob("collections", "OrderedDict") + ustr("0")
    _reject_pickle(pkl(bad_type, ustr("cpu"), b"K\x04tQ"), "storage type")


@pytest.mark.parametrize(
    "kw,match",
    [(dict(offset=1), "reaches element 4"), (dict(size=(5,)), "reaches element 4"),
     (dict(size=(2, 2), stride=(3, 1)), "reaches element 4"), (dict(offset=-1), "offset"),
     (dict(size=(-1,)), "negative"), (dict(stride=(-1,)), "negative"),
     (dict(size=(2**31,)), "reaches element"), (dict(size=(2, 2), stride=(1,)), "differ"),
     (dict(size=(1,) * 65, stride=(1,) * 65), "dimensions"), (dict(offset=True), "offset"),
     (dict(size=(True,)), "tuple of ints"), (dict(size=[4]), "tuple of ints"),
     (dict(offset=5, size=(0,)), "past its storage"), (dict(stride=(2**62,), size=(2,)), "reaches"),
     (dict(extra=({"evil": True},)), "metadata"), (dict(extra=({"conj": 1},)), "bools")],
)  # fmt: skip
def test_out_of_bounds_views(kw, match):
    _reject_pickle(tensor_pickle(**kw), match, OK_STORAGE)


def test_bounds_edges_that_are_valid():
    sd = load_bytes(zip_checkpoint(tensor_pickle(offset=4, size=(0,)), OK_STORAGE))
    assert sd["t"].shape == (0,)
    sd = load_bytes(zip_checkpoint(tensor_pickle(offset=3, size=(), stride=()), OK_STORAGE))
    assert sd["t"].item() == 3.0
    sd = load_bytes(zip_checkpoint(tensor_pickle(size=(3, 2), stride=(1, 0)), OK_STORAGE))
    assert sd["t"].tolist() == [[0, 0], [1, 1], [2, 2]]


def test_storage_records():
    _reject_pickle(tensor_pickle(numel=8), "need 32 bytes but the record holds 16", OK_STORAGE)
    _reject_pickle(tensor_pickle(numel=2, size=(2,)), "need 8 bytes", OK_STORAGE)
    _reject_pickle(tensor_pickle(), "data/0 is missing", {}, exc=CheckpointError)
    _reject_pickle(tensor_pickle(key="../1"), "not a decimal number", OK_STORAGE)
    _reject_pickle(tensor_pickle(key="1e3"), "not a decimal number", OK_STORAGE)
    _reject_pickle(tensor_pickle(numel=-4), "numel", OK_STORAGE)
    _reject_pickle(tensor_pickle(location="x" * 100), "location", OK_STORAGE)
    from ._builders import Global, PersistentId, Pickler, Reduce

    def t(stype, numel):
        pid = PersistentId(("storage", Global("torch", stype), "0", "cpu", numel))
        args = (pid, 0, (1,), (1,), False, Reduce(Global("collections", "OrderedDict"), ()))
        return Reduce(Global("torch._utils", "_rebuild_tensor_v2"), args)

    data = Pickler().dumps([t("FloatStorage", 4), t("IntStorage", 4)])
    _reject_pickle(data, "reused with another dtype", OK_STORAGE)
    data = Pickler().dumps([t("FloatStorage", 4), t("FloatStorage", 2)])
    _reject_pickle(data, "reused with another dtype or numel", OK_STORAGE)


def test_bool_bytes_are_normalised():
    data = tensor_pickle(stype="BoolStorage", numel=3, size=(3,))
    sd = load_bytes(zip_checkpoint(data, {"0": b"\x00\x07\xff"}))
    assert sd["t"]._data.view("uint8").tolist() == [0, 1, 1]


# ---- the zip container ---------------------------------------------------------------------------


def _members(pickle_bytes=None):
    return [("a/data.pkl", pickle_bytes or tensor_pickle()), ("a/data/0", float_bytes(4)),
            ("a/version", b"3\n")]  # fmt: skip


@pytest.mark.parametrize(
    "members,match,exc",
    [([("a/data.pkl", pkl(b"N")), ("a/data.pkl", pkl(b"N")), ("a/version", b"3")],
      "duplicate zip member", UnsafeCheckpointError),
     (_members() + [("a/../../etc/passwd", b"x")], "'..'", UnsafeCheckpointError),
     (_members() + [("/etc/passwd", b"x")], "absolute", UnsafeCheckpointError),
     (_members() + [("a/C:/x", b"x")], None, None),
     (_members() + [("a\\..\\x", b"x")], "backslash", UnsafeCheckpointError),
     (_members() + [("a/x\x01y", b"x")], "NUL", UnsafeCheckpointError),
     (_members() + [("b/data.pkl", b"x")], "more than one top folder", UnsafeCheckpointError),
     ([("data.pkl", pkl(b"N")), ("version", b"3")], "no top folder", CheckpointError),
     (_members()[:2] + [("a/version", b"0")], "version '0'", CheckpointError),
     (_members()[:2] + [("a/version", b"11\n")], "version '11\\\\n'", CheckpointError),
     (_members()[:2] + [("a/version", b"abc")], "version 'abc'", CheckpointError),
     (_members()[:2], "no 'version'", CheckpointError),
     (_members()[1:], "no data.pkl", CheckpointError),
     (_members() + [("a/constants.pkl", b"")], "TorchScript", UnsafeCheckpointError),
     (_members() + [("a/byteorder", b"middle")], "byteorder", CheckpointError)],
)  # fmt: skip
def test_zip_structure(members, match, exc):
    # zipfile cuts names at NUL, so the NUL is patched in afterwards.
    data = plain_zip(members).replace(b"a/x\x01y", b"a/x\x00y")
    if exc is None:  # a name that is only odd (a colon inside) is accepted
        assert load_bytes(data)["t"].shape == (4,)
        return
    with pytest.raises(exc, match=match):
        load_bytes(data)


def test_data_version_record_and_no_side_files(tmp_path):
    data = plain_zip(_members()[:2] + [("a/.data/version", b"3")])
    before = set(os.listdir(tmp_path))
    assert load_bytes(data)["t"].shape == (4,)
    assert set(os.listdir(tmp_path)) == before


def test_crc_zero_loads_and_corrupt_crc_is_damage():
    ok = zip_checkpoint(tensor_pickle(), OK_STORAGE, crc=False)
    assert load_bytes(ok)["t"].tolist() == [0, 1, 2, 3]
    good = zip_checkpoint(tensor_pickle(), OK_STORAGE)
    i = good.index(float_bytes(4))
    corrupt = good[:i] + b"\x01" + good[i + 1 :]
    with pytest.raises(CheckpointError, match="data/0' is damaged: CRC-32 mismatch"):
        load_bytes(corrupt)


def test_garbage_truncation_and_trailing_bytes():
    good = zip_checkpoint(tensor_pickle(), OK_STORAGE)
    with pytest.raises(CheckpointError, match="not a PyTorch"):
        load_bytes(b"GARBAGE!" + good)
    with pytest.raises(CheckpointError, match="central directory|truncated"):
        load_bytes(good[:-30])
    with pytest.raises(CheckpointError):
        load_bytes(good[: len(good) // 2])
    assert load_bytes(good + b"trailing")["t"].shape == (4,)


def test_local_header_must_agree_with_central_directory():
    good = zip_checkpoint(tensor_pickle(), OK_STORAGE)
    # Rename the first local header's name (data.pkl -> data.pkX) only.
    i = good.index(b"archive/data.pkl")
    bad = good[: i + 15] + b"X" + good[i + 16 :]
    with pytest.raises(UnsafeCheckpointError, match="local header name disagrees"):
        load_bytes(bad)


def test_overlapping_entries():
    data = bytearray(plain_zip(_members()))
    cd = data.index(b"PK\x01\x02")  # first central entry: a/data.pkl
    size = struct.unpack_from("<I", data, cd + 20)[0]
    struct.pack_into("<II", data, cd + 20, size + 40, size + 40)
    struct.pack_into("<II", data, 18, size + 40, size + 40)  # its local header too
    with pytest.raises(UnsafeCheckpointError, match="overlap"):
        load_bytes(bytes(data))


def _raw_zip(entries: list[tuple[bytes, int, bytes, int]]) -> bytes:
    """A zip from ``(name, method, body, declared size)`` entries, headers written by hand."""
    out, central = b"", b""
    for name, method, body, usize in entries:
        crc = zlib.crc32(body) if method == 0 else 0
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(body),
                            usize, len(name), 0)  # fmt: skip
        fields = (20, 20, 0, method, 0, 0, crc, len(body), usize, len(name), 0, 0, 0, 0, 0)
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", *fields, len(out))
        central += name
        out += local + name + body
    n = len(entries)
    return out + central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central),
                                       len(out), 0)  # fmt: skip


def test_deflate_bomb_refused_before_inflating():
    # 96 MB of zeros deflate to ~100 KB: over the cap (64 MB + 8 x file size).
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    chunk = b"\x00" * (1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(96)) + comp.flush()
    version = (b"a/version", 0, b"3", 1)
    bomb = _raw_zip([(b"a/data.pkl", 8, body, 96 << 20), version])
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeCheckpointError, match="deflate bomb"):
            load_bytes(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    # A member that lies about its size is stopped at the declared size.
    liar = _raw_zip([(b"a/data.pkl", 8, body, 100), version])
    with pytest.raises(UnsafeCheckpointError, match="inflated size differs"):
        load_bytes(liar)
    # And the bomb through the version record itself.
    bomb2 = _raw_zip([(b"a/data.pkl", 0, b"\x80\x02N.", 4), (b"a/version", 8, body, 96 << 20)])
    with pytest.raises(UnsafeCheckpointError, match="deflate bomb"):
        load_bytes(bomb2)


def test_deflated_members_within_the_cap_load():
    data = plain_zip(_members(), method=8)
    assert load_bytes(data)["t"].tolist() == [0, 1, 2, 3]


def test_torchscript_and_tar_refused(tmp_path):
    tar = bytearray(1024)
    tar[257:262] = b"ustar"
    with pytest.raises(CheckpointError, match="tar"):
        load_bytes(bytes(tar))


# ---- legacy ------------------------------------------------------------------------------------


def _legacy(magic=0x1950A86A20F9469CFC6C, count=4, cut=0, keys=("0",)):
    from ._builders import Pickler

    parts = [Pickler().dumps(magic), Pickler().dumps(1001),
             Pickler().dumps({"protocol_version": 1001, "little_endian": True})]  # fmt: skip
    from ._builders import Global, PersistentId, Reduce

    pid = PersistentId(("storage", Global("torch", "FloatStorage"), "0", "cpu", 4, None))
    args = (pid, 0, (4,), (1,), False, Reduce(Global("collections", "OrderedDict"), ()))
    parts.append(Pickler().dumps({"t": Reduce(Global("torch._utils", "_rebuild_tensor_v2"), args)}))
    parts.append(Pickler().dumps(list(keys)))
    parts.append(struct.pack("<q", count) + float_bytes(4))
    data = b"".join(parts)
    return data[: len(data) - cut]


def test_legacy_vectors():
    assert load_bytes(_legacy())["t"].tolist() == [0, 1, 2, 3]
    with pytest.raises(CheckpointError, match="magic number"):
        load_bytes(_legacy(magic=12345))
    with pytest.raises(UnsafeCheckpointError, match="holds 5 elements"):
        load_bytes(_legacy(count=5))
    with pytest.raises(CheckpointError, match="truncated"):
        load_bytes(_legacy(cut=3))
    with pytest.raises(CheckpointError, match="truncated"):
        load_bytes(_legacy(cut=17))
    with pytest.raises(CheckpointError, match="key list"):
        load_bytes(_legacy(keys=("0", "1")))
    with pytest.raises(CheckpointError, match="magic"):
        load_bytes(b"\x80\x02N.")


def test_legacy_storage_larger_than_file():
    from ._builders import Global, PersistentId, Pickler, Reduce

    pid = PersistentId(("storage", Global("torch", "FloatStorage"), "0", "cpu", 2**40, None))
    args = (pid, 0, (4,), (1,), False, Reduce(Global("collections", "OrderedDict"), ()))
    main = Pickler().dumps({"t": Reduce(Global("torch._utils", "_rebuild_tensor_v2"), args)})
    head = _legacy()
    cut = head.rindex(b"\x80\x02}")  # start of the main pickle (the last dict)
    with pytest.raises(UnsafeCheckpointError, match="more than the file holds"):
        load_bytes(head[:cut] + main)


def test_no_path_is_written_on_failure(tmp_path):
    bad = zip_checkpoint(tensor_pickle(offset=9), OK_STORAGE)
    path = tmp_path / "bad.pt"
    path.write_bytes(bad)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(UnsafeCheckpointError):
        ember.load(path)
    assert sorted(os.listdir(tmp_path)) == before
    with pytest.raises(UnsafeCheckpointError):
        ember.load(io.BytesIO(bad), map_location="cpu")
