"""``ember.onnx``: export models built from ember's layers to ONNX.

``ember.onnx.export(model, args, "model.onnx", input_names=[...], output_names=[...],
dynamic_axes={...})`` runs the model once on the example ``args``, records the operations it
performs as ONNX nodes, and writes the file through the ``onnx`` package
(``pip install 'ember[onnx]'``, imported only when exporting). The file runs in
``onnxruntime`` or any ONNX runtime, without ember or PyTorch.
"""

from __future__ import annotations

from typing import Any

from ._graph import ExportError, UnsupportedOperatorError

__all__ = [
    "export",
    "is_in_onnx_export",
    "ExportError",
    "UnsupportedOperatorError",
    "OnnxExporterError",
    "ONNXProgram",
    "TrainingMode",
]

OnnxExporterError = ExportError


class TrainingMode:
    """PyTorch's export modes; ember exports in eval mode only."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    """True while ``ember.onnx.export`` is tracing a model."""
    from ._tracer import ACTIVE

    return bool(ACTIVE)


def export(*args: Any, **kwargs: Any) -> Any:
    """Export a model to ONNX (see ``ember.onnx._export.export``)."""
    from ._export import export as _export

    return _export(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "ONNXProgram":
        from ._export import ONNXProgram

        return ONNXProgram
    raise AttributeError(f"module 'ember.onnx' has no attribute '{name}'")
