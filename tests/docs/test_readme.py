"""The README's example runs as written."""

from __future__ import annotations

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch, capsys) -> None:
    text = README.read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if "torch.save" in b and "optim" in b)
    assert len(example.strip().splitlines()) <= 20
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    loss = float(re.search(r"final loss ([0-9.]+)", out).group(1))
    assert loss < 0.05
    assert (tmp_path / "net.pth").exists()
