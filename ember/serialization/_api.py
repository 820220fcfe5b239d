"""``ember.save`` and ``ember.load``: PyTorch's checkpoint API over ember's own reader/writer."""

from __future__ import annotations

import io
import mmap as _mmap
import os
import pickle
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

from ._atomic import atomic_write, check_parent
from ._convert import StorageCollector, TensorFactory
from ._errors import CheckpointError
from ._format import archive_folder, load_zip, prepare_zip, write_zip
from ._legacy import MAGIC, PROTOCOL_VERSION, load_legacy
from ._pickler import Pickler

__all__ = ["save", "load", "detect_format"]

FileLike = str | os.PathLike | BinaryIO


def _is_path(f: Any) -> bool:
    return isinstance(f, (str, os.PathLike))


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = pickle,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` to ``f`` (a path or a binary file object) in PyTorch's checkpoint format.

    ``obj`` may be a Tensor (or Parameter), a ``state_dict()``, an optimizer state_dict, or nested
    dicts, lists and tuples of those and of str, int, float, bool and None: the file then loads in
    real PyTorch with ``torch.load(f, weights_only=True)`` (and ``mmap=True``); tensors that share
    memory (tied weights, views) share one storage in the file, as with ``torch.save``. Anything
    else picklable (a whole module, an optimizer, a NumPy array) is pickled under PyTorch's names
    (``ember.nn.Linear`` as ``torch.nn.Linear``) and loads with ``weights_only=False``.

    Args:
        obj: what to save.
        f: a path (str or ``os.PathLike``) or a binary file object with ``write``.
        pickle_module, pickle_protocol: accepted for compatibility; ember always writes the
            protocol-2 pickle that ``torch.save`` writes.
        _use_new_zipfile_serialization: ``False`` writes the legacy (pre-1.6) format.
        _disable_byteorder_record: leave out the ``byteorder`` record, as torch does.

    Example:
        >>> ember.save(ember.nn.Linear(2, 2).state_dict(), "/tmp/linear.pth")
    """
    if pickle_module is not pickle and pickle_module is not None:
        raise ValueError("ember.save only supports the standard pickle module")
    if not _is_path(f) and not callable(getattr(f, "write", None)):
        raise AttributeError(
            f"'{type(f).__name__}' object has no attribute 'write': f must be a path or a "
            "binary file object"
        )
    if not _use_new_zipfile_serialization:
        data = _legacy_bytes(obj)
        if _is_path(f):
            with atomic_write(f) as fh:
                fh.write(data)
        else:
            f.write(data)
        return
    # The pickle is built before the file is opened, so an object that cannot be saved never
    # leaves a half-written file behind; storages are written straight from tensor memory.
    if _is_path(f):
        check_parent(f)
    pkl, storages = _prepare(obj)
    record = not _disable_byteorder_record
    if _is_path(f):
        with atomic_write(f) as fh:
            write_zip(fh, archive_folder(f), pkl, storages, byteorder_record=record)
    else:
        write_zip(f, "archive", pkl, storages, byteorder_record=record)


def _prepare(obj: Any) -> tuple[bytes, list]:
    """The pickle and storages: the weights-only form when ``obj`` is tensors and plain data
    (loadable with ``weights_only=True``), else Python's pickle under torch's names."""
    try:
        return prepare_zip(obj)
    except TypeError:
        from ._full import dumps_full

        return dumps_full(obj)


def _legacy_bytes(obj: Any) -> bytes:
    collector = StorageCollector(legacy=True)
    main = Pickler(collector).dumps(obj)
    out = [
        Pickler().dumps(MAGIC),
        Pickler().dumps(PROTOCOL_VERSION),
        Pickler().dumps(
            {
                "protocol_version": PROTOCOL_VERSION,
                "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4},
            }
        ),
        main,
    ]
    storages = sorted(collector.storages, key=lambda s: s[0])
    out.append(Pickler().dumps([s[0] for s in storages]))
    for _, _, numel, array in storages:
        out.append(struct.pack("<q", numel))
        out.append(bytes(array.view("uint8")) if array.size else b"")
    return b"".join(out)


def detect_format(head: bytes) -> str:
    """``'zip'``, ``'legacy'``, ``'safetensors'`` or ``'tar'`` from a file's first 512 bytes."""
    if head[:4] == b"PK\x03\x04":
        return "zip"
    # safetensors before legacy: a header length of 640 + 256k starts with b"\x80\x02" too.
    if len(head) > 8 and head[8:9] in b"{ \t\r\n" and head[8:9]:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= 100_000_000:
            return "safetensors"
    if head[:2] == b"\x80\x02":
        return "legacy"
    if head[257:262] == b"ustar":
        return "tar"
    raise CheckpointError(
        f"not a PyTorch or safetensors checkpoint (the file starts with {head[:8]!r}); "
        "damaged, or in a format ember does not read"
    )


def load(
    f: FileLike,
    map_location: str | Callable | dict | Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = True,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved with ``torch.save``/``ember.save``, or a safetensors file.

    Reads PyTorch's zip format (any version, CRCs off, big-endian byte order), the legacy pre-1.6
    format, and safetensors (recognised by content). Loading never executes code from the file:
    ember's unpickler builds only tensors, Parameters, containers and plain values from an exact
    allowlist, and raises :class:`~ember.serialization.UnsafeCheckpointError` naming the rule a
    file breaks. A damaged file raises ``RuntimeError`` naming what is damaged.

    Args:
        f: a path or a binary file object with ``read`` (and ideally ``seek``).
        map_location: ``None``, ``'cpu'``, an ``ember.device``, a dict of locations or a callable
            ``(storage, location) -> storage``; ember's only device is the CPU.
        pickle_module: must be ``None`` (ember uses its own unpickler).
        weights_only: ``True`` (the default) loads with ember's restricted unpickler, widened
            only by :func:`add_safe_globals`. ``False`` unpickles whole objects (modules,
            optimizers, NumPy arrays...) with ``torch.*`` classes mapped to ember's - it runs
            code named by the file: only for files you trust.
        mmap: map storages from the file (copy-on-write) instead of reading them; needs a path.

    Example:
        >>> model.load_state_dict(ember.load("/tmp/linear.pth"))
    """
    full = weights_only is not None and not weights_only
    if pickle_module is not None and not full:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if full and pickle_module not in (None, pickle):
        raise NotImplementedError(
            "ember.load(weights_only=False) unpickles with Python's pickle module; "
            f"pickle_module={getattr(pickle_module, '__name__', pickle_module)!r} is not supported"
        )
    mmap = bool(mmap)
    if mmap and not _is_path(f):
        raise ValueError("f must be a file path in order to use the mmap argument")
    factory = TensorFactory()
    if _is_path(f):
        with open(f, "rb") as fh:
            return _load_file(fh, map_location, factory, os.fspath(f) if mmap else None, full)
    if not callable(getattr(f, "read", None)):
        raise AttributeError(
            f"'{type(f).__name__}' object has no attribute 'read': f must be a path or a "
            "binary file object"
        )
    if not (callable(getattr(f, "seek", None)) and getattr(f, "seekable", lambda: True)()):
        f = io.BytesIO(f.read())
    return _load_file(f, map_location, factory, None, full)


def _load_file(
    fh: BinaryIO, map_location: Any, factory: Any, mmap_path: str | None, full: bool = False
) -> Any:
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    kind = detect_format(head)
    if kind == "zip":
        if start:
            fh = io.BytesIO(fh.read())
        if full:  # weights_only=False: the caller trusts the file (see _full.py)
            from ._full import FullUnpickler

            return load_zip(fh, map_location, factory, mmap_path=mmap_path, unpickler=FullUnpickler)
        return load_zip(fh, map_location, factory, mmap_path=mmap_path)
    if mmap_path is not None and kind != "safetensors":
        raise RuntimeError(
            "mmap can only be used with files saved with "
            "`torch.save(_use_new_zipfile_serialization=True)`, please torch.save your "
            "checkpoint with this option in order to use mmap."
        )
    if kind == "legacy":
        if start == 0 and _has_fileno(fh):
            size = os.fstat(fh.fileno()).st_size
            buf = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_READ) if size else b""
        else:
            buf = fh.read()
        if full:
            from ._full import FullUnpickler

            return load_legacy(buf, map_location, factory, unpickler=FullUnpickler)
        return load_legacy(buf, map_location, factory)
    if kind == "tar":
        raise CheckpointError(
            "this is PyTorch's oldest (tar) checkpoint format; ember does not read it. Load it "
            "once with an old PyTorch and save it again."
        )
    from .._tensor import _wrap
    from .safetensors import read_safetensors

    if map_location is not None:
        from .._backend import device

        if not isinstance(map_location, (str, device)):
            raise RuntimeError(
                "Loading safetensors file with a dict or callable map_location is not supported."
                " Use a device string or ember.device instead."
            )
        device(str(map_location))  # only 'cpu' exists: anything else raises RuntimeError
    _, arrays, _ = read_safetensors(mmap_path if mmap_path else fh, copy=mmap_path is None)
    return {k: _wrap(a) for k, a in arrays.items()}


def _has_fileno(fh: Any) -> bool:
    try:
        fh.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True
