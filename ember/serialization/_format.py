"""PyTorch's zip checkpoint format (torch.save since 1.6): writing and reading.

Reading works on NumPy arrays: the storage loader returns 1-D arrays (byte-swapped for a ``big``
byteorder, bool bytes normalised to 0/1, bfloat16 viewed bit-exact), and ``factory`` decides
what a tensor becomes (ember Tensors for :func:`ember.load`).
"""

from __future__ import annotations

import mmap as _mmap
import os
import re
import secrets
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ._allowlist import DTYPES, bf16_view
from ._convert import StorageCollector
from ._errors import CheckpointError, UnsafeCheckpointError
from ._pickler import Pickler
from ._unpickler import Unpickler
from ._zip import ZipReader, ZipWriter

__all__ = [
    "prepare_zip",
    "write_zip",
    "load_zip",
    "archive_folder",
    "restore_location",
    "normalise_storage",
]

_VERSION = re.compile(r"^[0-9]{1,3}\n?$")
_SAFE_FOLDER = re.compile(r"^[\x21-\x7e ]+$")
MIN_VERSION, MAX_VERSION = 1, 10


def archive_folder(f: Any) -> str:
    """The top folder torch uses: the file's base name without its last extension."""
    if not isinstance(f, (str, os.PathLike)):
        return "archive"
    base = os.path.basename(os.fspath(f))
    if isinstance(base, bytes):
        base = base.decode("utf-8", "replace")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    if not stem or not _SAFE_FOLDER.match(stem) or "\\" in stem or stem in (".", ".."):
        return "archive"
    return stem


def prepare_zip(obj: Any) -> tuple[bytes, list]:
    """The ``data.pkl`` bytes for ``obj`` and its storages ``(key, dtype, numel, array)``."""
    collector = StorageCollector()
    return Pickler(collector).dumps(obj), collector.storages


