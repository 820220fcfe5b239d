"""Build checkpoint files byte by byte for the malicious-input and fuzz tests (no torch)."""

from __future__ import annotations

import io
import struct
import zipfile

import ember
from ember.serialization._pickler import Global, PersistentId, Pickler, Reduce
from ember.serialization._zip import ZipWriter

ORDERED_DICT = Global("collections", "OrderedDict")


def pkl(*parts: bytes, proto: int = 2) -> bytes:
    """A pickle: PROTO, the given opcode bytes, STOP."""
    return bytes([0x80, proto]) + b"".join(parts) + b"."


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ustr(s: str) -> bytes:
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def tensor_pickle(
    stype: str = "FloatStorage",
    key: str = "0",
    numel: int = 4,
    offset: object = 0,
    size: object = (4,),
    stride: object = (1,),
    *,
    location: str = "cpu",
    rebuild: str = "_rebuild_tensor_v2",
    extra: tuple = (),
    name: str = "t",
) -> bytes:
    """data.pkl for ``{name: tensor}`` with the given (possibly bad) storage and view values."""
    pid = PersistentId(("storage", Global("torch", stype), key, location, numel))
    args = (pid, offset, size, stride, False, Reduce(ORDERED_DICT, ()), *extra)
    return Pickler().dumps({name: Reduce(Global("torch._utils", rebuild), args)})


def zip_checkpoint(
    data_pkl: bytes,
    storages: dict[str, bytes] | None = None,
    *,
    folder: str = "archive",
    version: bytes | None = b"3\n",
    byteorder: bytes | None = b"little",
    extra: dict[str, bytes] | None = None,
    crc: bool = True,
) -> bytes:
    """A checkpoint in torch's layout (ember's writer) from raw members."""
    out = io.BytesIO()
    w = ZipWriter(out, compute_crc=crc)
    w.write(f"{folder}/data.pkl", data_pkl)
    if byteorder is not None:
        w.write(f"{folder}/byteorder", byteorder)
    for key, data in (storages or {}).items():
        w.write(f"{folder}/data/{key}", data)
    for name, data in (extra or {}).items():
        w.write(name, data)
    if version is not None:
        w.write(f"{folder}/version", version)
    w.finish()
    return out.getvalue()


def plain_zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip written by Python's zipfile (names kept as given, duplicates allowed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with __import__("warnings").catch_warnings():
                __import__("warnings").simplefilter("ignore")
                z.writestr(info, data)
    return out.getvalue()


def load_bytes(data: bytes):
    return ember.load(io.BytesIO(data))


def float_bytes(n: int) -> bytes:
    return struct.pack(f"<{n}f", *range(n))
