"""The API coverage script: it measures torch's public names honestly (exclusions applied and
explained, presence looked up in ember), prints a Markdown table, and ``import ember`` does not
import torch."""

from __future__ import annotations

import subprocess
import sys

import torch

import ember
from ember import coverage as C


def test_rows_count_every_counted_name_once():
    rows = C.measure()
    titles = [r.title for r in rows]
    assert titles[:2] == ["Tensor methods and attributes", "`torch.*` functions"]
    assert "`torch.nn.functional`" in titles and "submodules scripts import" in titles
    for r in rows:
        assert not set(r.has) & set(r.missing), r.title
        assert 0 <= r.percent <= 100
        assert r.total == len(set(r.has) | set(r.missing))


def test_presence_is_looked_up_in_ember():
    rows = {r.title: r for r in C.measure()}
    tensor = rows["Tensor methods and attributes"]
    for name in tensor.has:
        assert hasattr(ember.Tensor, name), name
    for name in tensor.missing:
        assert hasattr(torch.Tensor, name) and not hasattr(ember.Tensor, name), name
    assert "sum" in tensor.has and "real" in tensor.has
    functional = rows["`torch.nn.functional`"]
    assert "relu" in functional.has
    for name in functional.missing:
        assert not hasattr(ember.nn.functional, name), name
    assert "fft" in rows["submodules scripts import"].has


def test_exclusions_are_applied_and_explained():
    names = C.torch_names(C.NAMESPACES[0])
    for left_out in ("to_sparse", "q_scale", "refine_names", "is_mkldnn", "_version", "values"):
        assert left_out not in names
        assert C.excluded(left_out)
    for kept in ("quantile", "flipud", "index_copy", "masked_scatter", "select_scatter", "cuda"):
        assert C.excluded(kept) is None, kept
    assert C.excluded("sparse_") is None  # nn.init.sparse_ initialises a dense tensor
    for pattern, reason in C.EXCLUDED:
        assert pattern and reason


def test_markdown_table_and_main(capsys):
    rows = C.measure(C.NAMESPACES[-3:])
    table = C.markdown(rows, "2.13.0")
    lines = table.splitlines()
    assert lines[0].startswith("| namespace (torch 2.13.0) |") and len(lines) == len(rows) + 2
    assert "| `torch.fft` | 22 | 22 | 100% |" in table
    assert C.main(["--missing"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| namespace (torch ") and "missing (" in out


def test_import_ember_does_not_import_torch():
    code = "import sys, ember, ember.coverage; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_only_the_measured_package_counts(tmp_path):
    # An editable install of another checkout can supply submodules this one lacks: they must
    # not count as present.
    import types

    elsewhere = types.ModuleType("ember.elsewhere")
    elsewhere.__file__ = str(tmp_path / "ember" / "elsewhere.py")
    assert not C._in_package(elsewhere)
    assert C._in_package(C)
    assert C._in_package(ember.linalg)
