"""Summary protos for each kind of record (scalars, histograms, images, text, hparams).

Values arrive as NumPy arrays; the protos come from the ``tensorboard`` package.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np


def tb() -> Any:
    """The ``tensorboard`` protos, or an ImportError saying how to install them."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:  # pragma: no cover - the test extra installs tensorboard
        raise ImportError(
            "ember.utils.tensorboard needs the tensorboard package: "
            "pip install 'ember[tensorboard]' (or pip install tensorboard)"
        ) from e

    class NS:
        pass

    ns = NS()
    ns.event_pb2, ns.summary_pb2, ns.tensor_pb2 = event_pb2, summary_pb2, tensor_pb2
    ns.api_pb2, ns.plugin_data_pb2, ns.EventFileWriter = api_pb2, plugin_data_pb2, EventFileWriter
    return ns


def scalar(tag: str, value: float) -> Any:
    """A scalar summary (the classic ``simple_value`` form TensorBoard reads as a scalar)."""
    S = tb().summary_pb2
    return S.Summary(value=[S.Summary.Value(tag=tag, simple_value=float(value))])


def _tf_buckets() -> np.ndarray:
    # TensorFlow's default histogram bucket edges: +-1e-12 growing by 10% up to 1e20, and 0.
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos = np.array(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def histogram(tag: str, values: np.ndarray, bins: Any, max_bins: int | None) -> Any:
    """A histogram summary: bucket counts, trimmed to the buckets that hold values."""
    S = tb().summary_pb2
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    if isinstance(bins, str) and bins == "tensorflow":
        bins = _tf_buckets()
    counts, edges = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        step = len(counts) // max_bins
        counts = np.pad(counts, (0, (-len(counts)) % step)).reshape(-1, step).sum(axis=1)
        edges = np.append(edges[:-1:step], edges[-1])
    nz = np.flatnonzero(counts)
    first, last = int(nz[0]), int(nz[-1]) + 1
    # TensorBoard stores right edges only: keep one empty bucket before the first full one so
    # the left edge of the data shows too.
    counts = np.concatenate([[0], counts[:last]]) if first == 0 else counts[first - 1 : last]
    edges = edges[first : last + 1]
    proto = S.HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=int(values.size),
        sum=float(values.sum()),
        sum_squares=float(values.dot(values)),
        bucket_limit=edges.tolist(),
        bucket=counts.tolist(),
    )
    return S.Summary(value=[S.Summary.Value(tag=tag, histo=proto)])


def _grid(batch: np.ndarray, ncols: int = 8) -> np.ndarray:
    """NCHW images tiled row by row into one CHW image, 8 to a row (PyTorch's layout)."""
    if batch.shape[1] == 1:
        batch = np.repeat(batch, 3, axis=1)
    if batch.shape[1] != 3:
        raise ValueError(f"a batch of images needs 1 or 3 channels, got {batch.shape[1]}")
    n, c, h, w = batch.shape
    cols = min(n, ncols)
    rows = -(-n // cols)
    canvas = np.zeros((c, h * rows, w * cols), batch.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        canvas[:, r * h : (r + 1) * h, q * w : (q + 1) * w] = batch[i]
    return canvas


def to_hwc(img: np.ndarray, dataformats: str) -> np.ndarray:
    """The image as height x width x channels (1, 3 or 4 channels); a batch (N) as a grid."""
    fmt = dataformats.upper()
    if len(fmt) == 4 and sorted(fmt) == sorted("NCHW") and img.ndim == 4:
        img, fmt = _grid(np.transpose(img, [fmt.index(c) for c in "NCHW"])), "CHW"
    if len(set(fmt)) != len(fmt) or not set(fmt) <= set("CHW") or img.ndim != len(fmt):
        raise ValueError(
            f"dataformats {dataformats!r} does not describe an image of shape {img.shape}"
        )
    if "C" not in fmt:
        img, fmt = img[None], "C" + fmt
    img = np.transpose(img, [fmt.index(c) for c in "HWC"])
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)  # TensorBoard shows grayscale as RGB, as PyTorch does
    if img.shape[2] not in (3, 4):
        raise ValueError(f"an image needs 1, 3 or 4 channels, got {img.shape[2]}")
    return img


def _png(img: np.ndarray) -> bytes:
    """PNG bytes of an 8-bit HWC image (RGB or RGBA), written with zlib alone."""
    h, w, c = img.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * c)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + chunk(b"IEND", b"")
    )


