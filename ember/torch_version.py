"""``ember.__version__``: a string that compares as a version, as PyTorch's ``TorchVersion``.

Programs gate features on ``torch.__version__ >= "2.0"`` or ``>= (2, 0)``, and libraries refuse
to run below a PyTorch release, so ember reports the PyTorch release whose API it follows, with
ember's own version as the local label (``2.13.0+ember.0.1.0``). Comparisons follow PEP 440
(what PyTorch gets from ``packaging``), written out here so ember needs no ``packaging``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TorchVersion", "internal_version"]

_PEP440 = (
    r"v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:(?:-(?P<post_n1>\d+))|(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d*)))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev_n>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?"
)  # compiled on the first comparison (re caches it), not at ``import ember``
_PRE = {"a": "a", "alpha": "a", "b": "b", "beta": "b"}
_PRE.update(dict.fromkeys(["c", "rc", "pre", "preview"], "rc"))
_INF, _NEG_INF = (1,), (-1,)  # sort after / before any (letter, number) pair


def _key(text: str) -> tuple:
    """PEP 440's sort key: release (trailing zeros dropped), pre, post, dev, local."""
    m = re.fullmatch(_PEP440, text.strip(), re.IGNORECASE)
    if m is None:
        raise ValueError(f"Invalid version: '{text}'")
    release = tuple(int(p) for p in m["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    post_n = m["post_n1"] or m["post_n2"]
    has_post = m["post_n1"] is not None or m["post_n2"] is not None
    post = (0, int(post_n or 0)) if has_post else _NEG_INF
    dev = (0, int(m["dev_n"] or 0)) if m["dev_n"] is not None else _INF
    if m["pre_l"]:
        pre: tuple = (0, _PRE[m["pre_l"].lower()], int(m["pre_n"] or 0))
    else:  # a bare dev release sorts before the pre-releases
        pre = _NEG_INF if dev is not _INF and not has_post else _INF
    local = _NEG_INF
    if m["local"]:
        parts = re.split(r"[-_.]", m["local"].lower())
        local = (0,) + tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts)
    return release, pre, post, dev, local


def _other_key(other: Any) -> tuple:
    if isinstance(other, tuple):  # (2, 0) means "2.0"
        return _key(".".join(str(p) for p in other))
    if isinstance(other, str):
        return _key(other)
    raise TypeError


class TorchVersion(str):
    """A ``str`` that compares with strings and tuples as a version (PEP 440), not as text."""

    __slots__ = ()

    def _compare(self, other: Any, op: str) -> bool:
        try:
            ours, theirs = _key(self), _other_key(other)
        except TypeError:
            return NotImplemented
        except ValueError:  # not a version: PyTorch falls back to comparing the text
            return getattr(str, op)(self, other)
        return getattr(ours, op)(theirs)

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, "__lt__")

    def __le__(self, other: Any) -> bool:
        return self._compare(other, "__le__")

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, "__gt__")

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, "__ge__")

    def __eq__(self, other: Any) -> bool:
        return self._compare(other, "__eq__")

    __hash__ = str.__hash__


EMBER_VERSION = "0.1.0"  # the package's own version (pyproject.toml)
internal_version = f"2.13.0+ember.{EMBER_VERSION}"
