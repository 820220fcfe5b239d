"""PyTorch's legacy (pre-1.6) checkpoint format: a series of pickles followed by raw storages.

Layout: the magic number pickle, the protocol version pickle (1001), a ``sys_info`` dict pickle,
the main pickle (six-field persistent ids), a pickle of the storage keys, then for each key an
int64 element count and the raw little-endian bytes. The main pickle is read before the data, so
storages are allocated up front (bounded by the bytes left in the file) and filled afterwards; the
tensors are views of them.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

import numpy as np

from ._allowlist import DTYPES, bf16_view
from ._errors import CheckpointError, UnsafeCheckpointError
from ._format import restore_location
from ._unpickler import Unpickler

__all__ = ["load_legacy", "MAGIC", "PROTOCOL_VERSION"]

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def _plain(buf: Any, pos: int, what: str) -> tuple[Any, int]:
    u = Unpickler(buf, pos=pos)
    try:
        obj = u.load()
    except UnsafeCheckpointError as exc:
        raise CheckpointError(f"legacy checkpoint: cannot read the {what} ({exc})") from None
    return obj, u.end


def load_legacy(buf: Any, map_location: Any, factory: Any, unpickler: Any = Unpickler) -> Any:
    """Read a legacy checkpoint from ``buf`` (bytes or a read-only mmap of the file);
    ``unpickler`` is ember's restricted one, or the full one for ``weights_only=False``."""
    magic, pos = _plain(buf, 0, "magic number")
    if type(magic) is not int or magic != MAGIC:
        raise CheckpointError("invalid magic number; corrupt file? (not a legacy torch.save file)")
    proto, pos = _plain(buf, pos, "protocol version")
    if type(proto) is not int or proto != PROTOCOL_VERSION:
        raise CheckpointError(f"legacy checkpoint has invalid protocol version {proto!r}")
    sys_info, pos = _plain(buf, pos, "system info")
    if type(sys_info) is not dict or sys_info.get("little_endian") is not True:
        raise CheckpointError("legacy checkpoint is not little-endian (not supported)")
    restore = restore_location(map_location)
    size = len(buf)
    pending: dict[str, tuple[str, int, np.ndarray]] = {}
    budget = [size]

    def load_storage(key: str, dtype_name: str, numel: int, location: str) -> np.ndarray:
        nbytes = numel * DTYPES[dtype_name].itemsize
        if nbytes > budget[0]:
            raise UnsafeCheckpointError(
                f"storage {key} declares {nbytes} bytes, more than the file holds"
            )
        budget[0] -= nbytes
        raw_dt = DTYPES[dtype_name]
        final = bf16_view(np.empty(0, raw_dt)).dtype if dtype_name == "bfloat16" else raw_dt
        arr = restore(np.empty(numel, final), location)
        pending[key] = (dtype_name, numel, arr)
        return arr

    u = unpickler(buf, load_storage, factory, pos=pos, legacy=True)
    result = u.load()
    keys, pos = _plain(buf, u.end, "storage key list")
    if type(keys) is not list or not all(type(k) is str for k in keys):
        raise CheckpointError("legacy checkpoint: storage key list is malformed")
    if set(keys) != set(pending) or len(keys) != len(pending):
        raise CheckpointError("legacy checkpoint: storage key list does not match the storages")
    for key in keys:
        dtype_name, numel, arr = pending[key]
        if pos + 8 > size:
            raise CheckpointError(f"legacy checkpoint is truncated at storage {key}")
        (count,) = struct.unpack("<q", bytes(buf[pos : pos + 8]))
        if count != numel:
            raise UnsafeCheckpointError(
                f"legacy storage {key} holds {count} elements, the pickle declares {numel}"
            )
        raw_dtype = DTYPES[dtype_name]
        nbytes = numel * raw_dtype.itemsize
        pos += 8
        if pos + nbytes > size:
            raise CheckpointError(f"legacy checkpoint is truncated in storage {key}")
        raw = np.frombuffer(buf, raw_dtype, numel, pos) if numel else np.empty(0, raw_dtype)
        if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
            raw = raw.byteswap()
        if dtype_name == "bfloat16":
            arr[...] = bf16_view(raw)
        elif dtype_name == "bool":
            np.not_equal(raw.view(np.uint8), 0, out=arr)
        else:
            arr[...] = raw
        pos += nbytes
    for fill in u.deferred:
        fill()
    return result
