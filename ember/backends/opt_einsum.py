"""``ember.backends.opt_einsum``: as PyTorch without the ``opt_einsum`` package: not available,
``enabled`` False and ``strategy`` None (ember's einsum contracts with NumPy's own ordering)."""

__all__ = ["is_available", "get_opt_einsum", "enabled", "strategy"]

enabled = False
strategy = None


def is_available() -> bool:
    return False


def get_opt_einsum() -> None:
    return None
