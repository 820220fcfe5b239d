"""A reader for the IDX files MNIST ships in (raw or gzip), with clear errors for bad files.

IDX layout: two zero bytes, a type code, the number of dimensions, one big-endian uint32 per
dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

__all__ = ["IDXError", "read_idx", "load_mnist"]

_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_DIMS = 8


class IDXError(ValueError):
    """A file that is not a valid IDX file (wrong magic, truncated, inconsistent sizes)."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw, recognised by content) into a NumPy array."""
    with open(path, "rb") as f:
        raw = f.read()
    name = os.fspath(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise IDXError(f"{name}: damaged gzip data ({e})") from None
    if len(raw) < 4:
        raise IDXError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(
            f"{name}: wrong magic number {raw[:4].hex()} (an IDX file starts with 00 00, then a "
            "type code and the number of dimensions)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim == 0 or ndim > _MAX_DIMS:
        raise IDXError(f"{name}: unsupported number of dimensions {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: truncated header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dt = _TYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    need = header + count * dt.itemsize
    if len(raw) < need:
        raise IDXError(
            f"{name}: truncated data: shape {list(shape)} needs {need} bytes, file has {len(raw)}"
        )
    if len(raw) > need:
        raise IDXError(f"{name}: {len(raw) - need} unexpected bytes after the data")
    return np.frombuffer(raw, dt, count, header).reshape(shape).astype(dt.newbyteorder("="))


_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find(directory: str, stem: str) -> str:
    for cand in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        p = os.path.join(directory, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in {directory} (expected the four files "
        f"{', '.join(_NAMES.values())}, raw or gzip)"
    )


def load_mnist(directory: str) -> tuple:
    """``(x_train, y_train, x_test, y_test)`` from MNIST IDX files in ``directory``.

    Images come back as float32 in [0, 1] with shape (N, 1, 28, 28); labels as int64.
    """
    parts = {k: read_idx(_find(directory, v)) for k, v in _NAMES.items()}
    for split in ("train", "test"):
        imgs, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if imgs.ndim != 3:
            raise IDXError(f"{split} images must be 3-D (N, H, W), got shape {list(imgs.shape)}")
        if labels.ndim != 1 or labels.shape[0] != imgs.shape[0]:
            raise IDXError(
                f"{split}: {imgs.shape[0]} images but labels of shape {list(labels.shape)}"
            )

    def prep(a: np.ndarray) -> np.ndarray:
        return (a.astype(np.float32) / 255.0)[:, None, :, :]

    return (
        prep(parts["train_images"]),
        parts["train_labels"].astype(np.int64),
        prep(parts["test_images"]),
        parts["test_labels"].astype(np.int64),
    )
