"""In-place Tensor methods outside autograd: ``resize_``/``resize_as_`` (new shape, the old
elements kept in C order, new ones zero) and ``apply_``/``map_`` (a Python function per
element, CPU-only in PyTorch too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor

__all__ = ["resize_", "resize_as_", "apply_", "map_"]


def _shape(size: tuple) -> tuple:
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    return shape


def _check_no_grad(t: Tensor, name: str) -> None:
    if t.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if t._base is not None:
        raise NotImplementedError(f"{name}: ember cannot resize a view (its storage is shared)")


def resize_(self: Tensor, *size: Any, memory_format: Any = None) -> Tensor:
    """Give ``self`` a new shape in place: its first elements (C order) are kept, elements
    beyond the old count are zero (PyTorch leaves them uninitialized)."""
    shape = _shape(size)
    _check_no_grad(self, "resize_")
    old = self._data.reshape(-1)
    n = int(np.prod(shape))
    if n <= old.size:
        data = old[:n].reshape(shape).copy()
    else:
        data = np.zeros(n, old.dtype)
        data[: old.size] = old
        data = data.reshape(shape)
    self._data = data
    self._vc[0] += 1
    return self


def resize_as_(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    return resize_(self, tuple(the_template.shape))


def apply_(self: Tensor, callable: Callable) -> Tensor:
    """Replace each element ``v`` by ``callable(v)`` (a Python number in, a number out)."""
    _check_writable(self, "apply_")
    flat = self._data.reshape(-1)
    values = [callable(v) for v in flat.tolist()]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


def map_(self: Tensor, tensor: Tensor, callable: Callable) -> Tensor:
    """Replace each element ``a`` by ``callable(a, b)``, ``b`` from ``tensor`` broadcast to
    ``self``'s shape."""
    _check_writable(self, "map_")
    other = np.broadcast_to(tensor._data, self._data.shape).reshape(-1).tolist()
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(), other)]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


def _check_writable(t: Tensor, name: str) -> None:
    if t.requires_grad:
        raise RuntimeError(
            f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
            "instead."
        )
