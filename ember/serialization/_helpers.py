"""Helpers around loading state_dicts: prefix stripping and a readable difference report."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["strip_prefix", "state_dict_diff", "StateDictDiff"]


def strip_prefix(state_dict: Mapping[str, Any], prefix: str = "module.") -> OrderedDict:
    """A copy of ``state_dict`` with ``prefix`` removed from every key that starts with it.

    The usual case is a checkpoint saved from ``nn.DataParallel`` or DDP, whose keys all start
    with ``"module."``. Keys without the prefix are kept as they are. The ``_metadata`` of the
    state_dict (per-module versions) is copied with its keys stripped the same way, as PyTorch's
    ``consume_prefix_in_state_dict_if_present`` does; unlike that function, the input is not
    modified.

    Example:
        >>> sd = strip_prefix(ember.load("ddp_checkpoint.pth"), "module.")
        >>> model.load_state_dict(sd)
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    out: OrderedDict = OrderedDict()
    for key, value in state_dict.items():
        new = key[len(prefix) :] if isinstance(key, str) and key.startswith(prefix) else key
        if new in out:
            raise ValueError(f"stripping {prefix!r} maps two keys to {new!r}")
        out[new] = value
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        md: OrderedDict = OrderedDict()
        bare = prefix[:-1] if prefix.endswith(".") else prefix
        for key, value in metadata.items():
            if key and (key == bare or key.startswith(prefix)):
                key = key[len(prefix) :] if key.startswith(prefix) else ""
            md[key] = value
        out._metadata = md
    return out


def _describe(value: Any) -> tuple[tuple[int, ...] | None, str]:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return None, type(value).__name__
    name = getattr(dtype, "name", None) or str(dtype).rsplit(".", 1)[-1]
    return tuple(int(s) for s in shape), str(name)


@dataclass
class StateDictDiff:
    """What differs between two state_dicts (see :func:`state_dict_diff`).

    Attributes:
        only_in_a, only_in_b: keys present on one side only, in their dict order.
        shape: ``{key: (shape_a, shape_b)}`` for keys whose shapes differ.
        dtype: ``{key: (dtype_a, dtype_b)}`` for keys whose dtypes (or value types) differ.
    """

    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    shape: dict[str, tuple] = field(default_factory=dict)
    dtype: dict[str, tuple] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.only_in_a or self.only_in_b or self.shape or self.dtype)

    def __str__(self) -> str:
        if not self:
            return "state_dicts match: same keys, shapes and dtypes"
        lines = []
        for title, keys in (("only in a", self.only_in_a), ("only in b", self.only_in_b)):
            if keys:
                lines.append(f"{title} ({len(keys)}):")
                lines += [f"  {k}" for k in keys]
        if self.shape:
            lines.append(f"shape differs ({len(self.shape)}):")
            lines += [f"  {k}: {list(a)} vs {list(b)}" for k, (a, b) in self.shape.items()]
        if self.dtype:
            lines.append(f"dtype differs ({len(self.dtype)}):")
            lines += [f"  {k}: {a} vs {b}" for k, (a, b) in self.dtype.items()]
        return "\n".join(lines)


def state_dict_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> StateDictDiff:
    """Compare two state_dicts by keys, shapes and dtypes (not values).

    Works with ember and torch tensors alike (anything with ``.shape`` and ``.dtype``); dtypes are
    compared by name (``float32``). The result is falsy when nothing differs and prints as a
    report.

    Example:
        >>> diff = state_dict_diff(model.state_dict(), ember.load("net.pth"))
        >>> if diff:
        ...     print(diff)
    """
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        raise TypeError("state_dict_diff expects two dicts")
    out = StateDictDiff()
    out.only_in_a = [k for k in a if k not in b]
    out.only_in_b = [k for k in b if k not in a]
    for key in a:
        if key not in b:
            continue
        shape_a, dtype_a = _describe(a[key])
        shape_b, dtype_b = _describe(b[key])
        if shape_a != shape_b and shape_a is not None and shape_b is not None:
            out.shape[key] = (shape_a, shape_b)
        if dtype_a != dtype_b:
            out.dtype[key] = (dtype_a, dtype_b)
    return out
