"""Random number generators: ``ember.Generator`` and the default generator (NumPy's PCG64).

PyTorch's streams (Mersenne Twister / Philox) are not reproduced: the same seed gives the same
numbers in ember every time, but not PyTorch's numbers (see docs/differences.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "Generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "default_generator",
    "get_rng_state",
    "set_rng_state",
]

_DEFAULT_SEED = 67280421310721


class Generator:
    """A source of random numbers; ``Generator().manual_seed(0)`` as in PyTorch."""

    def __init__(self, device: Any = "cpu") -> None:
        self._seed = _DEFAULT_SEED
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        self.device = device

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to a fixed seed; returns self."""
        seed = int(seed)
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed & ((1 << 128) - 1)))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The generator state as a uint8 tensor (restore it with ``set_state``)."""
        import json

        from ._tensor import _wrap

        state = json.dumps({"seed": self._seed, "state": self.np.bit_generator.state})
        return _wrap(np.frombuffer(state.encode(), dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        raw = bytes(
            np.asarray(
                new_state._data if hasattr(new_state, "_data") else new_state, dtype=np.uint8
            )
        )
        import json

        try:
            d = json.loads(raw.decode())
            self._seed = d["seed"]
            self.np.bit_generator.state = d["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError("Invalid generator state: not one made by get_state()") from e
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    default_generator.set_state(new_state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (or the default one)."""
    return (generator or default_generator).np
