"""``ember.cpu``: PyTorch's ``torch.cpu`` device module (the one device ember has)."""

from __future__ import annotations

from typing import Any

from . import amp

__all__ = [
    "amp",
    "is_available",
    "device_count",
    "current_device",
    "set_device",
    "synchronize",
    "is_initialized",
    "stream",
    "current_stream",
    "Stream",
    "StreamContext",
    "Event",
]


def is_available() -> bool:
    """True: the CPU is always there."""
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """Accepted and ignored (there is one CPU device), as PyTorch's."""


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: every ember op has finished when it returns."""


def is_initialized() -> bool:
    return True


class Stream:
    """PyTorch's no-op CPU stream."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Any) -> None:
        pass

    def synchronize(self) -> None:
        pass


class Event:
    """PyTorch's no-op CPU event."""

    def query(self) -> bool:
        return True

    def record(self, stream: Any = None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream: Any = None) -> None:
        pass


_CURRENT = Stream()


def current_stream(device: Any = None) -> Stream:
    return _CURRENT


class StreamContext:
    """``with ember.cpu.stream(s):`` does nothing, as on PyTorch."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __enter__(self) -> StreamContext:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


def stream(stream: Any) -> StreamContext:
    return StreamContext(stream)
