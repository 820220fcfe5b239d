"""The errors a checkpoint reader raises."""

from __future__ import annotations

import pickle

__all__ = ["UnsafeCheckpointError", "CheckpointError"]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint broke one of ember's safe-loading rules.

    The message names the rule (for example ``"global os.system is not allowed"``). ember never
    executes code from a file: anything outside the allowlist of globals, opcodes and structures
    that plain weights need is refused with this error.
    """


class CheckpointError(RuntimeError):
    """A checkpoint is damaged, truncated or in a form ember does not read.

    A ``RuntimeError``, like PyTorch's errors for unreadable archives.
    """
