"""One helper for the "an int or a sequence of ``n`` ints" arguments of the conv, pooling and
fold layers and functions (PyTorch's ``_single``/``_pair``/``_triple``/``_ntuple``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ntuple"]


def ntuple(
    value: Any,
    n: int,
    cast: Callable[[Any], Any] | None = None,
    error: Callable[[], str] | None = None,
    *,
    expand_one: bool = True,
) -> tuple:
    """``value`` as an ``n``-tuple: a number is repeated ``n`` times, a sequence is kept.

    A one-element sequence is repeated too when ``expand_one`` (PyTorch's functional conv and
    pooling do that). ``cast`` converts each element (``int`` in the functional forms). With
    ``error``, a sequence of any other length than ``n`` raises ``RuntimeError(error())``; the
    message is built only then, so the common call costs no formatting.
    """
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and expand_one:
            value = value[0]
        elif error is not None and len(value) != n:
            raise RuntimeError(error())
        else:
            return tuple(value) if cast is None else tuple(cast(v) for v in value)
    return (value if cast is None else cast(value),) * n
