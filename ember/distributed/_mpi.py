"""The one place that imports mpi4py, lazily: ``import ember.distributed`` works without it."""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "pip install 'ember[distributed]' (mpi4py and the mpich wheel)"

_MPI: Any = None


def available() -> bool:
    """Whether mpi4py can be imported (without initialising MPI)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def mpi() -> Any:
    """``mpi4py.MPI`` (initialising MPI on first use), or a RuntimeError naming the install."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(
                "ember.distributed needs MPI through mpi4py, which is not installed: "
                f"{INSTALL_HINT}"
            ) from e
        _MPI = MPI
    return _MPI
