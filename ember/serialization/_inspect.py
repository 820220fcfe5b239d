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
        return sum(t.numel for t in self.tensors)


class _InfoFactory:
    """Builds TensorInfo records instead of tensors (the names are filled in afterwards)."""

    def tensor(self, array: np.ndarray, requires_grad: bool, dtype_name: str = "") -> Any:
        return TensorInfo("", dtype_name or array.dtype.name, tuple(array.shape))

    def parameter(self, tensor: TensorInfo, requires_grad: bool) -> Any:
        return TensorInfo("", tensor.dtype, tensor.shape, parameter=True)

    def is_tensor(self, obj: Any) -> bool:
        return isinstance(obj, TensorInfo)


def _walk(obj: Any, found: list, is_tensor: Any) -> None:
    """Collect ``(dotted name, tensor)`` pairs from nested dicts, lists and tuples."""
    stack = [("", obj)]
    seen: set[int] = set()
    while stack:
        name, o = stack.pop()
        if is_tensor(o):
            found.append((name, o))
            continue
        if isinstance(o, (dict, list, tuple)):
            if id(o) in seen:
                continue
            seen.add(id(o))
            items = o.items() if isinstance(o, dict) else enumerate(o)
            children = [(f"{name}.{k}" if name else str(k), v) for k, v in items]
            stack.extend(reversed(children))


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
                result.tensors.append(TensorInfo(name, dtype, tuple(info["shape"])))
            return result
        factory = _InfoFactory()
        if kind == "zip":
            obj = load_zip(fh, "cpu", factory, mmap_path=path)
        else:
            obj = load_legacy(fh.read(), "cpu", factory)
    found: list = []
    _walk(obj, found, factory.is_tensor)
    for name, info in found:
        name = name or "<tensor>"
        result.tensors.append(TensorInfo(name, info.dtype, info.shape, info.parameter))
    return result


def format_inspection(ins: Inspection) -> str:
    """A table of the tensors and the total parameter count."""
    rows = [(t.name, t.dtype, str(list(t.shape)), f"{t.numel:,}") for t in ins.tensors]
    head = ("name", "dtype", "shape", "params")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    lines = [f"{ins.path}: {ins.format}"]
    if ins.metadata:
        lines.append("metadata: " + ", ".join(f"{k}={v}" for k, v in ins.metadata.items()))
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    lines.append(fmt.format(*head))
    lines += [fmt.format(*r) for r in rows]
    n = len(ins.tensors)
    lines.append(f"total: {ins.total:,} parameters in {n} tensor{'s' if n != 1 else ''}")
    return "\n".join(lines)


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
        header, _, metadata = read_safetensors(src, copy=False)
        if any(info["dtype"] == "BF16" for info in header.values()):
            notes.append("BF16 tensors were converted to float32 (NumPy has no bfloat16)")
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
