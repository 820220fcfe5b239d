"""Atomic file writes for ``ember.save``: a checkpoint is replaced whole or not at all.

The data goes to a temporary file in the target's directory (same filesystem, so the final
rename is atomic), is flushed and fsynced, then renamed over the target. If anything fails on the
way (an unpicklable value, a full disk, an interrupt), the temporary file is removed and the old
checkpoint is untouched; ``torch.save`` truncates the old file first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["atomic_write", "check_parent"]


def check_parent(path: str | os.PathLike) -> str:
    """The directory ``path`` will be written in; PyTorch's RuntimeError if it does not exist."""
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    return parent


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose contents replace ``path`` when the block exits cleanly (a
    missing directory is the ``FileNotFoundError`` of ``open``; see ``check_parent``)."""
    target = os.path.realpath(os.fspath(path))  # through a symlink: replace what it points at
    parent = os.path.dirname(target)
    mode = _mode_for(target)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    os.close(fd)  # reopened by name, so the handle's ``name`` is the path (zip writers use it)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(parent)


def _mode_for(target: str) -> int:
    """The old file's permissions, or what ``open(path, 'w')`` would give a new file."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_dir(parent: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        dfd = os.open(parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
