"""The safetensors format, written and read without the safetensors package.

A file is an 8-byte little-endian header length ``N``, ``N`` bytes of UTF-8 JSON
(``{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
padded with spaces to a multiple of 8), then the tensors' little-endian C-order bytes, back to
back. The writer's output is byte-identical to the reference implementation (safetensors 0.8.0).
The reader applies the reference's validation plus stricter rules: no duplicate names, integers
only where integers belong, no NaN literals, at most 64 dimensions.
"""

from __future__ import annotations

import json
import mmap as _mmap
import os
import struct
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ._allowlist import bf16_view
from ._errors import CheckpointError, UnsafeCheckpointError

__all__ = ["save_safetensors", "load_safetensors", "read_safetensors", "DTYPE_CODES"]

MAX_HEADER = 100_000_000
MAX_NDIM = 64
# The reference's dtype codes, in its declaration order (its writer sorts by this, descending).
_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
          "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
          "F64", "I64", "U64"]  # fmt: skip
_RANK = {code: i for i, code in enumerate(_ORDER)}
# code -> (raw NumPy dtype on disk, bits per element)
_RAW = {"BOOL": (np.bool_, 8), "U8": (np.uint8, 8), "I8": (np.int8, 8), "I16": (np.int16, 16),
        "U16": (np.uint16, 16), "F16": (np.float16, 16), "BF16": (np.uint16, 16),
        "I32": (np.int32, 32), "U32": (np.uint32, 32), "F32": (np.float32, 32),
        "C64": (np.complex64, 64), "F64": (np.float64, 64), "I64": (np.int64, 64),
        "U64": (np.uint64, 64)}  # fmt: skip
_BITS = {"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, **{c: 8 for c in _ORDER if c.startswith("F8")}}
_EMBER_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "float16": "F16",
                "int32": "I32", "float32": "F32", "complex64": "C64", "float64": "F64",
                "int64": "I64", "bfloat16": "BF16"}  # fmt: skip
DTYPE_CODES = dict(_EMBER_CODES)


def _bad(msg: str) -> CheckpointError:
    return CheckpointError(f"invalid safetensors file: {msg}")


def _no_constant(name: str) -> Any:
    raise _bad(f"JSON header holds the non-standard literal {name}")


def _no_float(text: str) -> Any:
    raise _bad(f"JSON header holds the number {text} where only integers are allowed")


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise UnsafeCheckpointError(f"safetensors header repeats the name {k!r}")
        out[k] = v
    return out


def _int_list(x: Any, what: str, name: str) -> list[int]:
    if type(x) is not list or not all(type(v) is int and v >= 0 for v in x):
        raise _bad(f"tensor {name!r}: {what} must be a list of non-negative integers")
    return x


