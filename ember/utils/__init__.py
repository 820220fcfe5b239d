"""``ember.utils``: data loading (``ember.utils.data``), hook handles and model helpers."""

__all__ = ["data", "checkpoint", "hooks"]


def __getattr__(name: str):
    # Submodules load on first use: ember.utils.hooks is imported by the autograd core, which
    # must not pull in the data pipeline (or autograd.Function, for checkpoint) on the way.
    if name in ("data", "checkpoint", "hooks", "_pytree"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
