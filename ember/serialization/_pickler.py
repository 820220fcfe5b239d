"""A protocol-2 pickle writer that emits only the opcodes torch's ``weights_only`` loader accepts.

The writer knows plain data (None, bool, int, float, str, bytes, complex, tuple, list, dict, set,
``OrderedDict`` with ``_metadata``) and three markers that the tensor layer builds:
:class:`Global` (a ``GLOBAL module name``), :class:`Reduce` (a call of a global on arguments) and
:class:`PersistentId` (a storage reference). Anything else is handed to a ``reducer`` callback that
returns one of those, or raises ``TypeError``.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["Global", "Reduce", "PersistentId", "Pickler", "MAX_DEPTH"]

MAX_DEPTH = 100  # the unpickler refuses deeper nesting, so the writer does too
_BATCH = 1000


class Global:
    """A reference to ``module.name`` as written by the GLOBAL opcode."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name


class Reduce:
    """``func(*args)`` on load: written as ``func args REDUCE``, memoized by identity."""

    __slots__ = ("func", "args")

    def __init__(self, func: Global, args: tuple) -> None:
        self.func, self.args = func, args


class PersistentId:
    """A persistent reference (torch uses ``('storage', type, key, location, numel)``)."""

    __slots__ = ("pid",)

    def __init__(self, pid: tuple) -> None:
        self.pid = pid


_ORDERED_DICT = Global("collections", "OrderedDict")
_SET = Global("builtins", "set")
_COMPLEX = Global("builtins", "complex")
_BYTEARRAY = Global("builtins", "bytearray")
_ENCODE = Global("_codecs", "encode")


def _encode_long(x: int) -> bytes:
    n = ((x if x >= 0 else ~x).bit_length() + 8) // 8
    return x.to_bytes(n, "little", signed=True) if x else b""