def write_zip(
    f: BinaryIO, folder: str, pkl: bytes, storages: list, *, byteorder_record: bool = True
) -> None:
    """Write a prepared checkpoint to the binary file ``f`` in torch 2.13's zip layout."""
    w = ZipWriter(f)
    w.write(f"{folder}/data.pkl", pkl)
    w.write(f"{folder}/.format_version", b"1")
    w.write(f"{folder}/.storage_alignment", b"64")
    if byteorder_record:
        w.write(f"{folder}/byteorder", sys.byteorder.encode())
    for key, _, _, array in storages:
        w.write(f"{folder}/data/{key}", array.view(np.uint8) if array.size else b"")
    w.write(f"{folder}/version", b"3\n")
    w.write(f"{folder}/.data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())
    w.finish()


def restore_location(map_location: Any) -> Callable[[np.ndarray, str], np.ndarray]:
    """torch's ``map_location`` rules, for a library whose only device is the CPU."""
    from .._backend import device

    def check(target: Any) -> None:
        name = str(target)
        if name == "cpu" or name.startswith("cpu:"):
            return
        # CheckpointError is a RuntimeError, PyTorch's type for these.
        if name.startswith("cuda") and map_location is None:
            raise CheckpointError(
                "Attempting to deserialize object on a CUDA device but ember has no CUDA "
                "device. If you are running on a CPU-only machine, please use ember.load with "
                "map_location='cpu' (or map_location=ember.device('cpu')) to map your storages "
                "to the CPU."
            )
        try:
            device(name)
        except RuntimeError as exc:
            raise CheckpointError(f"cannot restore a storage to {name!r:.40}: {exc}") from None
        raise CheckpointError(f"cannot map storages to device {name!r}: ember only has 'cpu'")

    def restore(array: np.ndarray, location: str) -> np.ndarray:
        ml = map_location
        if ml is None:
            check(location)
        elif isinstance(ml, (str, device)):
            check(ml)
        elif isinstance(ml, dict):
            check(ml.get(location, location))
        elif callable(ml):
            from .._tensor import Tensor, _wrap

            out = ml(_wrap(array), location)
            if out is None:
                check(location)
            elif isinstance(out, Tensor):
                new = np.asarray(out._data).reshape(-1)
                if new.dtype != array.dtype or new.size != array.size:
                    raise RuntimeError("map_location returned a storage of another dtype or size")
                return new
            else:
                raise TypeError(f"map_location returned {type(out).__name__}, not a storage")
        else:
            raise TypeError(
                "map_location should be a str, an ember.device, a dict or a callable, got "
                f"{type(ml).__name__}"
            )
        return array

    return restore


def normalise_storage(raw: np.ndarray, dtype_name: str, *, swap: bool) -> np.ndarray:
    """Native byte order, bools as 0/1, bfloat16 viewed as bfloat16 (copies only when needed)."""
    if swap and raw.dtype.itemsize > 1:
        raw = raw.byteswap()
    if dtype_name == "bool":
        u8 = raw.view(np.uint8)
        if u8.size and u8.max() > 1:
            if not u8.flags.writeable or not isinstance(raw.base, (type(None), bytearray)):
                raw = raw.copy()
                u8 = raw.view(np.uint8)
            np.minimum(u8, 1, out=u8)
    elif dtype_name == "bfloat16":
        raw = bf16_view(raw)
    return raw


def load_zip(
    f: BinaryIO,
    map_location: Any,
    factory: Any,
    *,
    mmap_path: str | None = None,
    unpickler: Any = Unpickler,
) -> Any:
    """Read a torch zip checkpoint from the seekable binary file ``f`` (``unpickler``: ember's
    restricted one, or the full one for ``weights_only=False``)."""
    reader = ZipReader(f)
    names = reader.names()
    if not names:
        raise CheckpointError("zip archive is empty: not a torch.save file")
    if "/" not in names[0]:
        raise CheckpointError(
            f"zip archive has no top folder (first member {names[0]!r}): not a torch.save file"
        )
    prefix = names[0].split("/", 1)[0] + "/"
    for n in names:
        if not n.startswith(prefix):
            raise UnsafeCheckpointError(
                f"zip members in more than one top folder ({prefix!r} and {n!r})"
            )
    if prefix + "constants.pkl" in reader.entries:
        raise UnsafeCheckpointError(
            "this is a TorchScript archive (it holds constants.pkl and code); ember.load reads "
            "weights only. Save the model's state_dict() instead."
        )
    version = None
    for vname in ("version", ".data/version"):
        if prefix + vname in reader.entries:
            version = reader.read(prefix + vname)
            break
    if version is None:
        raise CheckpointError("zip archive has no 'version' record: not a torch.save file")
    text = version.decode("ascii", "replace")
    if not _VERSION.match(text) or not MIN_VERSION <= int(text) <= MAX_VERSION:
        raise CheckpointError(
            f"unsupported checkpoint version {text!r} (ember reads versions "
            f"{MIN_VERSION} to {MAX_VERSION})"
        )
    if prefix + "data.pkl" not in reader.entries:
        raise CheckpointError("zip archive has no data.pkl record: not a torch.save file")
    order = sys.byteorder
    if prefix + "byteorder" in reader.entries:
        order = reader.read(prefix + "byteorder").decode("ascii", "replace")
        if order not in ("little", "big"):
            raise CheckpointError(f"byteorder record holds {order!r}, not 'little' or 'big'")
    swap = order != sys.byteorder
    restore = restore_location(map_location)
    mapped = None
    if mmap_path is not None and reader.file_size:
        with open(mmap_path, "rb") as mf:
            mapped = _mmap.mmap(mf.fileno(), 0, access=_mmap.ACCESS_COPY)

    def load_storage(key: str, dtype_name: str, numel: int, location: str) -> np.ndarray:
        name = f"{prefix}data/{key}"
        entry = reader.entries.get(name)
        if entry is None:
            raise CheckpointError(f"storage record data/{key} is missing from the archive")
        raw_dtype = DTYPES[dtype_name]
        if numel * raw_dtype.itemsize != entry.size:
            raise UnsafeCheckpointError(
                f"storage data/{key}: {numel} {dtype_name} elements need "
                f"{numel * raw_dtype.itemsize} bytes but the record holds {entry.size}"
            )
        if numel == 0:
            raw = np.empty(0, raw_dtype)
        elif mapped is not None and entry.method == 0:
            raw = np.frombuffer(mapped, raw_dtype, numel, entry.data_offset)
        else:
            raw = np.empty(numel, raw_dtype)
            reader.read_into(name, memoryview(raw.view(np.uint8)))
        return restore(normalise_storage(raw, dtype_name, swap=swap), location)

    data = reader.read(prefix + "data.pkl")
    u = unpickler(data, load_storage, factory)
    obj = u.load()
    if u.end != len(data):
        raise UnsafeCheckpointError(f"data.pkl has {len(data) - u.end} bytes after STOP")
    return obj
