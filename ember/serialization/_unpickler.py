"""ember's restricted unpickler for checkpoints: it never imports, never calls by name.

It interprets the 34 opcodes torch's ``weights_only`` loader accepts and nothing else. A GLOBAL is
looked up in an exact allowlist of ``(module, name)`` pairs that map to inert markers; REDUCE calls
ember's own constructor for a marker, found by identity, after type-checking every argument. The
only other globals are those the caller allowed with ``add_safe_globals``: those may be called,
instantiated and given state, as in PyTorch.
Containers are only mutated by the unpickler while they are being built: once an object becomes
an item of another (or of a tuple), it is sealed, which rules out cycles. Depth, object count and
the size of the structure with sharing expanded are bounded.

Storages come from a ``load_storage(key, dtype_name, numel, location)`` callback that returns a
1-D NumPy array; tensors are views of those arrays made only after a bounds check, then handed to
a factory (ember Tensors by default, raw arrays for format-level code).
"""

from __future__ import annotations

import struct
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ._allowlist import (
    ALLOWED,
    DTYPE_ALIASES,
    DTYPES,
    KEY,
    MAX_DEPTH,
    MAX_EXPANDED,
    MAX_OBJECTS,
    PARAMETER_CLS,
    REDUCERS,
    TENSOR_REBUILDS,
    UNSUPPORTED_DTYPES,
    ArrayFactory,
    Marker,
    Storage,
    bf16_view,
    is_int,
    opname,
    strided_view,
)
from ._errors import CheckpointError, UnsafeCheckpointError
from ._safe_globals import lookup as safe_globals_lookup

__all__ = ["Unpickler", "ArrayFactory"]


def _is_str(x: Any, *values: str) -> bool:
    """``x`` is a str equal to one of ``values`` (never calls ``==`` on a loaded object)."""
    return type(x) is str and x in values


