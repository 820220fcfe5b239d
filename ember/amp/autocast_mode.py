"""``ember.autocast``: PyTorch's automatic mixed precision context, on a CPU-only library.

The context records its state exactly as PyTorch does (``is_autocast_enabled``,
``get_autocast_dtype``, nesting, decorator use), and refuses or disables itself in the same
cases: ``device_type='cuda'`` warns and disables itself (there is no CUDA), a CPU dtype other than
bfloat16/float16 warns and disables itself, an unknown device type raises.

What differs: ember's ops do not lower their precision inside the region. PyTorch's CPU autocast
runs matmuls, linear layers and convolutions in bfloat16; ember runs every op at its inputs'
precision (float32), so results are a little more precise and keep the float32 dtype. Programs
that only wrap their forward pass in ``autocast`` run unchanged (see docs/differences.md).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any

from .. import _dtype as D

__all__ = [
    "autocast",
    "is_autocast_available",
    "is_autocast_enabled",
    "set_autocast_enabled",
    "get_autocast_dtype",
    "set_autocast_dtype",
    "custom_fwd",
    "custom_bwd",
]

# Device types PyTorch's autocast accepts (its other device strings raise RuntimeError).
_AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps", "hpu", "mtia", "maia", "xla", "ipu")
_KNOWN_DEVICES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
)


class _State(threading.local):
    """Autocast state per thread, per device type (PyTorch's is thread-local too)."""

    def __init__(self) -> None:
        self.enabled: dict[str, bool] = {}
        self.dtype: dict[str, Any] = {}
        self.cache_enabled = True
        self.nesting = 0


_STATE = _State()


def _default_dtype(device_type: str) -> Any:
    return D.bfloat16 if device_type in ("cpu", "mps") else D.float16


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast`` accepts ``device_type``."""
    return device_type in _AUTOCAST_DEVICES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether an enabled autocast region for ``device_type`` (default ``'cuda'``) is active."""
    return _STATE.enabled.get(device_type or "cuda", False)


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    """Switch autocast for ``device_type`` on or off in this thread."""
    _STATE.enabled[device_type] = bool(enabled)


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast uses for ``device_type`` (bfloat16 on cpu, float16 on cuda)."""
    return _STATE.dtype.get(device_type, _default_dtype(device_type))


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    """Set the dtype autocast uses for ``device_type`` in this thread."""
    _STATE.dtype[device_type] = dtype


def is_autocast_cache_enabled() -> bool:
    """Whether autocast's cast cache is on (recorded; ember casts nothing)."""
    return _STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Switch autocast's cast cache (recorded; ember casts nothing)."""
    _STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """PyTorch drops its cast-weight cache here; ember casts nothing, so there is none."""


class autocast:  # noqa: N801 - PyTorch's name
    """``with ember.autocast(device_type="cpu", dtype=ember.bfloat16):`` (or as a decorator).

    Records the autocast state as PyTorch does; ember's ops keep their inputs' precision inside
    (module docstring)."""

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            if device_type.split(":")[0] not in _KNOWN_DEVICES.split(", "):
                raise RuntimeError(
                    f"Expected one of {_KNOWN_DEVICES} device type at start of device string: "
                    f"{device_type}"
                )
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'"
            )
        self._cache_enabled = (
            is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        )
        if enabled and device_type == "cuda":
            warnings.warn(
                "CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2
            )
            enabled = False
        elif enabled and self.fast_dtype not in (D.bfloat16, D.float16):
            name = device_type.upper()
            warnings.warn(
                f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"{name} Autocast only supports dtypes of ember.bfloat16, ember.float16 currently.",
                stacklevel=2,
            )
            enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        self._prev = (is_autocast_enabled(self.device), get_autocast_dtype(self.device))
        self._prev_cache = is_autocast_cache_enabled()
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        set_autocast_cache_enabled(self._cache_enabled)
        _STATE.nesting += 1
        return self

    def __exit__(self, *exc: Any) -> bool:
        _STATE.nesting -= 1
        set_autocast_enabled(self.device, self._prev[0])
        set_autocast_dtype(self.device, self._prev[1])
        set_autocast_cache_enabled(self._prev_cache)
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def _cast(value: Any, dtype: Any) -> Any:
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Any:
    """Decorator for a custom ``Function.forward``: with ``cast_inputs``, inside an enabled
    autocast region, floating inputs are cast to it and ``forward`` runs with autocast off."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        ctx._dtype = get_autocast_dtype(device_type)
        active = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = active and cast_inputs is None
        if cast_inputs is None or not active:
            return fwd(ctx, *args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(ctx, *_cast(args, cast_inputs), **_cast(kwargs, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Any:
    """Decorator for a custom ``Function.backward``: runs it in the forward's autocast state."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        used = getattr(ctx, "_fwd_used_autocast", False)
        dtype = getattr(ctx, "_dtype", None)
        with autocast(device_type=device_type, enabled=used, dtype=dtype):
            return bwd(ctx, *args, **kwargs)

    return decorate_bwd
