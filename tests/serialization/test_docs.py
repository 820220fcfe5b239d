"""docs/serialization.md is executed: every example must print what the page says."""

from __future__ import annotations

import doctest
import pathlib
import warnings

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "serialization.md"


def test_serialization_doc_runs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testfile(
            str(DOC),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            raise_on_error=False,
            verbose=False,
        )
    assert result.attempted > 20, f"only {result.attempted} examples found"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
