"""Export a model, run the file in onnxruntime, compare with ember's own outputs."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnxruntime as ort

import ember


def run_onnx(model: Any, args: tuple, feeds: list | None = None, **kw: Any) -> tuple:
    """Export ``model`` on ``args``; run the file on ``feeds`` (default ``args``).

    Returns (onnxruntime outputs, ember outputs on the same feeds), ember's in eval mode.
    """
    buf = io.BytesIO()
    names = kw.pop("input_names", [f"in{i}" for i in range(len(args))])
    ember.onnx.export(model, args, buf, input_names=names, **kw)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feeds = list(args) if feeds is None else feeds
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, feeds)})
    model.eval()
    with ember.no_grad():
        ref = model(*feeds)
    return got, [t.numpy() for t in _flat(ref)]


def _flat(out: Any) -> list:
    if isinstance(out, ember.Tensor):
        return [out]
    return [t for o in out if o is not None for t in _flat(o)]


def assert_same(model: Any, args: tuple, feeds: list | None = None, atol: float = 1e-5, **kw):
    got, ref = run_onnx(model, args, feeds, **kw)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
