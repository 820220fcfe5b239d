"""Every program in examples/ runs, with a small budget, and does what it says."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import torch

import ember

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_regression_learns_the_line(capsys) -> None:
    loss = _load("regression").main(steps=300)
    assert loss < 1e-3
    assert "learned weight [[3.0, -2.0]], bias 0.5" in capsys.readouterr().out


def test_module_containers_train() -> None:
    first, last = _load("module_containers").main(steps=15)
    assert last < first


def test_custom_function_gradcheck(capsys) -> None:
    assert _load("custom_function").main() is True
    out = capsys.readouterr().out
    assert "dy/dx  [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]" in out


def test_finetune_from_torch_checkpoint(tmp_path) -> None:
    mod = _load("finetune_from_torch")
    loss = mod.main(steps=3, out=str(tmp_path))
    assert np.isfinite(loss)
    # The fine-tuned file loads in real PyTorch, with the same keys and shapes.
    sd = torch.load(tmp_path / "lenet_finetuned.pth", weights_only=True)
    ours = ember.load(str(tmp_path / "lenet_finetuned.pth"))
    assert list(sd) == list(ours)
    for k in sd:
        np.testing.assert_array_equal(sd[k].numpy(), ours[k].numpy())
