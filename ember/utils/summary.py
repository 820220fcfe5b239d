"""``ember.summary``: a table of a model's layers, output shapes and parameter counts.

PyTorch has no built-in summary (users have asked since 2017, pytorch#2001). With an ``input`` or
``input_size``, one forward pass under ``no_grad`` records every module's output shape through
forward hooks; without one, only parameters are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["summary", "ModelSummary", "LayerInfo"]


@dataclass
class LayerInfo:
    """One row of the summary: a module and what it owns directly."""

    path: str
    type: str
    depth: int
    output_shape: list | None = None
    params: int = 0
    trainable: int = 0
    buffers: int = 0


@dataclass
class ModelSummary:
    """What ``summary`` measured; ``str()`` gives the printed table."""

    name: str
    layers: list[LayerInfo] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    input_shape: list | None = None
    output_shape: list | None = None

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        return _render(self)

    __repr__ = __str__


def _shape_of(x: Any) -> Any:
    from .._tensor import Tensor

    if isinstance(x, Tensor):
        return list(x.shape)
    if isinstance(x, (tuple, list)):
        shapes = [_shape_of(v) for v in x]
        return [s for s in shapes if s is not None] or None
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return None


def summary(
    model: Any,
    input_size: Any = None,
    input: Any = None,  # noqa: A002 - the natural name
    *,
    dtype: Any = None,
    depth: int | None = None,
) -> ModelSummary:
    """Summarise ``model``: each module's path, type, output shape and parameter count.

    Args:
        model: an ``nn.Module``.
        input_size: shape of one input batch, e.g. ``(1, 1, 28, 28)`` (a tuple of shapes for
            several inputs); a zero tensor of that shape is run through the model.
        input: an actual input tensor (or tuple of tensors) instead of ``input_size``.
        dtype: dtype of the zero input made from ``input_size`` (default float32).
        depth: only list modules up to this nesting depth (totals always cover everything).

    Returns:
        A ``ModelSummary``; print it for the table.

    >>> import ember
    >>> from ember import nn
    >>> s = ember.summary(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), input_size=(2, 4))
    >>> s.total_params
    15
    """
    from .. import _creation, no_grad
    from .._tensor import Tensor

    layers: dict[int, LayerInfo] = {}
    order: list[LayerInfo] = []
    for path, mod in model.named_modules():
        d = 0 if path == "" else path.count(".") + 1
        info = LayerInfo(path or "(root)", type(mod).__name__, d)
        for p in mod.parameters(recurse=False):
            info.params += p.numel()
            if p.requires_grad:
                info.trainable += p.numel()
        for b in mod.buffers(recurse=False):
            info.buffers += b.numel()
        layers[id(mod)] = info
        order.append(info)

    s = ModelSummary(type(model).__name__, order)
    seen: set = set()
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        s.total_params += p.numel()
        s.param_bytes += p.numel() * p.element_size()
        if p.requires_grad:
            s.trainable_params += p.numel()
    for b in model.buffers():
        s.buffer_bytes += b.numel() * b.element_size()

    if input is None and input_size is not None:
        sizes = input_size
        if sizes and isinstance(sizes[0], (tuple, list)):
            input = tuple(_creation.zeros(*sz, dtype=dtype) for sz in sizes)
        else:
            input = _creation.zeros(*sizes, dtype=dtype)
    if input is not None:
        args = input if isinstance(input, tuple) else (input,)
        handles = []

        def hook(mod: Any, _inp: Any, out: Any) -> None:
            info = layers.get(id(mod))
            if info is not None and info.output_shape is None:
                info.output_shape = _shape_of(out)

        for mod in model.modules():
            handles.append(mod.register_forward_hook(hook))
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                out = model(*args)
        finally:
            for h in handles:
                h.remove()
            model.train(was_training)
        s.input_shape = [list(a.shape) for a in args if isinstance(a, Tensor)]
        s.output_shape = _shape_of(out)
    if depth is not None:
        s.layers = [info for info in order if info.depth <= depth]
    return s


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _render(s: ModelSummary) -> str:
    rows = []
    for info in s.layers:
        name = "  " * max(info.depth - 1, 0) + (info.path if info.depth else s.name)
        shape = "" if info.output_shape is None else str(info.output_shape)
        frozen = info.params - info.trainable
        params = f"{info.params:,}" + (f" ({frozen:,} frozen)" if frozen else "")
        rows.append((name, info.type, shape, params))
    headers = ("Layer", "Type", "Output shape", "Params")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "-" * (sum(widths) + 3 * (len(widths) - 1))
    out = [line, "   ".join(h.ljust(w) for h, w in zip(headers, widths)), line.replace("-", "=")]
    for r in rows:
        out.append("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    out.append(line)
    out.append(f"Total params: {s.total_params:,}")
    out.append(f"Trainable params: {s.trainable_params:,}")
    out.append(f"Frozen params: {s.frozen_params:,}")
    out.append(f"Parameter memory: {_fmt_bytes(s.param_bytes)}")
    out.append(f"Buffer memory: {_fmt_bytes(s.buffer_bytes)}")
    if s.input_shape is not None:
        out.append(f"Input shape: {s.input_shape[0] if len(s.input_shape) == 1 else s.input_shape}")
        out.append(f"Output shape: {s.output_shape}")
    out.append(line)
    return "\n".join(out)
