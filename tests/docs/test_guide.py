"""The guides are executed: every example in docs/guide.md and docs/guide.zh.md must print what
the page says."""

from __future__ import annotations

import doctest
import pathlib
import warnings

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", ["guide.md", "guide.zh.md"])
def test_guide_runs(name: str) -> None:
    path = DOCS / name
    assert path.exists(), f"{path} is missing"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testfile(
            str(path),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            raise_on_error=False,
            verbose=False,
        )
    assert result.attempted > 30, f"{name}: only {result.attempted} examples found"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_both_guides_show_the_same_code() -> None:
    import re

    def blocks(name: str) -> list:
        return re.findall(r"```pycon\n.*?\n```", (DOCS / name).read_text("utf-8"), flags=re.S)

    en, zh = blocks("guide.md"), blocks("guide.zh.md")
    assert len(en) >= 14
    assert en == zh
