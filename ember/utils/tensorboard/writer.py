"""``SummaryWriter``: PyTorch's TensorBoard writer over the ``tensorboard`` package's own
``EventFileWriter`` (so the files are exactly what TensorBoard reads)."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

import numpy as np

from . import _protos as P

__all__ = ["SummaryWriter"]


def _array(value: Any) -> np.ndarray:
    """A tensor, array or number as a NumPy array (tensors are detached)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return np.asarray(value.detach().numpy())
    return np.asarray(value)


def _scalar(value: Any) -> float:
    a = _array(value)
    if a.size != 1:
        raise AssertionError(f"scalar should be 0D, got a value of shape {tuple(a.shape)}")
    return float(a.reshape(()))


class SummaryWriter:
    """Write scalars, histograms, images, text and hyperparameters for TensorBoard.

    ``log_dir`` defaults to ``runs/<date>_<host><comment>``, as in PyTorch. ``purge_step``
    marks a restart: TensorBoard drops events at and after that step from earlier runs.
    """

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        self._tb = P.tb()  # ImportError naming the extra when tensorboard is missing
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: Any = None
        self.all_writers: dict[str, Any] = {}
        self._get_file_writer()

    # ---- files -------------------------------------------------------------------------
    def _new_writer(self, logdir: str) -> Any:
        w = self._tb.EventFileWriter(logdir, self.max_queue, self.flush_secs, self.filename_suffix)
        if self.purge_step is not None:
            E = self._tb.event_pb2
            w.add_event(E.Event(step=self.purge_step, file_version="brain.Event:2"))
            w.add_event(
                E.Event(step=self.purge_step, session_log=E.SessionLog(status=E.SessionLog.START))
            )
        return w

    def _get_file_writer(self) -> Any:
        if self.file_writer is None:
            self.file_writer = self._new_writer(self.log_dir)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
        return self.file_writer

    def get_logdir(self) -> str:
        """The directory the event files go to."""
        return self.log_dir

    def _write(self, summary: Any, step: int | None, walltime: float | None, w: Any = None) -> None:
        E = self._tb.event_pb2
        event = E.Event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if step is not None:
            event.step = int(step)
        (w or self._get_file_writer()).add_event(event)

    # ---- records -----------------------------------------------------------------------
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """One point of the curve ``tag``."""
        value = _scalar(scalar_value)
        summary = (
            P.scalar_tensor(tag, value, double_precision) if new_style else P.scalar(tag, value)
        )
        self._write(summary, global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several curves on one chart: each goes to its own run ``<log_dir>/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(
                self._get_file_writer().get_logdir(), main_tag.replace("/", "_") + "_" + tag
            )
            w = self.all_writers.get(path)
            if w is None:
                w = self._new_writer(path)
                self.all_writers[path] = w
            self._write(P.scalar(main_tag, _scalar(value)), global_step, walltime, w)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """The distribution of ``values`` (``bins``: ``'tensorflow'``, a NumPy bins spec)."""
        self._write(P.histogram(tag, _array(values), bins, max_bins), global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """An image: floats in [0, 1] or uint8, laid out as ``dataformats`` (CHW, HWC, HW...)."""
        self._write(P.image(tag, _array(img_tensor), dataformats), global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch of images shown as one grid, 8 to a row (``dataformats`` NCHW or NHWC)."""
        self._write(P.image(tag, _array(img_tensor), dataformats), global_step, walltime)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A piece of text (Markdown in TensorBoard's Text tab)."""
        self._write(P.text(tag, text_string), global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """One run of a hyperparameter search, in its own sub-run as PyTorch writes it."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        summaries = P.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as w:
            for s in summaries:
                w._write(s, global_step, None)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Not available: ember has no graph tracer that writes TensorBoard's GraphDef."""
        raise NotImplementedError(
            "SummaryWriter.add_graph is not supported by ember (no GraphDef tracer); "
            "export the model with ember.onnx.export and open the file in Netron instead"
        )

    # ---- lifetime ----------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything queued to disk."""
        for w in self.all_writers.values():
            w.flush()

    def close(self) -> None:
        """Flush and close every file this writer opened."""
        for w in self.all_writers.values():
            w.flush()
            w.close()
        self.file_writer = None
        self.all_writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
