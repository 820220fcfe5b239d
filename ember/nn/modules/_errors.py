"""How a layer names itself in an error: every module calls the public functional op and, when
that raises, adds its own repr to the message with :func:`name_layer`::

    try:
        return F.linear(input, self.weight, self.bias)
    except LAYER_ERRORS as e:
        name_layer(e, self)
        raise

The exception keeps its type, its traceback and PyTorch's text (which the functional op wrote);
only ``(in Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1)))`` is appended, so the user sees
which of many layers refused the input. Layers whose ``forward`` is more than one call (pooling,
normalisation, embedding, RNN, attention) use the same mechanism as a decorator,
:func:`names_layer`, around the whole ``forward``.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["name_layer", "names_layer", "LAYER_ERRORS"]

# The errors a functional op raises for a bad input (a TypeError for a non-Tensor argument, an
# IndexError for an out-of-range index, an AssertionError where PyTorch asserts, as in attention).
LAYER_ERRORS = (RuntimeError, ValueError, TypeError, IndexError, AssertionError)


def name_layer(err: BaseException, layer: Any) -> None:
    """Append `` (in <layer repr>)`` to ``err``'s message; the caller re-raises it (``raise``).

    A message that already names a layer (an inner layer of a container) is left alone, so the
    innermost layer is the one named.
    """
    if len(err.args) == 1 and isinstance(err.args[0], str) and " (in " not in err.args[0]:
        err.args = (f"{err.args[0]} (in {layer!r})",)


def names_layer(forward: Any) -> Any:
    """Decorate a layer's ``forward``: an error it raises gets :func:`name_layer`'s suffix."""

    @functools.wraps(forward)
    def named_forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return forward(self, *args, **kwargs)
        except LAYER_ERRORS as e:
            name_layer(e, self)
            raise

    return named_forward
