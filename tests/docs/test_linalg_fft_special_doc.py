"""docs/linalg-fft-special.md: every Python block runs, and what the page says it prints is what
it prints."""

from __future__ import annotations

import pathlib
import re

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "linalg-fft-special.md"


def test_every_block_runs(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text("utf-8"), flags=re.S)
    assert len(blocks) == 4
    for k, block in enumerate(blocks):
        exec(compile(block, f"{PAGE.name} block {k}", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ember.Size([2, 2]) True"
    assert out[1] == (
        "linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
        "because the input matrix is singular."
    )
    assert out[2] == "ember.Size([2, 64]) ember.Size([9])"
    assert out[3] == "tensor([-1.9600,  0.0000,  1.9600])"
