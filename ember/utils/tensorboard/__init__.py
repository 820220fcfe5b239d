"""``ember.utils.tensorboard``: ``SummaryWriter`` writing TensorBoard event files.

The files are written by the ``tensorboard`` package itself (``pip install 'ember[tensorboard]'``),
which is imported only when a ``SummaryWriter`` is made.
"""

from __future__ import annotations

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
