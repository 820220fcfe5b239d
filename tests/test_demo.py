"""The demo runs end to end on a small budget; the MNIST path reads IDX files and rejects bad
ones clearly."""

from __future__ import annotations

import argparse
import gzip
import io
import struct

import numpy as np
import pytest
import torch

from ember.demo import IDXError, build_model, load_mnist, read_idx, run


def _args(tmp_path, **kw) -> argparse.Namespace:
    a = dict(epochs=3, batch_size=32, lr=2e-3, seed=0, out=str(tmp_path), mnist=None, quiet=True)
    a.update(kw)
    return argparse.Namespace(**a)


def test_demo_trains_saves_reloads_and_plots(tmp_path) -> None:
    out = io.StringIO()
    res = run(_args(tmp_path), out=out)
    text = out.getvalue()
    assert res["accuracy"] > 0.85  # 3 epochs; the full demo (15 epochs) reaches >= 97%
    assert res["reload_identical"]
    assert "Sequential(" in text and "(conv1): Conv2d(1, 16" in text
    assert "Total params" in text and "confusion matrix" in text
    assert (tmp_path / "net.pth").exists() and (tmp_path / "training.png").exists()
    assert (tmp_path / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sd = torch.load(tmp_path / "net.pth", weights_only=True)
    assert list(sd) == list(build_model(8).state_dict())


def _idx(arr: np.ndarray, code: int) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_mnist(folder, n_train: int = 64, n_test: int = 32, gz: bool = True) -> None:
    g = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = g.integers(0, 10, n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        for i, lab in enumerate(labels):  # a learnable pattern: a bright block per class
            images[i, 2 * lab : 2 * lab + 6, 4:24] = 255
        for kind, arr, ndim in (("images", images, 3), ("labels", labels, 1)):
            data = _idx(arr, 0x08)
            name = f"{prefix}-{kind}-idx{ndim}-ubyte"
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)


def test_mnist_idx_reader_round_trip(tmp_path) -> None:
    _write_mnist(tmp_path)
    x_tr, y_tr, x_te, y_te = load_mnist(str(tmp_path))
    assert x_tr.shape == (64, 1, 28, 28) and x_tr.dtype == np.float32
    assert y_te.shape == (32,) and y_te.dtype == np.int64
    assert x_tr.max() == 1.0


def test_demo_on_tiny_mnist(tmp_path) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    _write_mnist(data, gz=False)
    res = run(_args(tmp_path / "out", mnist=str(data), epochs=2, batch_size=16), out=io.StringIO())
    assert 0.0 <= res["accuracy"] <= 1.0
    assert res["reload_identical"]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x08\x03\x00\x00" + b"\x00" * 12, "wrong magic number"),
        (bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 10, 28, 28) + b"\x00" * 100, "truncated data"),
        (bytes([0, 0, 0x08, 3]) + b"\x00\x00", "truncated header"),
        (bytes([0, 0, 0x42, 1]) + struct.pack(">I", 1) + b"\x00", "unknown IDX type code"),
        (b"\x00", "too short"),
    ],
)
def test_bad_idx_files_raise_clear_errors(tmp_path, raw: bytes, message: str) -> None:
    p = tmp_path / "bad-idx3-ubyte"
    p.write_bytes(raw)
    with pytest.raises(IDXError, match=message):
        read_idx(p)


def test_truncated_gzip_is_reported(tmp_path) -> None:
    p = tmp_path / "x.gz"
    p.write_bytes(gzip.compress(_idx(np.zeros((4, 2), np.uint8), 0x08))[:-6])
    with pytest.raises(IDXError, match="damaged gzip"):
        read_idx(p)


def test_missing_mnist_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(str(tmp_path))


def test_cli_demo_help_lists_commands() -> None:
    from ember.cli import build_parser

    text = build_parser().format_help()
    for cmd in ("demo", "inspect", "convert"):
        assert cmd in text
