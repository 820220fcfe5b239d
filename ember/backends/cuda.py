"""``ember.backends.cuda``: not built (no GPU). ``matmul.allow_tf32`` follows
``ember.set_float32_matmul_precision`` both ways, as PyTorch's; the other flags keep what a
script sets and change nothing."""

from __future__ import annotations

from typing import Any

from .. import _runtime

__all__ = ["is_built", "matmul", "cufft_plan_cache"]


def is_built() -> bool:
    return False


class _MatmulFlags:
    """``ember.backends.cuda.matmul``: attribute access as PyTorch's (unknown names raise)."""

    _PLAIN = ("allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction")

    def __init__(self) -> None:
        object.__setattr__(self, "_values", dict.fromkeys(self._PLAIN, True))

    def __getattr__(self, name: str) -> Any:
        if name == "allow_tf32":
            return _runtime.SETTINGS.matmul_precision != "highest"
        if name == "fp32_precision":
            return "ieee" if _runtime.SETTINGS.matmul_precision == "highest" else "tf32"
        if name in self._PLAIN:
            return self._values[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "allow_tf32":
            _runtime.SETTINGS.matmul_precision = "high" if value else "highest"
        elif name == "fp32_precision":
            _runtime.SETTINGS.matmul_precision = "highest" if value == "ieee" else "high"
        elif name in self._PLAIN:
            self._values[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _MatmulFlags()
cufft_plan_cache: dict = {}

# Scaled-dot-product-attention kernel switches: recorded, reported, never acted on.
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _SDP["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _SDP["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def enable_math_sdp(enabled: bool) -> None:
    _SDP["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _SDP["cudnn"] = bool(enabled)
