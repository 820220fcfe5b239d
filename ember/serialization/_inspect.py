"""What the ``ember inspect`` and ``ember convert`` commands do, as functions."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._api import detect_format
from ._errors import CheckpointError

__all__ = ["TensorInfo", "Inspection", "inspect_checkpoint", "format_inspection", "convert"]

_FORMAT_NAMES = {
    "zip": "PyTorch zip checkpoint",
    "legacy": "PyTorch legacy (pre-1.6) checkpoint",
    "safetensors": "safetensors file",
}

_SAFETENSORS_NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
                      "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32",
                      "F32": "float32", "C64": "complex64", "F64": "float64", "I64": "int64",
                      "U64": "uint64"}  # fmt: skip


@dataclass
class TensorInfo:
    """A tensor's name, dtype as stored in the file, and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    parameter: bool = False
    kind: str = "parameter"  # or "buffer", or "other" (optimizer state, plain values)

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=object)) if self.shape else 1


@dataclass
class Inspection:
    """The tensors of a checkpoint file and its format details."""

    path: str
    format: str
    tensors: list[TensorInfo] = field(default_factory=list)
    metadata: dict[str, str] | None = None

    @property
    def total(self) -> int:
        """The number of parameters (buffers and other tensors are counted apart)."""
        return sum(t.numel for t in self.tensors if t.kind == "parameter")


class _InfoFactory:
    """Builds TensorInfo records instead of tensors (the names are filled in afterwards)."""

    def tensor(self, array: np.ndarray, requires_grad: bool, dtype_name: str = "") -> Any:
        return TensorInfo("", dtype_name or array.dtype.name, tuple(array.shape))

    def parameter(self, tensor: TensorInfo, requires_grad: bool) -> Any:
        return TensorInfo("", tensor.dtype, tensor.shape, parameter=True)

    def is_tensor(self, obj: Any) -> bool:
        return isinstance(obj, TensorInfo)


def _walk(obj: Any, found: list, is_tensor: Any, states: list | None = None) -> None:
    """Collect ``(dotted name, tensor)`` pairs from nested dicts, lists and tuples; the names
    of tensors inside an optimizer's ``state`` go to ``states`` too."""
    stack = [("", obj, False)]
    seen: set[int] = set()
    while stack:
        name, o, in_state = stack.pop()
        if is_tensor(o):
            found.append((name, o))
            if in_state and states is not None:
                states.append(name)
            continue
        if isinstance(o, (dict, list, tuple)):
            if id(o) in seen:
                continue
            seen.add(id(o))
            items = o.items() if isinstance(o, dict) else enumerate(o)
            optimizer = isinstance(o, dict) and "state" in o and "param_groups" in o
            children = [
                (f"{name}.{k}" if name else str(k), v, in_state or (optimizer and k == "state"))
                for k, v in items
            ]
            stack.extend(reversed(children))


# Buffers of PyTorch's own layers (state_dicts do not say which entries are buffers).
_BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")


def _kind(name: str, info: TensorInfo, optimizer_state: bool) -> str:
    """``parameter``, ``buffer`` or ``other``: an nn.Parameter or a floating tensor of a
    state_dict is a parameter; normalisation statistics are buffers; optimizer state and
    integer tensors are other values."""
    if info.parameter:
        return "parameter"
    if name.rsplit(".", 1)[-1] in _BUFFER_NAMES:
        return "buffer"
    if optimizer_state or not any(k in info.dtype for k in ("float", "complex")):
        return "other"
    return "parameter"


