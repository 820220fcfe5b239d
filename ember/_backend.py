"""Devices and their array modules.

Every tensor lives on a :class:`device`; its data is a NumPy array for ``cpu``, the only device.
Op code calls NumPy's ufuncs and array methods, which dispatch to another array library through
NumPy's ``__array_ufunc__``/``__array_function__`` protocols, so a CuPy ``cuda`` device would be
added here.
"""

from __future__ import annotations

__all__ = ["device", "cpu"]


class device:  # noqa: N801 - PyTorch's name
    """A device: ``ember.device('cpu')``. Only ``cpu`` exists today."""

    __slots__ = ("type", "index")

    def __new__(cls, type_or_str: str | device = "cpu", index: int | None = None):
        if isinstance(type_or_str, device):
            return type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(
                f"device() received an invalid combination of arguments: {type_or_str!r}"
            )
        name, _, idx = type_or_str.partition(":")
        if idx:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was "
                    f"passed explicitly: {type_or_str}"
                )
            index = int(idx)
        if name == "cpu":
            return _CPU if index in (None, 0) and index is None else _make("cpu", index)
        if name in ("cuda", "mps", "xpu", "meta"):
            raise RuntimeError(
                f"ember has no '{name}' device here: only 'cpu' is available "
                "(a CuPy-backed 'cuda' device can be added in ember/_backend.py)"
            )
        raise RuntimeError(
            f"Expected one of cpu, cuda, mps, xpu, meta device type at start of device string: "
            f"{type_or_str}"
        )

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and other.type == self.type and other.index == self.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


def _make(type_: str, index: int | None) -> device:
    d = object.__new__(device)
    d.type = type_
    d.index = index
    return d


_CPU = _make("cpu", None)
cpu = _CPU
