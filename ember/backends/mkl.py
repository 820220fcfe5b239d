"""``ember.backends.mkl``: not available - ember does not call mkl."""

__all__ = ["is_available"]


def is_available() -> bool:
    return False