def image(tag: str, img: np.ndarray, dataformats: str) -> Any:
    """An image summary: floats in [0, 1] are scaled to 0..255, uint8 kept, then PNG-encoded."""
    S = tb().summary_pb2
    hwc = to_hwc(np.asarray(img), dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    pix = np.clip(hwc.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    h, w, c = pix.shape
    im = S.Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=_png(pix))
    return S.Summary(value=[S.Summary.Value(tag=tag, image=im)])


def text(tag: str, text_string: str) -> Any:
    """A text summary (the text plugin's string tensor)."""
    T = tb()
    S, TP = T.summary_pb2, T.tensor_pb2
    meta = S.SummaryMetadata(plugin_data=S.SummaryMetadata.PluginData(plugin_name="text"))
    tensor = TP.TensorProto(dtype=7, string_val=[text_string.encode("utf-8")])  # 7 = DT_STRING
    tensor.tensor_shape.dim.add(size=1)
    value = S.Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)
    return S.Summary(value=[value])


def _hp_summary(tag: str, data: Any) -> Any:
    T = tb()
    S = T.summary_pb2
    content = T.plugin_data_pb2.HParamsPluginData(version=0, **data).SerializeToString()
    meta = S.SummaryMetadata(
        plugin_data=S.SummaryMetadata.PluginData(plugin_name="hparams", content=content)
    )
    return S.Summary(value=[S.Summary.Value(tag=tag, metadata=meta)])


def _hp_value(v: Any) -> tuple[Any, str]:
    """The protobuf Value of one hyperparameter and its hparams DataType."""
    from google.protobuf import struct_pb2

    if isinstance(v, (int, float)):  # bools too: PyTorch logs them as numbers
        return struct_pb2.Value(number_value=float(v)), "DATA_TYPE_FLOAT64"
    if isinstance(v, str):
        return struct_pb2.Value(string_value=v), "DATA_TYPE_STRING"
    if hasattr(v, "item") and getattr(v, "numel", lambda: 1)() == 1:
        return _hp_value(v.item())
    raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")


def hparams(hparam_dict: dict, metric_dict: dict, domains: dict | None) -> tuple:
    """The experiment, session-start and session-end summaries of one hparams run."""
    A = tb().api_pb2
    infos, values = [], {}
    for k, v in hparam_dict.items():
        pv, kind = _hp_value(v)
        values[k] = pv
        info = A.HParamInfo(name=k, type=A.DataType.Value(kind))
        if domains and k in domains:
            from google.protobuf import struct_pb2

            dv = [_hp_value(d)[0] for d in domains[k]]
            info.domain_discrete.CopyFrom(struct_pb2.ListValue(values=dv))
        infos.append(info)
    metrics = [A.MetricInfo(name=A.MetricName(tag=k)) for k in metric_dict]
    exp = _hp_summary(
        "_hparams_/experiment",
        {"experiment": A.Experiment(hparam_infos=infos, metric_infos=metrics)},
    )
    D = tb().plugin_data_pb2
    start = D.SessionStartInfo()
    for k, pv in values.items():
        start.hparams[k].CopyFrom(pv)
    ssi = _hp_summary("_hparams_/session_start_info", {"session_start_info": start})
    sei = _hp_summary(
        "_hparams_/session_end_info",
        {"session_end_info": D.SessionEndInfo(status=A.Status.Value("STATUS_SUCCESS"))},
    )
    return exp, ssi, sei


def scalar_tensor(tag: str, value: float, double_precision: bool) -> Any:
    """The new-style scalar: a 0-d tensor under the scalars plugin."""
    T = tb()
    S, TP = T.summary_pb2, T.tensor_pb2
    if double_precision:
        tensor = TP.TensorProto(dtype=2, double_val=[value])  # DT_DOUBLE
    else:
        tensor = TP.TensorProto(dtype=1, float_val=[value])  # DT_FLOAT
    meta = S.SummaryMetadata(plugin_data=S.SummaryMetadata.PluginData(plugin_name="scalars"))
    return S.Summary(value=[S.Summary.Value(tag=tag, tensor=tensor, metadata=meta)])
