"""``ember.utils``: data loading (``ember.utils.data``) and model helpers."""

from . import data

__all__ = ["data"]
