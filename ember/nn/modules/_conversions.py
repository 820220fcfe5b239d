"""The conversion half of ``nn.Module``: ``to``, ``float``/``double``/``half``, ``type``,
``cpu``... They convert parameters in place (same Parameter objects) and replace buffers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import _dtype as D
from ..._backend import device as _device
from ..._tensor import Tensor, parse_to
from ...autograd.grad_mode import no_grad


class ConversionsMixin:
    """Mixed into ``Module``: converting every parameter and buffer of the tree."""

    _parameters: dict
    _buffers: dict
    children: Callable[..., Any]

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Any:
        """Convert every parameter and buffer with ``fn``; parameters keep their identity."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        for p in self._parameters.values():
            if p is None:
                continue
            with no_grad():
                new = fn(p)
            p._data = new._data  # like ``param.data = ...``: same Parameter object
            g = p._grad
            if g is not None:
                with no_grad():
                    g._data = fn(g)._data
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """Convert floating parameters and buffers in place: ``to(dtype)``, ``to(device)``,
        ``to(tensor)``, ``to(device, dtype)``; returns self. Integer buffers keep their dtype."""
        _, dtype, _ = parse_to(args, kwargs, allow_copy=False)
        fmt = kwargs.get("memory_format")
        if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got "
                f"desired dtype={dtype}"
            )
        if dtype is None and fmt is None:
            return self

        def convert(t: Tensor) -> Tensor:
            dt = dtype if (t.is_floating_point() or t.is_complex()) else None
            if fmt is not None and t.ndim in (4, 5):
                return t.to(dtype=dt, memory_format=fmt)  # as PyTorch: 4-D and 5-D only
            return t.to(dtype=dt)

        return self._apply(convert)

    def _cast_floating(self, dt: D.dtype) -> Any:
        return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)

    def float(self) -> Any:
        """Cast floating parameters and buffers to float32."""
        return self._cast_floating(D.float32)

    def double(self) -> Any:
        """Cast floating parameters and buffers to float64."""
        return self._cast_floating(D.float64)

    def half(self) -> Any:
        """Cast floating parameters and buffers to float16."""
        return self._cast_floating(D.float16)

    def bfloat16(self) -> Any:
        """Cast floating parameters and buffers to bfloat16."""
        return self._cast_floating(D.bfloat16)

    def type(self, dst_type: Any) -> Any:
        """Cast every parameter and buffer (integer ones too) to ``dst_type``."""
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self) -> Any:
        """Move to the CPU: ember's tensors already live there, so this returns self."""
        return self

    def cuda(self, device: Any = None) -> Any:
        """Move to a CUDA device (raises the clear "no CUDA device" error without one)."""
        _device("cuda")
        return self  # pragma: no cover

    def share_memory(self) -> Any:
        """Move every parameter, gradient and buffer into shared memory (Hogwild training)."""
        for t in (*self.parameters(), *self.buffers()):
            t.share_memory_()
            if t.grad is not None:
                t.grad.share_memory_()
        return self
