"""``ember.nn``: modules, parameters, containers, layers, ``functional``, ``init``, ``utils``.

Use it as ``from ember import nn`` or ``import ember.nn as nn``.
"""

from . import functional, init, parallel, parameter, utils
from .modules import *  # noqa: F403
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
