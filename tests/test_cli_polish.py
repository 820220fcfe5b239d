"""The command line behaves in pipes and logs: progress bars only on terminals, no Broken pipe
traceback, options checked before training, honest inspect totals, widening announced."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ember
from ember.cli import main
from ember.demo import run

ROOT = Path(__file__).resolve().parents[1]


def _args(tmp_path, **kw) -> argparse.Namespace:
    a = dict(epochs=1, batch_size=32, lr=2e-3, seed=0, out=str(tmp_path), mnist=None, quiet=False)
    a.update(kw)
    return argparse.Namespace(**a)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(tmp_path):
    log = io.StringIO()
    run(_args(tmp_path / "a"), out=log)
    assert "\r" not in log.getvalue()  # a log file gets plain lines
    assert "train acc" in log.getvalue()
    term = _Terminal()
    run(_args(tmp_path / "b"), out=term)
    text = term.getvalue()
    assert "\r" in text and "img_s=" in text
    # 45 batches; the postfix is redrawn at most every 0.25 s, not once per batch
    assert text.count("\r") < 45


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(epochs=0), "--epochs must be at least 1"),
        (dict(epochs=-3), "--epochs must be at least 1"),
        (dict(batch_size=0), "--batch-size"),
        (dict(lr=0.0), "--lr"),
    ],
)
def test_demo_refuses_bad_options_before_training(tmp_path, kw, match):
    out = io.StringIO()
    with pytest.raises(ValueError, match=match):
        run(_args(tmp_path, **kw), out=out)
    assert out.getvalue() == ""  # nothing loaded, nothing trained


def test_demo_refuses_an_unwritable_out_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = io.StringIO()
    with pytest.raises(OSError, match="not a writable folder"):
        run(_args(tmp_path, out=str(blocker / "models")), out=out)
    assert out.getvalue() == ""
    assert main(["demo", "--epochs", "0", "--out", str(tmp_path)]) == 1
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_inspect_counts_parameters_buffers_and_other_tensors_apart(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    assert main(["inspect", str(path)]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    n_param = sum(p.numel() for p in model.parameters())
    n_buf = sum(b.numel() for b in model.buffers())
    n_other = sum(
        t.numel() for s in opt.state_dict()["state"].values() for t in s.values() if t.dim() >= 0
    )
    assert last == (
        f"total: {n_param} parameters in 4 tensors; {n_buf} buffer values in 3 tensors; "
        f"{n_other} other values in {4 * 3} tensors"
    )


def test_inspect_into_a_closed_pipe_is_quiet(tmp_path):
    path = tmp_path / "big.pt"
    ember.save({f"layer{i}.weight": ember.zeros(2) for i in range(5000)}, path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember", "inspect", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout.readline().startswith(str(path).encode())
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == 141


def test_convert_keeps_bfloat16_bit_exact(tmp_path, capsys):
    import safetensors.torch

    src = tmp_path / "bf.pt"
    a = torch.tensor([1.0, -2.5, 3.0e38, 1e-40], dtype=torch.bfloat16)
    torch.save({"a": a, "b": torch.ones(2)}, src)
    for dst in ("out.safetensors", "out.pt"):
        assert main(["convert", str(src), str(tmp_path / dst)]) == 0
        assert "widened" not in capsys.readouterr().err
        if dst.endswith(".pt"):
            back = torch.load(tmp_path / dst)["a"]
        else:
            back = safetensors.torch.load_file(tmp_path / dst)["a"]
        assert back.dtype is torch.bfloat16 and torch.equal(
            back.view(torch.int16), a.view(torch.int16)
        )


def test_license_is_an_spdx_string():
    """A license table makes setuptools print a deprecation banner on every install; the SPDX
    string needs setuptools 77 or newer (older ones reject it)."""
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    assert 'license = "MIT"' in lines
    assert 'requires = ["setuptools>=77"]' in lines
