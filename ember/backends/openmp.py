"""``ember.backends.openmp``: not available - ember does not call openmp."""

__all__ = ["is_available"]


def is_available() -> bool:
    return False