class Unpickler:
    """Interpret one pickle from ``data`` starting at ``pos``.

    Args:
        data: the bytes holding the pickle.
        load_storage: ``(key, dtype_name, numel, location) -> 1-D ndarray`` for a storage.
        factory: turns arrays into tensors (see :class:`ArrayFactory`).
        legacy: accept the six-field persistent ids of the pre-1.6 format.
    """

    def __init__(
        self,
        data: bytes,
        load_storage: Callable[[str, str, int, str], np.ndarray] | None = None,
        factory: Any = None,
        *,
        pos: int = 0,
        legacy: bool = False,
    ) -> None:
        self._data, self._pos, self._legacy = data, pos, legacy
        self._load_storage = load_storage
        self._factory = factory or ArrayFactory()
        self._storages: dict[str, Storage] = {}
        self._views: dict[str, Storage] = {}
        self.deferred: list[Callable[[], None]] = []  # legacy: run after storages are filled
        self.end = pos

    # ---- reading ------------------------------------------------------------------------
    def _take(self, n: int, what: str) -> bytes:
        p = self._pos
        if p + n > len(self._data):
            raise UnsafeCheckpointError(
                f"pickle is truncated: {what} needs {n} bytes at byte {p}, past the end"
            )
        self._pos = p + n
        return self._data[p : p + n]

    def _line(self) -> str:
        end = self._data.find(b"\n", self._pos, self._pos + 257)
        if end < 0:
            raise UnsafeCheckpointError(
                "GLOBAL name is not terminated by a newline within 256 bytes"
            )
        raw = self._data[self._pos : end]
        self._pos = end + 1
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise UnsafeCheckpointError(f"GLOBAL name {raw!r:.60} is not ASCII") from None

    # ---- bookkeeping -----------------------------------------------------------------------
    def _new(self, obj: Any, container: bool = False) -> Any:
        self._count += 1
        if self._count > MAX_OBJECTS:
            raise UnsafeCheckpointError(f"pickle builds more than {MAX_OBJECTS} objects")
        if container:
            self._info[id(obj)] = [obj, 1, 1, False]  # obj, depth, expanded size, internal
        return obj

    def _adopt(self, parent: Any, item: Any, *, allow_internal: bool = False) -> None:
        """Record that ``item`` becomes part of ``parent`` (sealing it, updating the bounds)."""
        if item is parent:
            raise UnsafeCheckpointError(f"a {type(parent).__name__} contains itself (cycle)")
        info = self._info.get(id(item))
        internal = type(item) in (Marker, Storage) or (info is not None and info[3])
        if internal and not allow_internal:
            raise UnsafeCheckpointError(f"{item!r:.60} cannot be stored in a container")
        if info is not None:
            self._sealed.add(id(item))
        p = self._info[id(parent)]
        depth, size = (info[1], info[2]) if info is not None else (0, 1)
        p[1] = max(p[1], depth + 1)
        p[2] += size
        p[3] = p[3] or internal
        if p[1] > MAX_DEPTH:
            raise UnsafeCheckpointError(f"containers nested deeper than {MAX_DEPTH} levels")
        if p[2] > MAX_EXPANDED:
            raise UnsafeCheckpointError(
                f"structure has more than {MAX_EXPANDED} elements with sharing expanded"
            )

    def _target(self, kinds: tuple, op: str) -> Any:
        if not self._stack:
            raise UnsafeCheckpointError(f"stack underflow at {op}")
        t = self._stack[-1]
        if type(t) not in kinds or id(t) not in self._info:
            raise UnsafeCheckpointError(f"{op} on a {type(t).__name__} is not allowed")
        if id(t) in self._sealed:
            raise UnsafeCheckpointError(f"{op} on a {type(t).__name__} that is already in use")
        return t

    def _pop(self, op: str) -> Any:
        if not self._stack:
            raise UnsafeCheckpointError(f"stack underflow at {op}")
        return self._stack.pop()

    def _pop_mark(self, op: str) -> list:
        if not self._metastack:
            raise UnsafeCheckpointError(f"{op} without a MARK")
        items = self._stack
        self._stack = self._metastack.pop()
        return items

    def _tuple(self, items: list) -> tuple:
        t = self._new(tuple(items), container=True)
        for x in items:
            self._adopt(t, x, allow_internal=True)
        return t

    def _check_key(self, key: Any, depth: int = 0) -> None:
        if key is None or type(key) in (str, int, float, bool, bytes, complex):
            return
        if type(key) is tuple and depth < MAX_DEPTH:
            for k in key:
                self._check_key(k, depth + 1)
            return
        raise UnsafeCheckpointError(f"dict key of type {type(key).__name__} is not allowed")

    # ---- main loop ------------------------------------------------------------------------
    def load(self) -> Any:
        """Run the pickle to its STOP; return the object (``self.end`` is the byte after STOP)."""
        self._stack: list = []
        self._metastack: list[list] = []
        self._memo: dict[int, Any] = {}
        self._info: dict[int, list] = {}
        self._sealed: set[int] = set()
        self._user_globals: dict[int, Any] = {}  # id -> object, for globals the caller allowed
        self._user_objects: dict[int, Any] = {}  # id -> object made by calling one of them
        self._count = 0
        data, start = self._data, self._pos
        if self._take(2, "PROTO")[:1] != b"\x80":
            raise UnsafeCheckpointError("pickle does not start with PROTO 2")
        if data[start + 1] != 2:
            raise UnsafeCheckpointError(
                f"pickle protocol {data[start + 1]} is not allowed (torch writes protocol 2)"
            )
        while True:
            if self._pos >= len(data):
                raise UnsafeCheckpointError("pickle is truncated: no STOP opcode")
            code = data[self._pos]
            self._pos += 1
            if code == 0x2E:  # STOP
                if self._metastack:
                    raise UnsafeCheckpointError("unbalanced MARK at STOP")
                if len(self._stack) != 1:
                    raise UnsafeCheckpointError(
                        f"stack holds {len(self._stack)} objects at STOP, expected 1"
                    )
                result = self._stack[0]
                info = self._info.get(id(result))
                if type(result) in (Marker, Storage) or (info is not None and info[3]):
                    raise UnsafeCheckpointError(f"{result!r:.60} cannot be the loaded object")
                self.end = self._pos
                return result
            handler = _DISPATCH.get(code)
            if handler is None:
                raise UnsafeCheckpointError(
                    f"opcode {opname(code)} at byte {self._pos - 1} is not allowed"
                )
            handler(self)

    # ---- opcodes --------------------------------------------------------------------------
    def _op_mark(self) -> None:
        if len(self._metastack) >= 2 * MAX_DEPTH:
            raise UnsafeCheckpointError(f"MARKs nested deeper than {2 * MAX_DEPTH}")
        self._metastack.append(self._stack)
        self._stack = []

    def _push(self, x: Any) -> None:
        self._stack.append(self._new(x))

    def _op_binint(self) -> None:
        self._push(struct.unpack("<i", self._take(4, "BININT"))[0])

    def _op_binint1(self) -> None:
        self._push(self._take(1, "BININT1")[0])

    def _op_binint2(self) -> None:
        self._push(struct.unpack("<H", self._take(2, "BININT2"))[0])

    def _op_long1(self) -> None:
        n = self._take(1, "LONG1")[0]
        self._push(int.from_bytes(self._take(n, "LONG1"), "little", signed=True))

    def _op_binfloat(self) -> None:
        self._push(struct.unpack(">d", self._take(8, "BINFLOAT"))[0])

    def _op_binunicode(self) -> None:
        n = struct.unpack("<I", self._take(4, "BINUNICODE"))[0]
        raw = self._take(n, "BINUNICODE")
        try:
            self._push(raw.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise UnsafeCheckpointError("BINUNICODE string is not valid UTF-8") from None

    def _op_short_binstring(self) -> None:
        n = self._take(1, "SHORT_BINSTRING")[0]
        raw = self._take(n, "SHORT_BINSTRING")
        try:
            self._push(raw.decode("utf-8"))  # torch loads with encoding="utf-8"
        except UnicodeDecodeError:
            raise UnsafeCheckpointError("SHORT_BINSTRING is not valid UTF-8") from None

    def _op_none(self) -> None:
        self._stack.append(None)

    def _op_true(self) -> None:
        self._stack.append(True)

    def _op_false(self) -> None:
        self._stack.append(False)

    def _op_empty_tuple(self) -> None:
        self._stack.append(self._tuple([]))

    def _op_empty_list(self) -> None:
        self._stack.append(self._new([], container=True))

    def _op_empty_dict(self) -> None:
        self._stack.append(self._new({}, container=True))

    def _op_empty_set(self) -> None:
        self._stack.append(self._new(set(), container=True))

    def _op_tuple(self) -> None:
        items = self._pop_mark("TUPLE")
        self._stack.append(self._tuple(items))

    def _tuple_n(self, n: int) -> None:
        if len(self._stack) < n:
            raise UnsafeCheckpointError(f"stack underflow at TUPLE{n}")
        items = self._stack[-n:]
        del self._stack[-n:]
        self._stack.append(self._tuple(items))

    def _op_append(self) -> None:
        item = self._pop("APPEND")
        target = self._target((list,), "APPEND")
        self._adopt(target, item)
        target.append(item)

    def _op_appends(self) -> None:
        items = self._pop_mark("APPENDS")
        target = self._target((list,), "APPENDS")
        for x in items:
            self._adopt(target, x)
        target.extend(items)

    def _op_setitem(self) -> None:
        value, key = self._pop("SETITEM"), self._pop("SETITEM")
        self._setitems([key, value], "SETITEM")

    def _op_setitems(self) -> None:
        self._setitems(self._pop_mark("SETITEMS"), "SETITEMS")

    def _setitems(self, items: list, op: str, target: Any = None) -> None:
        if len(items) % 2:
            raise UnsafeCheckpointError(f"{op} with an odd number of items")
        if target is None:
            target = self._target((dict, OrderedDict, Counter), op)
        for i in range(0, len(items), 2):
            self._check_key(items[i])
            self._adopt(target, items[i])
            self._adopt(target, items[i + 1])
            target[items[i]] = items[i + 1]

    def _op_binget(self) -> None:
        self._get(self._take(1, "BINGET")[0])

    def _op_long_binget(self) -> None:
        self._get(struct.unpack("<I", self._take(4, "LONG_BINGET"))[0])

    def _get(self, idx: int) -> None:
        if idx not in self._memo:
            raise UnsafeCheckpointError(f"memo key {idx} is missing (BINGET before BINPUT)")
        self._stack.append(self._memo[idx])

    def _op_binput(self) -> None:
        self._put(self._take(1, "BINPUT")[0])

    def _op_long_binput(self) -> None:
        self._put(struct.unpack("<I", self._take(4, "LONG_BINPUT"))[0])

    def _put(self, idx: int) -> None:
        if not self._stack:
            raise UnsafeCheckpointError("stack underflow at BINPUT")
        if len(self._memo) >= MAX_OBJECTS:
            raise UnsafeCheckpointError("memo grew past the object limit")
        self._memo[idx] = self._stack[-1]

    def _op_global(self) -> None:
        module, name = self._line(), self._line()
        if module == "__builtin__":
            module = "builtins"
        marker = ALLOWED.get((module, name))
        if marker is None:
            user = safe_globals_lookup(module, name)
            if user is not None:  # allowed by the caller (add_safe_globals)
                self._user_globals[id(user)] = user
                self._stack.append(user)
                return
            if module == "torch":
                dt = DTYPE_ALIASES.get(name, name)
                if dt in DTYPES:
                    from .. import _dtype

                    self._stack.append(getattr(_dtype, dt))
                    return
                if dt in UNSUPPORTED_DTYPES:
                    raise CheckpointError(f"dtype torch.{name} is not supported by ember")
            raise UnsafeCheckpointError(f"global {module}.{name} is not allowed")
        self._stack.append(marker)

    def _op_reduce(self) -> None:
        args = self._pop("REDUCE")
        func = self._pop("REDUCE")
        if type(args) is not tuple:
            raise UnsafeCheckpointError("REDUCE arguments are not a tuple")
        handler = REDUCERS.get(id(func)) if type(func) is Marker else None
        if handler is None and self._user_globals.get(id(func)) is func:
            self._stack.append(self._user_object(func(*args)))
            return
        if handler is None:
            raise UnsafeCheckpointError(f"REDUCE on {func!r:.60} is not allowed")
        self._stack.append(handler(self, args))

    def _op_newobj(self) -> None:
        args = self._pop("NEWOBJ")
        cls = self._pop("NEWOBJ")
        if self._user_globals.get(id(cls)) is cls and isinstance(cls, type):
            if type(args) is not tuple:
                raise UnsafeCheckpointError("NEWOBJ arguments are not a tuple")
            self._stack.append(self._user_object(cls.__new__(cls, *args)))
            return
        if cls is not PARAMETER_CLS or type(args) is not tuple or not 1 <= len(args) <= 2:
            raise UnsafeCheckpointError(f"NEWOBJ of {cls!r:.60} is not allowed")
        self._stack.append(self._parameter(args[0], args[1] if len(args) > 1 else True, None))

    def _op_build(self) -> None:
        state = self._pop("BUILD")
        if self._stack and self._user_objects.get(id(self._stack[-1])) is self._stack[-1]:
            self._build_user(self._stack[-1], state)
            return
        inst = self._target((OrderedDict,), "BUILD")
        if (
            type(state) not in (dict, OrderedDict)
            or list(state) != ["_metadata"]
            or type(state["_metadata"]) not in (dict, OrderedDict)
        ):
            raise UnsafeCheckpointError(
                "BUILD is only allowed with a state {'_metadata': dict} on an OrderedDict"
            )
        if hasattr(inst, "_metadata"):
            raise UnsafeCheckpointError("BUILD applied twice to one OrderedDict")
        self._adopt(inst, state)
        inst._metadata = state["_metadata"]

    def _op_binpersid(self) -> None:
        pid = self._pop("BINPERSID")
        self._stack.append(self._persistent_load(pid))

    # ---- objects of globals the caller allowed (add_safe_globals) --------------------------
    def _user_object(self, obj: Any) -> Any:
        self._user_objects[id(obj)] = obj
        return self._new(obj)

    @staticmethod
    def _build_user(inst: Any, state: Any) -> None:
        """BUILD on an allowed class's instance: its ``__setstate__``, else a ``__dict__``
        (and slots) update, as pickle does."""
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None:
            setstate(state)
            return
        slots = None
        if type(state) is tuple and len(state) == 2:
            state, slots = state
        if state:
            inst.__dict__.update(state)
        for k, v in (slots or {}).items():
            setattr(inst, k, v)

    # ---- storages and tensors -------------------------------------------------------------
    def _persistent_load(self, pid: Any) -> Storage:
        n = 6 if self._legacy else 5
        if type(pid) is not tuple or len(pid) != n or not _is_str(pid[0], "storage"):
            raise UnsafeCheckpointError(
                f"persistent id must be a {n}-tuple ('storage', type, key, location, numel"
                f"{', view' if self._legacy else ''}), got {pid!r:.80}"
            )
        stype, key, location, numel = pid[1:5]
        if type(stype) is not Marker or stype.dtype_name is None:
            raise UnsafeCheckpointError(f"persistent id storage type {stype!r:.60} is not allowed")
        if type(key) is not str or not KEY.match(key):
            raise UnsafeCheckpointError(f"storage key {key!r:.40} is not a decimal number")
        if type(location) is not str or len(location) > 64:
            raise UnsafeCheckpointError(f"storage location {location!r:.40} is not a short str")
        if not is_int(numel) or numel < 0:
            raise UnsafeCheckpointError(f"storage numel {numel!r:.40} is not an int >= 0")
        st = self._storages.get(key)
        if st is not None:
            if (st.dtype_name, st.numel) != (stype.dtype_name, numel):
                raise UnsafeCheckpointError(
                    f"storage key {key} reused with another dtype or numel "
                    f"({st.dtype_name}[{st.numel}] then {stype.dtype_name}[{numel}])"
                )
        else:
            if self._load_storage is None:
                raise UnsafeCheckpointError("this pickle may not reference storages")
            arr = self._load_storage(key, stype.dtype_name, numel, location)
            st = self._storages[key] = Storage(key, stype.dtype_name, numel, arr)
        if self._legacy and pid[5] is not None:
            return self._legacy_view(st, pid[5])
        return st

    def _legacy_view(self, st: Storage, view: Any) -> Storage:
        if type(view) is not tuple or len(view) != 3:
            raise UnsafeCheckpointError(f"legacy storage view {view!r:.60} is malformed")
        vkey, off, vsize = view
        if type(vkey) is not str or not KEY.match(vkey):
            raise UnsafeCheckpointError(f"storage view key {vkey!r:.40} is not a decimal number")
        if not (is_int(off) and is_int(vsize) and off >= 0 and vsize >= 0):
            raise UnsafeCheckpointError("storage view offset and size must be ints >= 0")
        if off + vsize > st.numel:
            raise UnsafeCheckpointError("storage view runs past its storage")
        v = self._views.get(vkey)
        if v is None:
            v = self._views[vkey] = Storage(vkey, st.dtype_name, vsize, st.array[off : off + vsize])
        elif (v.dtype_name, v.numel) != (st.dtype_name, vsize):
            raise UnsafeCheckpointError(f"storage view key {vkey} reused with another shape")
        return v

    def _typed(self, st: Any, dtype_name: str | None) -> np.ndarray:
        if type(st) is not Storage:
            raise UnsafeCheckpointError(
                f"tensor storage must be a persistent storage, got {st!r:.40}"
            )
        if dtype_name is None or dtype_name == st.dtype_name:
            return st.array
        # _rebuild_tensor_v3: an untyped (byte) storage read as another dtype.
        if st.dtype_name != "uint8":
            raise UnsafeCheckpointError("_rebuild_tensor_v3 needs an untyped storage")
        arr = st._typed.get(dtype_name)
        if arr is None:
            raw = DTYPES[dtype_name]
            if st.array.nbytes % raw.itemsize:
                raise UnsafeCheckpointError(
                    f"untyped storage of {st.array.nbytes} bytes is not a whole number of "
                    f"{dtype_name} elements"
                )
            arr = st.array.view(raw)
            if dtype_name == "bfloat16":
                arr = bf16_view(arr)
            elif dtype_name == "bool":
                arr = st.array.astype(bool)
            st._typed[dtype_name] = arr
        return arr

    def _tensor(self, args: tuple, n_min: int, n_max: int, v3: bool = False) -> Any:
        if not n_min <= len(args) <= n_max:
            raise UnsafeCheckpointError(f"tensor rebuild takes {n_min}..{n_max} arguments")
        dtype_name = None
        metadata = None
        if v3:
            from .. import _dtype

            dt = args[6]
            if type(dt) is not _dtype.dtype:
                raise UnsafeCheckpointError("_rebuild_tensor_v3 dtype is not a dtype")
            dtype_name = dt.name
            metadata = args[7] if len(args) > 7 else None
        elif len(args) > 6:
            metadata = args[6]
        storage = self._typed(args[0], dtype_name)
        array = strided_view(storage, args[1], args[2], args[3])
        requires_grad = args[4] if len(args) > 4 else False
        if type(requires_grad) is not bool:
            raise UnsafeCheckpointError("tensor requires_grad must be a bool")
        if len(args) > 5:
            self._check_hooks(args[5])
        if metadata is not None:
            if type(metadata) is not dict or not set(metadata) <= {"conj", "neg"}:
                raise UnsafeCheckpointError(f"tensor metadata {metadata!r:.60} is not supported")
            if any(type(v) is not bool for v in metadata.values()):
                raise UnsafeCheckpointError("tensor metadata values must be bools")
            if any(metadata.values()):
                array = self._apply_metadata(array, metadata)
        return self._make(array, requires_grad, dtype_name or args[0].dtype_name)

    def _apply_metadata(self, view: np.ndarray, metadata: dict) -> np.ndarray:
        # The conj/neg bits: the storage holds the unconjugated/unnegated values.
        out = np.empty_like(view)

        def fill() -> None:
            np.copyto(out, view)
            if metadata.get("conj"):
                np.conjugate(out, out=out)
            if metadata.get("neg"):
                np.negative(out, out=out)

        if self._legacy:  # storages are filled after the pickle: fill the copy then
            self.deferred.append(fill)
        else:
            fill()
        return out

    def _make(self, array: np.ndarray, requires_grad: bool, dtype_name: str) -> Any:
        try:
            return self._new(self._factory.tensor(array, requires_grad, dtype_name))
        except RuntimeError as exc:
            raise CheckpointError(f"cannot rebuild tensor: {exc}") from None

    @staticmethod
    def _check_hooks(hooks: Any) -> None:
        if hooks is not None and (type(hooks) not in (dict, OrderedDict) or hooks):
            raise UnsafeCheckpointError("tensor backward hooks must be an empty OrderedDict")

    def _parameter(self, data: Any, requires_grad: Any, hooks: Any) -> Any:
        if not self._factory.is_tensor(data) or type(requires_grad) is not bool:
            raise UnsafeCheckpointError("Parameter needs a tensor and a bool requires_grad")
        self._check_hooks(hooks)
        try:
            return self._new(self._factory.parameter(data, requires_grad))
        except RuntimeError as exc:
            raise CheckpointError(f"cannot rebuild Parameter: {exc}") from None

    def _call_rebuild(self, func: Any, args: Any) -> Any:
        if type(args) is not tuple:
            raise UnsafeCheckpointError("rebuild arguments are not a tuple")
        handler = REDUCERS.get(id(func)) if any(func is r for r in TENSOR_REBUILDS) else None
        if handler is None:
            raise UnsafeCheckpointError(f"_rebuild_from_type_v2 of {func!r:.60} is not allowed")
        return handler(self, args)


U = Unpickler
_DISPATCH: dict[int, Callable[[Unpickler], None]] = {
    0x28: U._op_mark, 0x63: U._op_global, 0x52: U._op_reduce,
    0x81: U._op_newobj, 0x62: U._op_build, 0x74: U._op_tuple,
    0x85: lambda u: u._tuple_n(1), 0x86: lambda u: u._tuple_n(2), 0x87: lambda u: u._tuple_n(3),
    0x29: U._op_empty_tuple, 0x5D: U._op_empty_list, 0x7D: U._op_empty_dict,
    0x8F: U._op_empty_set, 0x61: U._op_append, 0x65: U._op_appends, 0x73: U._op_setitem,
    0x75: U._op_setitems, 0x4E: U._op_none, 0x88: U._op_true, 0x89: U._op_false,
    0x4A: U._op_binint, 0x4B: U._op_binint1, 0x4D: U._op_binint2, 0x8A: U._op_long1,
    0x47: U._op_binfloat, 0x58: U._op_binunicode, 0x55: U._op_short_binstring,
    0x51: U._op_binpersid, 0x68: U._op_binget, 0x6A: U._op_long_binget,
    0x71: U._op_binput, 0x72: U._op_long_binput,
}  # fmt: skip
del U
