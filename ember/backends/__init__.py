"""``ember.backends``: PyTorch's backend switches, answered truthfully for a NumPy library.

Each submodule loads on first use. GPU backends (``cuda``, ``cudnn``, ``mps``) report that they
are not available; their flags exist and keep what a script sets (they change nothing, since
ember runs no GPU kernels). ``mkl``, ``mkldnn`` and ``openmp`` report False: ember calls none of
them (NumPy's own BLAS does the products).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ember.backends' has no attribute '{name}'")
