"""``ember.save`` replaces a checkpoint whole or not at all, and names a missing directory as
torch does (torch itself truncates the old file first: this is the strictly better behaviour)."""

from __future__ import annotations

import os
import pickle
import stat

import pytest
import torch

import ember
from ember.serialization import _api, _atomic


def _state(v: float) -> dict:
    return {"w": ember.full((3,), v), "step": 7}


def _check_old(path) -> None:
    got = ember.load(path)
    assert got["w"].tolist() == [1.0, 1.0, 1.0] and got["step"] == 7
    assert torch.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0, 1.0]


def _leftovers(tmp_path) -> list:
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "ckpt.pt")


@pytest.mark.parametrize("zipfile", [True, False])
def test_failure_midway_keeps_the_old_checkpoint(tmp_path, monkeypatch, zipfile):
    path = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), path, _use_new_zipfile_serialization=zipfile)

    def disk_full(fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    if zipfile:
        monkeypatch.setattr(_api, "write_zip", disk_full)
    else:
        monkeypatch.setattr(_api, "_legacy_bytes", lambda obj: b"\x80\x02 partial" * 10)
        monkeypatch.setattr(_atomic.os, "fsync", _raise_enospc)
    with pytest.raises(OSError, match="No space left"):
        ember.save(_state(2.0), path, _use_new_zipfile_serialization=zipfile)
    monkeypatch.undo()
    _check_old(path)
    assert _leftovers(tmp_path) == []


def _raise_enospc(fd):
    raise OSError(28, "No space left on device")


def test_unpicklable_value_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), path)
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        ember.save({"w": ember.zeros(3), "f": lambda: 0}, path)
    _check_old(path)
    assert _leftovers(tmp_path) == []


def test_interrupt_during_write_removes_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), path)
    seen = []

    def interrupted(fh, *args, **kwargs):
        seen.append(fh.name)
        fh.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(_api, "write_zip", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ember.save(_state(2.0), path)
    monkeypatch.undo()
    # it wrote to a temporary file in the same directory, never to the checkpoint itself
    assert os.path.dirname(seen[0]) == str(tmp_path) and seen[0] != str(path)
    assert not os.path.exists(seen[0])
    _check_old(path)


def test_success_flushes_syncs_renames_and_keeps_permissions(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), path)
    os.chmod(path, 0o640)
    synced, replaced = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(_atomic.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    monkeypatch.setattr(
        _atomic.os, "replace", lambda a, b: replaced.append((a, b)) or real_replace(a, b)
    )
    ember.save(_state(2.0), path)
    monkeypatch.undo()
    assert synced and replaced and replaced[0][1] == str(path)
    assert ember.load(path)["w"].tolist() == [2.0, 2.0, 2.0]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_new_file_gets_the_usual_permissions(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), path)
    with open(tmp_path / "plain", "wb"):
        pass
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


def test_save_through_a_symlink_replaces_its_target(tmp_path):
    real = tmp_path / "real.pt"
    link = tmp_path / "ckpt.pt"
    ember.save(_state(1.0), real)
    link.symlink_to(real)
    ember.save(_state(2.0), link)
    assert link.is_symlink()
    assert ember.load(real)["w"].tolist() == [2.0, 2.0, 2.0]


def test_missing_directory_is_torchs_runtime_error(tmp_path):
    path = tmp_path / "no" / "such" / "ckpt.pt"
    errs = []
    for m in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            m.save({"a": m.zeros(1)}, path)
        errs.append(str(info.value))
    assert errs[0] == errs[1] == f"Parent directory {path.parent} does not exist."
    # the legacy format has no such check in torch: open()'s FileNotFoundError in both
    for m in (ember, torch):
        with pytest.raises(FileNotFoundError):
            m.save({"a": m.zeros(1)}, path, _use_new_zipfile_serialization=False)
