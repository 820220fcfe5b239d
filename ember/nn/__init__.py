"""``ember.nn``: modules, parameters, containers, layers, ``functional``, ``init``, ``utils``.

Use it as ``from ember import nn`` or ``import ember.nn as nn``.
"""

from . import functional, init, parameter, utils
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter


def __getattr__(name: str):
    # nn.parallel (DDP, DataParallel) loads on first use: it brings ember.distributed along.
    if name in ("parallel", "DataParallel"):
        import importlib

        parallel = importlib.import_module(".parallel", __name__)
        return parallel if name == "parallel" else parallel.DataParallel
    raise AttributeError(f"module 'ember.nn' has no attribute '{name}'")
