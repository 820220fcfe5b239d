"""``ember.onnx.export``: trace the model once, write the ONNX file."""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .._tensor import Tensor
from . import _ops_attention, _ops_modules, _ops_rnn, _ops_tensor  # noqa: F401 - fill the translation tables
from . import _tracer as T
from ._check import check_inputs_traced
from ._graph import ExportError, Graph

DEFAULT_OPSET = 18
# arguments that change what torch writes and that ember does not implement: refused unless
# left at their defaults
_REFUSED_DEFAULTS = {
    "dynamic_shapes": None,
    "custom_translation_table": None,
    "report": False,
    "verify": False,
    "profile": False,
    "dump_exported_program": False,
    "export_params": True,
    "keep_initializers_as_inputs": False,
    "custom_opsets": None,
    "export_modules_as_functions": False,
}


class ONNXProgram:
    """What ``export`` returns: the ONNX ``ModelProto`` (``model_proto``) and ``save(path)``."""

    def __init__(self, model_proto: Any) -> None:
        self.model_proto = model_proto

    def save(self, destination: str | os.PathLike | io.IOBase) -> None:
        """Write the model to a path or a binary file object."""
        data = self.model_proto.SerializeToString()
        if hasattr(destination, "write"):
            destination.write(data)
        else:
            with open(destination, "wb") as fh:
                fh.write(data)


def _input_names(model: Any, n: int, given: Sequence[str] | None) -> list:
    names = list(given or [])
    if len(names) < n:
        try:
            params = list(inspect.signature(model.forward).parameters)
        except (TypeError, ValueError, AttributeError):
            params = []
        params = [p for p in params if p not in ("self", "args", "kwargs")]
        for i in range(len(names), n):
            names.append(params[i] if i < len(params) else f"input_{i}")
    return names


def _dims(name: str, shape: tuple, dynamic: Mapping) -> list:
    spec = dynamic.get(name)
    if spec is None:
        return list(shape)
    if not isinstance(spec, Mapping):
        spec = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}
    return [spec.get(i, spec.get(i - len(shape), s)) for i, s in enumerate(shape)]


def _value_info(g: Graph, name: str, t: Tensor, shape: Any) -> Any:
    return g.onnx.helper.make_tensor_value_info(name, _ops_tensor.onnx_type(t), shape)


def _split_args(args: Any, kwargs: dict | None) -> tuple:
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # the old API: a trailing dict of keyword arguments
        kwargs.update(args[-1])
        args = args[:-1]
    return args, kwargs


def trace(model: Any, args: tuple, kwargs: dict, opset: int) -> tuple:
    """Run ``model`` once under the tracer; the graph, the input tensors and the outputs."""
    from ..autograd.grad_mode import no_grad

    g = Graph(opset)
    if hasattr(model, "named_parameters"):
        for k, v in (*model.named_parameters(), *model.named_buffers()):
            g.param_names[id(v)] = k
    inputs = [t for t in T._tensors((args, kwargs))]
    saved = T.patch()
    T.ACTIVE.append(T.Tracer(g))
    try:
        for i, t in enumerate(inputs):
            g.bind(t, f"__input_{i}")
        with no_grad():
            out = model(*args, **kwargs)
    finally:
        T.ACTIVE.pop()
        T.unpatch(saved)
    g.current = "the model's output"
    for t in T._tensors(out):
        g.name(t)  # an output the tracer did not compute becomes a constant here
    return g, inputs, out


def export(
    model: Any,
    args: Any = (),
    f: str | os.PathLike | io.IOBase | None = None,
    *,
    kwargs: dict | None = None,
    verbose: bool | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset_version: int | None = None,
    dynamic_axes: Mapping | None = None,
    training: Any = None,
    **options: Any,
) -> ONNXProgram:
    """Export ``model`` (run once on ``args``) as an ONNX model; write it to ``f`` if given.

    The model runs in eval mode (restored afterwards) with gradients off. ``dynamic_axes`` maps
    input/output names to the axes that may change size (``{"x": {0: "batch"}}`` or
    ``{"x": [0]}``). Operations without a translation raise ``UnsupportedOperatorError``.
    """
    for k, v in options.items():
        if k in _REFUSED_DEFAULTS and v != _REFUSED_DEFAULTS[k]:
            raise NotImplementedError(f"ember.onnx.export does not support {k}={v!r}")
        if k not in _REFUSED_DEFAULTS and k not in _ACCEPTED:
            raise TypeError(f"export() got an unexpected keyword argument '{k}'")
    if training is not None and getattr(training, "name", training) not in ("EVAL", 0):
        raise NotImplementedError("ember.onnx.export exports in eval mode only (training=EVAL)")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 13:
        raise ExportError(f"ember.onnx.export writes opset 13 or newer, got {opset}")
    args, kwargs = _split_args(args, kwargs)
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    for m, _ in modes:
        m.training = False
    from .._random import get_rng_state, set_rng_state

    rng = get_rng_state()
    try:
        g, inputs, out = trace(model, args, kwargs, opset)
        after = get_rng_state()
        set_rng_state(rng)  # the second trace draws the same random numbers
        check_inputs_traced(g, lambda a, k: trace(model, a, k, opset)[0], args, kwargs)
        set_rng_state(after)
    finally:
        for m, was in modes:
            m.training = was
    proto = _assemble(g, model, inputs, out, input_names, output_names, dict(dynamic_axes or {}))
    if verbose:
        print(g.onnx.printer.to_text(proto.graph))
    program = ONNXProgram(proto)
    if f is not None:
        program.save(f)
    return program


_ACCEPTED = {"dynamo", "external_data", "optimize", "artifacts_dir", "operator_export_type"}
_ACCEPTED |= {"do_constant_folding", "autograd_inlining", "fallback"}


def _assemble(g: Graph, model, inputs, out, input_names, output_names, dynamic) -> Any:
    onnx = g.onnx
    outputs = T._tensors(out)
    if not outputs:
        raise ExportError("ember.onnx.export: the model returned no tensor")
    in_names = _input_names(model, len(inputs), input_names)
    out_names = list(output_names or [])
    out_names += [f"output_{i}" for i in range(len(out_names), len(outputs))]
    renames = {f"__input_{i}": n for i, n in enumerate(in_names)}
    nodes = []
    for nd in g.nodes:  # the inputs' placeholder names become the real ones
        nd.input[:] = [renames.get(x, x) for x in nd.input]
        nodes.append(nd)
    for t, name in zip(outputs, out_names):
        src = g.name(t)
        nodes.append(onnx.helper.make_node("Identity", [renames.get(src, src)], [name]))
    graph_inputs = [
        _value_info(g, n, t, _dims(n, tuple(t.shape), dynamic)) for n, t in zip(in_names, inputs)
    ]
    # an output without dynamic axes of its own, when some input has them: rank only
    graph_outputs = [
        _value_info(g, n, t, _dims(n, tuple(t.shape), dynamic))
        if (n in dynamic or not dynamic)
        else _value_info(g, n, t, [None] * t.ndim)
        for n, t in zip(out_names, outputs)
    ]
    graph = onnx.helper.make_graph(
        nodes, type(model).__name__, graph_inputs, graph_outputs, g.initializers
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", g.opset)],
        producer_name="ember",
    )
    proto.ir_version = min(proto.ir_version, 10)  # readable by onnxruntime releases of 2024 on
    onnx.checker.check_model(proto)
    return proto
