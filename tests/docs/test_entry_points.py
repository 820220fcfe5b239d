"""Every python block of docs/entry-points.md runs as written."""

from __future__ import annotations

import pathlib
import re

import pytest

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "entry-points.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text("utf-8"), flags=re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_entry_points_block_runs(i, capsys):
    exec(compile(BLOCKS[i], f"entry-points.md block {i}", "exec"), {})


def test_page_has_blocks():
    assert len(BLOCKS) == 6
