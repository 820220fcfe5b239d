"""Every python block of docs/ecosystem.md runs as written and prints what it claims."""

from __future__ import annotations

import pathlib
import re

import pytest

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "ecosystem.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text("utf-8"), flags=re.S)
EXPECTED = ["[(0, 1.0), (1, 0.5), (2, 0.333)]", "True", "True True"]


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_ecosystem_block_runs(i, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[i], f"ecosystem.md block {i}", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.strip() == EXPECTED[i]


def test_page_has_blocks() -> None:
    assert len(BLOCKS) == len(EXPECTED)
