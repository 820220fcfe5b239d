"""The ONNX graph an export builds: value names for traced tensors, nodes and initializers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor


class ExportError(RuntimeError):
    """``ember.onnx.export`` cannot translate something the model does."""


class UnsupportedOperatorError(ExportError):
    """An ember operation the exporter has no ONNX translation for (the message names it)."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - the test extra installs onnx
        raise ImportError(
            "ember.onnx.export needs the onnx package: pip install 'ember[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from e
    return onnx


class Graph:
    """Nodes and constants recorded while the model runs once on the example inputs."""

    def __init__(self, opset: int) -> None:
        self.onnx = _onnx()
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names: dict[int, str] = {}  # id(tensor) -> value name
        self._keep: list = []  # the traced tensors stay alive so their ids stay unique
        self._consts: dict[int, str] = {}
        self.param_names: dict[int, str] = {}  # id(parameter or buffer) -> its state_dict key
        self._n = 0
        # what is being translated now, and every node/constant in order with the operation that
        # made it: two traces of the same model are compared through this record
        self.current = "the model"
        self.record: list[tuple[str, Any]] = []

    # ---- names -------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}" if hint not in self.param_names.values() else hint

    def traced(self, t: Any) -> bool:
        """True when ``t`` is a tensor the graph computes (an input or an op's result)."""
        return isinstance(t, Tensor) and id(t) in self._names

    def bind(self, t: Tensor, name: str) -> None:
        """``t`` is the value ``name`` from now on (in-place ops rebind their tensor)."""
        self._names[id(t)] = name
        self._keep.append(t)

    def name(self, t: Any) -> str:
        """The value name of ``t``: traced tensors by their node, anything else as a constant."""
        if isinstance(t, Tensor):
            if id(t) in self._names:
                return self._names[id(t)]
            key = id(t)
            if key not in self._consts:
                self._keep.append(t)
                hint = self.param_names.get(key, "const")
                self._consts[key] = self.const(t.detach().numpy(), hint)
            return self._consts[key]
        return self.const(np.asarray(t), "scalar")

    def const(self, value: np.ndarray, hint: str = "const") -> str:
        """A new initializer holding ``value``."""
        name = self.fresh(hint)
        arr = np.array(value, order="C")  # (ascontiguousarray would make a 0-d value 1-d)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        self.record.append((self.current, self.initializers[-1]))
        return name

    def ints(self, values: Any) -> str:
        """An int64 1-D constant (shapes, axes, starts)."""
        return self.const(np.asarray(list(values), np.int64), "ints")

    def like(self, value: float, t: Tensor) -> str:
        """A scalar constant with ``t``'s dtype (ONNX does not promote types)."""
        return self.const(np.asarray(value, dtype=t.detach().numpy().dtype), "scalar")

    # ---- nodes -------------------------------------------------------------------------
    def node(self, op: str, inputs: list, n_out: int = 1, **attrs: Any) -> Any:
        """Add one node; its output name (a list of names when ``n_out > 1``)."""
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), outs, **attrs))
        self.record.append((self.current, self.nodes[-1]))
        return outs[0] if n_out == 1 else outs
