"""strip_prefix, state_dict_diff and the ``ember inspect`` / ``ember convert`` commands."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

import ember
from ember.cli import build_parser, main
from ember.serialization import load_safetensors, state_dict_diff, strip_prefix

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"


def _e(arr):
    return ember.from_numpy(np.asarray(arr))


def test_strip_prefix_keys_and_metadata():
    sd = OrderedDict([("module.a.weight", 1), ("module.b", 2), ("other", 3)])
    sd._metadata = OrderedDict([("", {"version": 1}), ("module", {"version": 1}),
                                ("module.a", {"version": 2})])  # fmt: skip
    out = strip_prefix(sd)
    assert list(out.items()) == [("a.weight", 1), ("b", 2), ("other", 3)]
    assert list(out._metadata.items()) == [("", {"version": 1}), ("a", {"version": 2})]
    assert out._metadata["a"] == {"version": 2}
    assert list(sd) == ["module.a.weight", "module.b", "other"]  # input untouched
    # The same as torch's in-place helper on keys and metadata.
    tsd = OrderedDict((k, torch.zeros(1)) for k in sd)
    tsd._metadata = OrderedDict(sd._metadata)
    torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(tsd, "module.")
    assert set(strip_prefix(sd)) == set(tsd)  # torch re-inserts keys; ember keeps their order
    assert dict(strip_prefix(sd)._metadata) == dict(tsd._metadata)
    with pytest.raises(ValueError, match="two keys"):
        strip_prefix({"module.a": 1, "a": 2})
    with pytest.raises(TypeError):
        strip_prefix([("a", 1)])
    with pytest.raises(TypeError):
        strip_prefix({}, prefix=1)


def test_state_dict_diff_report():
    a = OrderedDict(w=_e(np.ones((2, 3), np.float32)), b=_e(np.ones(2)), only_a=_e([1]))
    b = {"w": torch.ones(3, 2), "b": torch.ones(2, dtype=torch.float64), "only_b": torch.ones(1)}
    d = state_dict_diff(a, b)
    assert d
    assert d.only_in_a == ["only_a"] and d.only_in_b == ["only_b"]
    assert d.shape == {"w": ((2, 3), (3, 2))}
    assert d.dtype == {}
    text = str(d)
    assert "only in a (1):\n  only_a" in text and "w: [2, 3] vs [3, 2]" in text
    same = state_dict_diff(a, a)
    assert not same and "match" in str(same)
    d2 = state_dict_diff({"x": _e(np.ones(2, np.float32))}, {"x": _e(np.ones(2, np.int64))})
    assert d2.dtype == {"x": ("float32", "int64")}
    assert state_dict_diff({"n": 1}, {"n": _e([1])}).dtype == {"n": ("int", "int64")}
    with pytest.raises(TypeError):
        state_dict_diff([], {})


def test_inspect_every_format(capsys):
    for name, fmt in [("everything.pt", "PyTorch zip"), ("legacy.pt", "legacy (pre-1.6)"),
                      ("tensors.safetensors", "safetensors")]:  # fmt: skip
        assert main(["inspect", str(FIXTURES / name)]) == 0
        out = capsys.readouterr().out
        assert fmt in out
        assert "bfloat16" in out  # the file's dtype, not ember's float32 copy
        line = next(ln for ln in out.splitlines() if ln.startswith("float32 "))
        assert line.split()[1:] == ["float32", "[2,", "3]", "6", "parameter"]
    main(["inspect", str(FIXTURES / "everything.pt")])
    out = capsys.readouterr().out
    loaded = ember.load(FIXTURES / "everything.pt").values()
    n = sum(int(np.prod(s.shape)) for s in loaded if s.is_floating_point() or s.is_complex())
    other = sum(int(np.prod(s.shape)) for s in loaded) - n
    assert out.rstrip().splitlines()[-1] == (
        f"total: {n:,} parameters in 25 tensors; {other} other values in 18 tensors"
    )
    main(["inspect", str(FIXTURES / "optimizer_state.pt")])
    assert "state.0.exp_avg " in capsys.readouterr().out


def test_inspect_errors(capsys, tmp_path):
    assert main(["inspect", str(tmp_path / "missing.pt")]) == 1
    assert "No such file" in capsys.readouterr().err
    (tmp_path / "junk").write_bytes(b"junk" * 10)
    assert main(["inspect", str(tmp_path / "junk")]) == 1
    assert "not a PyTorch or safetensors" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])


def test_convert_both_ways(tmp_path, capsys):
    src = FIXTURES / "module_state.pt"
    out = tmp_path / "m.safetensors"
    assert main(["convert", str(src), str(out)]) == 0
    back = load_safetensors(out)
    sd = ember.load(src)
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k]._data, v._data)
    pth = tmp_path / "again.pth"
    assert main(["convert", str(out), str(pth)]) == 0
    again = torch.load(pth, weights_only=True)
    for k, v in sd.items():
        np.testing.assert_array_equal(again[k].numpy(), v._data)
    # Tied tensors and nested values: copies for safetensors, and a note for what is left out.
    tied = tmp_path / "tied.pth"
    base = _e(np.arange(4.0))
    ember.save({"model": {"a": base, "b": base}, "epoch": 3}, tied)
    capsys.readouterr()
    assert main(["convert", str(tied), str(tmp_path / "t.safetensors")]) == 0
    err = capsys.readouterr().err
    assert "epoch" in err
    assert sorted(load_safetensors(tmp_path / "t.safetensors")) == ["model.a", "model.b"]
    assert main(["convert", str(tied), str(tied)]) == 1


def test_python_dash_m_and_parser_extension():
    r = subprocess.run([sys.executable, "-m", "ember", "inspect", str(FIXTURES / "parameter.pt")],
                       capture_output=True, text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "p  " in r.stdout and "total: 4 parameters in 1 tensor" in r.stdout
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"inspect", "convert"} <= set(sub.choices)