def inspect_checkpoint(path: str | os.PathLike) -> Inspection:
    """Read every tensor's name, dtype and shape from a checkpoint, without torch."""
    from ._format import load_zip
    from ._legacy import load_legacy
    from .safetensors import read_safetensors

    path = os.fspath(path)
    with open(path, "rb") as fh:
        kind = detect_format(fh.read(512))
        fh.seek(0)
        if kind == "tar":
            raise CheckpointError("PyTorch's oldest (tar) checkpoint format is not supported")
        result = Inspection(path, _FORMAT_NAMES[kind])
        if kind == "safetensors":
            header, _, result.metadata = read_safetensors(path, copy=False)
            for name, info in header.items():
                dtype = _SAFETENSORS_NAMES.get(info["dtype"], info["dtype"])
                t = TensorInfo(name, dtype, tuple(info["shape"]))
                t.kind = _kind(name, t, False)
                result.tensors.append(t)
            return result
        factory = _InfoFactory()
        if kind == "zip":
            obj = load_zip(fh, "cpu", factory, mmap_path=path)
        else:
            obj = load_legacy(fh.read(), "cpu", factory)
    found: list = []
    states: list = []
    _walk(obj, found, factory.is_tensor, states)
    in_state = set(states)
    for name, info in found:
        kind = _kind(name, info, name in in_state)
        result.tensors.append(
            TensorInfo(name or "<tensor>", info.dtype, info.shape, info.parameter, kind)
        )
    return result


def format_inspection(ins: Inspection) -> str:
    """A table of the tensors, then the totals of parameters, buffers and other tensors."""
    rows = [(t.name, t.dtype, str(list(t.shape)), f"{t.numel:,}", t.kind) for t in ins.tensors]
    head = ("name", "dtype", "shape", "numel", "kind")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    lines = [f"{ins.path}: {ins.format}"]
    if ins.metadata:
        lines.append("metadata: " + ", ".join(f"{k}={v}" for k, v in ins.metadata.items()))
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}  {{}}"
    lines.append(fmt.format(*head).rstrip())
    lines += [fmt.format(*r) for r in rows]
    totals = [_count(ins, "parameter", "parameters")]
    for kind, what in (("buffer", "buffer values"), ("other", "other values")):
        if any(t.kind == kind for t in ins.tensors):
            totals.append(_count(ins, kind, what))
    lines.append("total: " + "; ".join(totals))
    return "\n".join(lines)


def _count(ins: Inspection, kind: str, what: str) -> str:
    ts = [t for t in ins.tensors if t.kind == kind]
    n = len(ts)
    return f"{sum(t.numel for t in ts):,} {what} in {n} tensor{'s' if n != 1 else ''}"


def convert(src: str | os.PathLike, dst: str | os.PathLike) -> list[str]:
    """Convert between PyTorch checkpoints and safetensors (by ``dst``'s extension).

    Returns notes for the user (values that safetensors cannot hold, and so on).
    """
    from .._tensor import Tensor, _wrap
    from ._api import load, save
    from .safetensors import read_safetensors, save_safetensors

    notes: list[str] = []
    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ValueError("convert: input and output are the same file")
    obj = load(src)
    with open(src, "rb") as fh:
        kind = detect_format(fh.read(512))
    if kind == "safetensors":
        _, _, metadata = read_safetensors(src, copy=False)
        if metadata:
            notes.append(f"safetensors metadata dropped: {metadata}")
    if dst.endswith(".safetensors"):
        found: list = []
        _walk(obj, found, lambda o: isinstance(o, Tensor))
        if not found:
            raise ValueError(f"convert: {src} holds no tensors")
        tensors: OrderedDict = OrderedDict()
        for name, t in found:
            # Copies: safetensors refuses shared or non-contiguous tensors (tied weights, views).
            tensors[name or "tensor"] = _wrap(np.array(t._data, order="C", copy=True))
        skipped = _non_tensor_leaves(obj)
        if skipped:
            notes.append("values that are not tensors were left out: " + ", ".join(skipped))
        save_safetensors(tensors, dst, metadata={"format": "pt"})
    else:
        save(obj, dst)
    return notes


def _non_tensor_leaves(obj: Any) -> list[str]:
    from .._tensor import Tensor

    out: list[str] = []
    stack = [("", obj)]
    seen: set[int] = set()
    while stack:
        name, o = stack.pop()
        if isinstance(o, Tensor):
            continue
        if isinstance(o, (dict, list, tuple)):
            if id(o) in seen:
                continue
            seen.add(id(o))
            items = o.items() if isinstance(o, dict) else enumerate(o)
            stack.extend((f"{name}.{k}" if name else str(k), v) for k, v in items)
        else:
            out.append(name or "<value>")
    return sorted(out)
