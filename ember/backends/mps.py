"""``ember.backends.mps``: not built and not available (ember runs on the CPU only)."""

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