def _nbytes(code: str, shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    bits = _RAW[code][1] if code in _RAW else _BITS[code]
    total = n * bits
    if total % 8:
        raise _bad(f"{n} elements of {code} are not a whole number of bytes")
    return total // 8


def parse_header(head: bytes, data_len: int) -> tuple[dict[str, dict], dict[str, str] | None]:
    """Validate a header; return ``{name: {"dtype", "shape", "data_offsets"}}`` and metadata."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("header is not valid UTF-8") from None
    try:
        raw = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_no_float,
        )
    except json.JSONDecodeError as exc:
        raise _bad(f"header is not valid JSON ({exc})") from None
    except RecursionError:
        raise _bad("header JSON is nested too deeply") from None
    if type(raw) is not dict:
        raise _bad("header is not a JSON object")
    metadata = raw.pop("__metadata__", None)
    if metadata is not None and (
        type(metadata) is not dict or not all(type(v) is str for v in metadata.values())
    ):
        raise _bad("__metadata__ must map strings to strings")
    tensors: dict[str, dict] = {}
    for name, info in raw.items():
        if type(info) is not dict or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise _bad(f"tensor {name!r} needs dtype, shape and data_offsets")
        code = info["dtype"]
        if type(code) is not str or code not in _RANK:
            raise _bad(f"tensor {name!r} has unknown dtype {code!r}")
        shape = _int_list(info["shape"], "shape", name)
        if len(shape) > MAX_NDIM:
            raise _bad(f"tensor {name!r} has {len(shape)} dimensions, more than {MAX_NDIM}")
        offsets = _int_list(info["data_offsets"], "data_offsets", name)
        if len(offsets) != 2 or offsets[0] > offsets[1]:
            raise _bad(f"tensor {name!r} needs data_offsets [begin, end] with begin <= end")
        tensors[name] = {"dtype": code, "shape": shape, "data_offsets": offsets}
    pos = 0
    for name, info in sorted(tensors.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        if begin != pos:
            raise _bad(f"tensor {name!r} starts at {begin}, expected {pos} (hole or overlap)")
        need = _nbytes(info["dtype"], info["shape"])
        if end - begin != need:
            raise _bad(f"tensor {name!r} spans {end - begin} bytes, its shape needs {need}")
        pos = end
    if pos != data_len:
        raise _bad(f"tensors cover {pos} bytes but the data section has {data_len}")
    return tensors, metadata


def _open_read(f: Any) -> tuple[Any, Any]:
    """The file's bytes as a buffer (a copy-on-write mmap for paths) and a closer."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return b"", None
            m = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
            return m, m
    if isinstance(f, (bytes, bytearray, memoryview)):
        return bytes(f), None
    return f.read(), None


def read_safetensors(f: Any, *, copy: bool = True) -> tuple[dict, dict[str, np.ndarray], Any]:
    """Header, arrays (by name, file order) and metadata of a safetensors file.

    With ``copy=False`` the arrays of a file path map the file (copy-on-write).
    """
    buf, _ = _open_read(f)
    size = len(buf)
    if size < 8:
        raise _bad(f"file has {size} bytes, fewer than the 8-byte header length")
    (n,) = struct.unpack("<Q", bytes(buf[:8]))
    if n > MAX_HEADER:
        raise _bad(f"header length {n} is over the limit of {MAX_HEADER}")
    if 8 + n > size:
        raise _bad(f"header length {n} runs past the end of the file ({size} bytes)")
    tensors, metadata = parse_header(bytes(buf[8 : 8 + n]), size - 8 - n)
    arrays: dict[str, np.ndarray] = {}
    for name, info in tensors.items():
        code, shape = info["dtype"], info["shape"]
        begin, end = info["data_offsets"]
        if code not in _RAW or code in ("U16", "U32", "U64"):
            raise CheckpointError(f"safetensors dtype {code} (tensor {name!r}) is not supported")
        raw_dtype = np.dtype(_RAW[code][0]).newbyteorder("<")
        count = (end - begin) // raw_dtype.itemsize
        a = np.frombuffer(buf, raw_dtype, count, 8 + n + begin) if count else np.empty(0, raw_dtype)
        if not raw_dtype.isnative:  # pragma: no cover - big-endian hosts
            a = a.astype(raw_dtype.newbyteorder("="))
        if code == "BOOL":
            a = a.view(np.uint8) != 0
        elif copy:
            a = a.copy()
        if code == "BF16":
            a = bf16_view(a)  # bit-exact (ml_dtypes, imported on first use)
        arrays[name] = a.reshape(shape)
    return tensors, arrays, metadata


def load_safetensors(f: str | os.PathLike | BinaryIO, device: str = "cpu") -> dict[str, Any]:
    """Load a safetensors file into a dict of ember Tensors (in the file's header order).

    BF16 tensors are read bit-exact as bfloat16 (this needs the optional ``ml_dtypes``).

    Example:
        >>> ember.serialization.save_safetensors({"w": ember.ones(2)}, "/tmp/w.safetensors")
        >>> ember.serialization.load_safetensors("/tmp/w.safetensors")["w"]
        tensor([1., 1.])
    """
    from .._backend import device as _device
    from .._tensor import _wrap

    if str(_device(device)) != "cpu":  # pragma: no cover - only cpu exists
        raise RuntimeError(f"cannot load to device {device!r}")
    _, arrays, _ = read_safetensors(f)
    return {k: _wrap(a) for k, a in arrays.items()}


def _root_range(a: np.ndarray) -> tuple[int, int, int]:
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = a.__array_interface__["data"][0]
    return id(root), start, start + a.nbytes


def save_safetensors(
    tensors: Mapping[str, Any],
    f: str | os.PathLike | BinaryIO,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` (name -> contiguous Tensor, no shared memory) as a safetensors file.

    The output is byte-identical to ``safetensors.torch.save_file`` for the same tensors.

    Example:
        >>> ember.serialization.save_safetensors({"w": ember.ones(2)}, "/tmp/w.safetensors")
    """
    from .._tensor import Tensor

    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a dict of name -> Tensor, got {type(tensors).__name__}")
    if metadata is not None and (
        not isinstance(metadata, Mapping)
        or not all(type(k) is str and type(v) is str for k, v in metadata.items())
    ):
        raise TypeError("metadata must be a dict of str -> str")
    entries, ranges = [], []
    for name, t in tensors.items():
        if type(name) is not str:
            raise TypeError(f"tensor names must be str, got {type(name).__name__}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, Tensor):
            raise TypeError(f"{name!r} is a {type(t).__name__}, not a Tensor")
        a = t._data
        code = _EMBER_CODES.get(t.dtype.name)
        if code is None:
            raise ValueError(f"safetensors has no dtype for {t.dtype} (tensor {name!r})")
        if not a.flags.c_contiguous:
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{name}` which is not allowed. "
                "Call `.contiguous()` on it before saving."
            )
        if a.nbytes:
            ranges.append((*_root_range(a), name))
        entries.append((name, code, a))
    ranges.sort()
    for (r1, _, e1, n1), (r2, s2, _, n2) in zip(ranges, ranges[1:]):
        if r1 == r2 and s2 < e1:
            raise RuntimeError(
                f"Some tensors share memory, this will lead to duplicate memory on disk and "
                f"potential differences when loading them again: [{{{n1!r}, {n2!r}}}]."
            )
    entries.sort(key=lambda e: (-_RANK[e[1]], e[0]))
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    pos = 0
    for name, code, a in entries:
        header[name] = {
            "dtype": code,
            "shape": list(a.shape),
            "data_offsets": [pos, pos + a.nbytes],
        }
        pos += a.nbytes
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    try:
        head = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("tensor names and metadata must be valid Unicode") from None
    head += b" " * (-len(head) % 8)
    out = [struct.pack("<Q", len(head)), head]
    for _, _, a in entries:
        if sys.byteorder == "big":  # pragma: no cover
            a = a.astype(a.dtype.newbyteorder("<"))
        out.append(memoryview(a.reshape(-1).view(np.uint8)) if a.size else b"")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            for chunk in out:
                fh.write(chunk)
    else:
        for chunk in out:
            f.write(chunk)