class Pickler:
    """Serialise one object to protocol-2 pickle bytes (see the module docstring)."""

    def __init__(self, reducer: Callable[[Any], Any] | None = None) -> None:
        self._reducer = reducer
        self._out: list[bytes] = []
        self._memo: dict[Any, int] = {}
        self._keep: list[Any] = []  # keeps memoized objects alive so ids stay unique
        self._active: set[int] = set()

    def dumps(self, obj: Any) -> bytes:
        self._out = [b"\x80\x02"]
        self._save(obj, 0)
        self._out.append(b".")
        return b"".join(self._out)

    # ---- memo ---------------------------------------------------------------------------
    def _put(self, key: Any, obj: Any) -> None:
        idx = len(self._memo)
        self._memo[key] = idx
        self._keep.append(obj)
        self._out.append(b"q" + bytes([idx]) if idx < 256 else b"r" + struct.pack("<I", idx))

    def _get(self, key: Any) -> bool:
        idx = self._memo.get(key)
        if idx is None:
            return False
        self._out.append(b"h" + bytes([idx]) if idx < 256 else b"j" + struct.pack("<I", idx))
        return True

    # ---- dispatch ------------------------------------------------------------------------
    def _save(self, obj: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"ember.save: containers nested deeper than {MAX_DEPTH} levels")
        w = self._out.append
        t = type(obj)
        if obj is None:
            w(b"N")
        elif t is bool:
            w(b"\x88" if obj else b"\x89")
        elif t is int:
            self._save_int(obj)
        elif t is float:
            w(b"G" + struct.pack(">d", obj))
        elif t is str:
            self._save_str(obj)
        elif t is tuple:
            self._save_tuple(obj, depth)
        elif t is list:
            self._save_list(obj, depth)
        elif t is dict or t is OrderedDict:
            self._save_dict(obj, depth)
        elif t is Global:
            self._save_global(obj)
        elif t is Reduce:
            if not self._get(("obj", id(obj))):
                self._save_global(obj.func)
                self._save_tuple(obj.args, depth)
                w(b"R")
                self._put(("obj", id(obj)), obj)
        elif t is PersistentId:
            self._save_tuple(obj.pid, depth)
            w(b"Q")
        elif t is bytes:
            self._save_reduce(_ENCODE, (obj.decode("latin1"), "latin1"), depth)
        elif t is bytearray:
            self._save_reduce(_BYTEARRAY, (obj.decode("latin1"), "latin-1"), depth)
        elif t is complex:
            self._save_reduce(_COMPLEX, (obj.real, obj.imag), depth)
        elif t is set:
            self._save_reduce(_SET, (list(obj),), depth)
        elif isinstance(obj, float):  # NumPy float64 scalars and other float subclasses
            w(b"G" + struct.pack(">d", float(obj)))
        else:
            if self._reducer is None:
                raise TypeError(f"ember.save: cannot save an object of type {t.__name__}")
            self._save(self._reducer(obj), depth)

    def _save_int(self, x: int) -> None:
        if 0 <= x < 256:
            self._out.append(b"K" + bytes([x]))
        elif 0 <= x < 65536:
            self._out.append(b"M" + struct.pack("<H", x))
        elif -(2**31) <= x < 2**31:
            self._out.append(b"J" + struct.pack("<i", x))
        else:
            data = _encode_long(x)
            if len(data) > 255:
                raise OverflowError("ember.save: int too large to save (more than 255 bytes)")
            self._out.append(b"\x8a" + bytes([len(data)]) + data)

    def _save_str(self, s: str) -> None:
        if self._get(("str", s)):
            return
        data = s.encode("utf-8", "surrogatepass")
        self._out.append(b"X" + struct.pack("<I", len(data)) + data)
        self._put(("str", s), s)

    def _save_global(self, g: Global) -> None:
        key = ("global", g.module, g.name)
        if not self._get(key):
            self._out.append(b"c" + g.module.encode() + b"\n" + g.name.encode() + b"\n")
            self._put(key, g)

    def _save_reduce(self, func: Global, args: tuple, depth: int) -> None:
        self._save_global(func)
        self._save_tuple(args, depth)
        self._out.append(b"R")

    def _enter(self, obj: Any) -> None:
        if id(obj) in self._active:
            raise ValueError(
                f"ember.save: a {type(obj).__name__} contains itself; self-referencing "
                "containers cannot be saved"
            )
        self._active.add(id(obj))

    def _save_tuple(self, items: tuple, depth: int) -> None:
        n = len(items)
        if n == 0:
            self._out.append(b")")
            return
        self._enter(items)
        if n > 3:
            self._out.append(b"(")
        for x in items:
            self._save(x, depth + 1)
        self._out.append({1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(n, b"t"))
        self._active.discard(id(items))

    def _save_list(self, items: list, depth: int) -> None:
        self._enter(items)
        if self._get(("obj", id(items))):
            self._active.discard(id(items))
            return
        self._out.append(b"]")
        self._put(("obj", id(items)), items)
        for i in range(0, len(items), _BATCH):
            batch = items[i : i + _BATCH]
            if len(batch) == 1:
                self._save(batch[0], depth + 1)
                self._out.append(b"a")
            else:
                self._out.append(b"(")
                for x in batch:
                    self._save(x, depth + 1)
                self._out.append(b"e")
        self._active.discard(id(items))

    def _save_dict(self, d: dict, depth: int) -> None:
        self._enter(d)
        if self._get(("obj", id(d))):
            self._active.discard(id(d))
            return
        ordered = type(d) is OrderedDict
        if ordered:
            self._save_global(_ORDERED_DICT)
            self._out.append(b")R")
        else:
            self._out.append(b"}")
        self._put(("obj", id(d)), d)
        items = list(d.items())
        for i in range(0, len(items), _BATCH):
            batch = items[i : i + _BATCH]
            if len(batch) == 1:
                self._save(batch[0][0], depth + 1)
                self._save(batch[0][1], depth + 1)
                self._out.append(b"s")
            else:
                self._out.append(b"(")
                for k, v in batch:
                    self._save(k, depth + 1)
                    self._save(v, depth + 1)
                self._out.append(b"u")
        metadata = getattr(d, "_metadata", None) if ordered else None
        if metadata is not None:
            self._save_dict({"_metadata": metadata}, depth + 1)
            self._out.append(b"b")
        self._active.discard(id(d))
