"""Anomaly detection, as ``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``.

While it is on, every graph node records the Python stack of the forward call that made it
(``function._apply_graph`` / ``_apply_user``), and the engine runs every node through its
general path (``engine._run_general``), which calls ``run_checked`` here: an error in a node's
backward first warns with that forward stack, and (with ``check_nan``) a gradient holding a NaN
raises PyTorch's ``Function 'XBackward0' returned nan values in its 0th output.``
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

__all__ = [
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "set_anomaly_enabled",
]


class _State:
    """Process-wide switch (PyTorch's is per process too); ``enabled`` is read on every node."""

    enabled = False
    check_nan = True


ANOMALY = _State()
_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection raises on NaN gradients."""
    return ANOMALY.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    ANOMALY.enabled = bool(enabled)
    ANOMALY.check_nan = bool(check_nan)


class detect_anomaly:
    """Context manager turning anomaly detection on: backward errors name the forward call that
    made the failing node, and (``check_nan=True``) a NaN gradient raises a RuntimeError."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = ANOMALY.enabled
        self.check_nan = check_nan
        self.prev_check_nan = ANOMALY.check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Set anomaly detection on or off; usable as a function or as a context manager (the
    previous setting comes back on exit)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = ANOMALY.enabled
        self.prev_check_nan = ANOMALY.check_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def record_trace(node: Any) -> None:
    """Keep the forward stack on ``node``, without ember's own innermost frames."""
    import traceback

    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_EMBER_DIR):
        frames.pop()
    node.__dict__["_anomaly_trace"] = "".join(traceback.format_list(frames))


def _warn_trace(node: Any) -> None:
    trace = node.__dict__.get("_anomaly_trace")
    if trace is None:  # the node was made before anomaly mode was turned on
        return
    warnings.warn(
        f"Error detected in {type(node).__name__}. Traceback of forward call that caused the "
        f"error:\n{trace}",
        stacklevel=2,
    )


def run_checked(node: Any, gouts: tuple, graph: bool) -> Any:
    """Run ``node``'s backward: on an error or (``check_nan``) a NaN gradient, warn with the
    forward stack; a NaN raises PyTorch's RuntimeError naming the node and the output."""
    fn = node._fn
    try:
        res = fn._run_backward_graph(node, gouts) if graph else fn._run_backward(node, gouts)
    except Exception:
        _warn_trace(node)
        raise
    if ANOMALY.check_nan:
        for i, g in enumerate(res if type(res) is tuple else (res,)):
            if g is None:
                continue
            data = getattr(g, "_data", g)
            if data.dtype.kind in "fc" and np.isnan(data).any():
                _warn_trace(node)
                raise RuntimeError(
                    f"Function '{type(node).__name__}' returned nan values in its {i}th output."
                )
    return res
