"""``ember.backends.mkldnn``: not available - ember does not call mkldnn."""

__all__ = ["is_available"]


def is_available() -> bool:
    return False
