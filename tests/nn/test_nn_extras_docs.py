"""docs/nn-extras.md is executed: every example must print what the page says."""

from __future__ import annotations

import doctest
import pathlib

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "nn-extras.md"


def test_nn_extras_page_runs() -> None:
    result = doctest.testfile(
        str(PAGE),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 20, f"only {result.attempted} examples found"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
