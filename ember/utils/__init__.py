"""``ember.utils``: data loading (``ember.utils.data``) and model helpers."""

from . import data

__all__ = ["data", "checkpoint"]


def __getattr__(name: str):
    # ember.utils.checkpoint loads on first use (it pulls in autograd.Function).
    if name == "checkpoint":
        import importlib

        return importlib.import_module(".checkpoint", __name__)
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
