"""The globals a user allows in ``weights_only`` loading: PyTorch's ``add_safe_globals`` API.

``ember.load(weights_only=True)`` refuses every global outside its built-in allowlist. A caller
who trusts a class or function can allow it by object (``add_safe_globals([MyConfig])``) or by
object and name (``add_safe_globals([(MyConfig, "old.module.MyConfig")])``); the file may then
name it, call it (REDUCE), instantiate it (NEWOBJ) and set its state (BUILD), exactly as
PyTorch's weights-only unpickler allows. A PyTorch class name in the file (``torch.nn.modules.
linear.Linear``) matches the allowed ember class of the same name in the matching namespace.
The list is process-wide, as PyTorch's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = [
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "lookup",
    "qualified_name",
    "get_unsafe_globals_in_checkpoint",
]

_USER: list[Any] = []


def add_safe_globals(safe_globals: list[Any]) -> None:
    """Allow these globals (objects, or ``(object, "module.name")`` pairs) in weights-only loads."""
    _USER.extend(safe_globals)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    _USER.clear()


def get_safe_globals() -> list[Any]:
    """The globals added with :func:`add_safe_globals`."""
    return list(_USER)


@contextlib.contextmanager
def safe_globals(safe_globals: list[Any]) -> Iterator[None]:
    """Allow ``safe_globals`` inside the block only."""
    before = list(_USER)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _USER[:] = before


def qualified_name(obj: Any) -> str:
    """``module.qualname`` of a class or function, as PyTorch names globals."""
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def lookup(module: str, name: str) -> Any:
    """The allowed object a file's ``GLOBAL module name`` refers to, or None."""
    from ._full import ember_to_torch_name

    full = f"{module}.{name}"
    for entry in _USER:
        if isinstance(entry, tuple) and len(entry) == 2:
            obj, alias = entry
            if alias == full:
                return obj
            continue
        if qualified_name(entry) == full:
            return entry
        torch_name = ember_to_torch_name(entry)
        if torch_name is not None and torch_name[1] == name:
            # torch.nn.modules.linear.Linear matches ember.nn.Linear ("torch.nn" + "Linear").
            if module == torch_name[0] or module.startswith(torch_name[0] + "."):
                return entry
    return None


def get_unsafe_globals_in_checkpoint(f: Any) -> list[str]:
    """The ``module.name`` globals in a checkpoint that ``weights_only`` loading would refuse
    (neither built in nor added with :func:`add_safe_globals`). Reads the pickle, runs nothing."""
    import os
    import pickletools

    from ._allowlist import ALLOWED, DTYPE_ALIASES, DTYPES
    from ._zip import ZipReader

    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return get_unsafe_globals_in_checkpoint(fh)
    reader = ZipReader(f)
    pkl = [n for n in reader.names() if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkl:
        raise RuntimeError("get_unsafe_globals_in_checkpoint expects a torch.save zip archive")
    found: set[str] = set()
    for op, arg, _ in pickletools.genops(reader.read(pkl[0])):
        if op.name != "GLOBAL":
            continue
        module, name = arg.split(" ", 1)
        module = "builtins" if module == "__builtin__" else module
        builtin = (module, name) in ALLOWED
        dtype = module == "torch" and DTYPE_ALIASES.get(name, name) in DTYPES
        if not (builtin or dtype or lookup(module, name) is not None):
            found.add(f"{module}.{name}")
    return sorted(found)
