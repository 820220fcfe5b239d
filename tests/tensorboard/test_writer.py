"""``SummaryWriter`` against torch's: the same calls, read back with TensorBoard's reader."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import ember
from ember.utils.tensorboard import SummaryWriter

SIZE = {"images": 0, "histograms": 0, "tensors": 0, "scalars": 0}


def _read(path: str) -> EventAccumulator:
    acc = EventAccumulator(str(path), size_guidance=SIZE)
    acc.Reload()
    return acc


def _both(tmp_path, calls) -> tuple:
    """Run ``calls(writer, lib)`` on ember's and torch's writers; read both directories."""
    out = []
    for name, W, lib in (("e", SummaryWriter, ember), ("t", TorchWriter, torch)):
        with W(log_dir=str(tmp_path / name)) as w:
            calls(w, lib)
        out.append(tmp_path / name)
    return out


def test_scalars_match_torch(tmp_path) -> None:
    def calls(w, lib):
        for step in range(5):
            w.add_scalar("loss/train", lib.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.125, 7, walltime=123.0)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    assert e.Tags()["scalars"] == t.Tags()["scalars"]
    for tag in ("loss/train", "lr"):
        got = [(s.step, s.value) for s in e.Scalars(tag)]
        assert got == [(s.step, s.value) for s in t.Scalars(tag)]
    assert e.Scalars("lr")[0].wall_time == 123.0


def test_new_style_scalar_matches_torch(tmp_path) -> None:
    def calls(w, lib):
        w.add_scalar("x", 2.5, 1, new_style=True)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    assert e.Tags()["tensors"] == t.Tags()["tensors"] == ["x"]
    te, tt = e.Tensors("x")[0], t.Tensors("x")[0]
    assert te.tensor_proto == tt.tensor_proto and te.step == tt.step


def test_add_scalars_writes_one_run_per_curve(tmp_path) -> None:
    def calls(w, lib):
        for step in range(3):
            w.add_scalars("run/loss", {"train": step * 1.0, "val": step * 2.0}, step)

    e, t = _both(tmp_path, calls)
    subdirs = [sorted(d for d in os.listdir(p) if not d.startswith("events")) for p in (e, t)]
    assert subdirs[0] == subdirs[1] == ["run_loss_train", "run_loss_val"]
    for sub in ("run_loss_train", "run_loss_val"):
        se, st = _read(e / sub), _read(t / sub)
        assert se.Tags()["scalars"] == st.Tags()["scalars"] == ["run/loss"]
        assert [(s.step, s.value) for s in se.Scalars("run/loss")] == [
            (s.step, s.value) for s in st.Scalars("run/loss")
        ]


@pytest.mark.parametrize("bins", ["tensorflow", "auto", 10])
def test_histogram_matches_torch(tmp_path, bins) -> None:
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)

    def calls(w, lib):
        w.add_histogram("w", lib.tensor(x), 3, bins=bins)
        w.add_histogram("w_max", lib.tensor(x), 3, bins=bins, max_bins=4)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    for tag in ("w", "w_max"):
        he, ht = e.Histograms(tag)[0], t.Histograms(tag)[0]
        assert he.step == ht.step == 3
        for f in ("min", "max", "num", "sum", "sum_squares"):
            assert getattr(he.histogram_value, f) == pytest.approx(getattr(ht.histogram_value, f))
        np.testing.assert_allclose(he.histogram_value.bucket_limit, ht.histogram_value.bucket_limit)
        assert list(he.histogram_value.bucket) == list(ht.histogram_value.bucket)


def test_histogram_of_nothing_raises_as_torch(tmp_path) -> None:
    for W, lib, name in ((SummaryWriter, ember, "e"), (TorchWriter, torch, "t")):
        with W(str(tmp_path / name)) as w, pytest.raises(ValueError, match="no element"):
            w.add_histogram("h", lib.zeros(0))


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize(
    "shape,fmt", [((3, 5, 4), "CHW"), ((5, 4, 3), "HWC"), ((5, 4), "HW"), ((1, 5, 4), "CHW")]
)
@pytest.mark.parametrize("kind", ["float", "uint8"])
def test_image_matches_torch(tmp_path, shape, fmt, kind) -> None:
    rng = np.random.default_rng(1)
    img = rng.random(shape).astype(np.float32)
    if kind == "uint8":
        img = (img * 255).astype(np.uint8)

    def calls(w, lib):
        w.add_image("img", lib.tensor(img), 2, dataformats=fmt)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    ie, it = e.Images("img")[0], t.Images("img")[0]
    assert (ie.step, ie.width, ie.height) == (it.step, it.width, it.height)
    np.testing.assert_array_equal(
        _pixels(ie.encoded_image_string), _pixels(it.encoded_image_string)
    )


@pytest.mark.parametrize("shape,fmt", [((11, 3, 4, 5), "NCHW"), ((3, 4, 5, 1), "NHWC")])
def test_images_grid_matches_torch(tmp_path, shape, fmt) -> None:
    img = np.random.default_rng(2).random(shape).astype(np.float32)

    def calls(w, lib):
        w.add_images("batch", lib.tensor(img), 1, dataformats=fmt)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    ie, it = e.Images("batch")[0], t.Images("batch")[0]
    assert (ie.width, ie.height) == (it.width, it.height)
    np.testing.assert_array_equal(
        _pixels(ie.encoded_image_string), _pixels(it.encoded_image_string)
    )


def test_image_bad_dataformats_raises(tmp_path) -> None:
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(ValueError, match="dataformats"):
        w.add_image("img", ember.zeros(3, 4, 5), dataformats="NCHW")


def test_text_matches_torch(tmp_path) -> None:
    def calls(w, lib):
        w.add_text("notes", "hello **ember**", 4)

    e, t = (_read(p) for p in _both(tmp_path, calls))
    assert e.Tags()["tensors"] == t.Tags()["tensors"] == ["notes/text_summary"]
    te, tt = e.Tensors("notes/text_summary")[0], t.Tensors("notes/text_summary")[0]
    assert te.tensor_proto == tt.tensor_proto and te.step == tt.step == 4
    assert e.SummaryMetadata("notes/text_summary") == t.SummaryMetadata("notes/text_summary")


def test_hparams_match_torch(tmp_path) -> None:
    hp = {"lr": 0.1, "bsize": 32, "opt": "adam", "nesterov": True}
    metrics = {"hparam/accuracy": 0.9, "hparam/loss": 0.25}

    def calls(w, lib):
        w.add_hparams(hp, metrics, {"opt": ["adam", "sgd"]}, run_name="r1")

    e, t = _both(tmp_path, calls)
    se, st = _read(e / "r1"), _read(t / "r1")
    assert se.Tags()["scalars"] == st.Tags()["scalars"]
    pe, pt = se.PluginTagToContent("hparams"), st.PluginTagToContent("hparams")
    assert pe == pt and len(pe) == 3
    for tag in metrics:
        assert se.Scalars(tag)[0].value == st.Scalars(tag)[0].value


def test_hparams_type_error_as_torch(tmp_path) -> None:
    for W, name in ((SummaryWriter, "e"), (TorchWriter, "t")):
        with W(str(tmp_path / name)) as w, pytest.raises(TypeError, match="dictionary"):
            w.add_hparams([("lr", 0.1)], {})


def test_scalar_of_many_values_raises_as_torch(tmp_path) -> None:
    for W, lib, name in ((SummaryWriter, ember, "e"), (TorchWriter, torch, "t")):
        with W(str(tmp_path / name)) as w, pytest.raises(AssertionError):
            w.add_scalar("x", lib.ones(2))


def test_default_log_dir_filename_suffix_and_purge_step(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp", filename_suffix=".v1", purge_step=5)
    w.add_scalar("a", 1.0, 6)
    w.flush()
    run = w.get_logdir()
    assert run.startswith("runs" + os.sep) and run.endswith("_exp")
    files = os.listdir(run)
    assert len(files) == 1 and files[0].startswith("events.out.tfevents.")
    assert files[0].endswith(".v1")
    w.close()
    acc = _read(run)
    assert [(s.step, s.value) for s in acc.Scalars("a")] == [(6, 1.0)]


def test_add_graph_refuses_clearly(tmp_path) -> None:
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(NotImplementedError, match="add_graph"):
        w.add_graph(ember.nn.Linear(2, 2), ember.zeros(1, 2))


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[tensorboard\]'"):
        SummaryWriter(str(tmp_path))
