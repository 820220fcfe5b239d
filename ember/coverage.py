"""How much of PyTorch's public API ember has: ``python -m ember.coverage`` (add ``--missing`` to
list what is absent).

For each namespace (Tensor methods, ``torch.*`` functions, ``torch.nn`` classes,
``nn.functional``, ``torch.optim``, ``torch.utils.data``, ``linalg``, ``special``, ``fft``,
``distributions``...) the script lists the public names of the installed torch (2.13 is the
reference), drops the families ember deliberately leaves out (``EXCLUDED`` below, each with its
reason) and counts how many of the rest ember has. torch is imported only when the script runs,
never by ``import ember``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXCLUDED", "NAMESPACES", "Row", "measure", "markdown", "main"]

# Names left out of every count, as (pattern, reason). A pattern is a regular expression that
# must match the whole name. Private names (leading underscore) are always left out.
EXCLUDED: list[tuple[str, str]] = [
    # Sparse layouts: ember has dense tensors only.
    (
        r"(?!sparse_?$).*sparse.*|.*coalesce.*|(c?col|crow|row)_indices(_copy)?|indices|values"
        r"|dense_dim|to_dense|smm|hspmm|sspaddmm|saddmm|spmm",
        "sparse tensors",
    ),
    # Quantized tensors and their kernels (not `quantile`).
    (
        r"(.*_)?(de)?quantize(_.*)?|.*quantized.*|.*fake_quant.*|q_.*|qint.*|quint.*|int_repr"
        r"|qscheme|fbgemm_.*",
        "quantized tensors",
    ),
    # Named tensors (a prototype in PyTorch).
    (r"names|refine_names|rename_?|align_to|align_as|align_tensors|has_names", "named tensors"),
    # Kernels and flags of one accelerator or CPU library (cuDNN, MIOpen, oneDNN/MKL-DNN, NNPACK,
    # Vulkan, IPU, XLA, HPU, MTIA, MPS), nested tensors and symbolic shapes for compilers.
    (
        r"(.*_)?(cudnn|miopen|mkldnn|mkl|nnpack|xnnpack|vulkan|metal|ipu|xla|hpu|mtia|mps)(_.*)?"
        r"|.*nested.*|Sym.*|sym_.*",
        "device or library specific",
    ),
    # ATen entry points that are internals of other ops (no documentation page in PyTorch), and
    # the copying twins of view ops made for compilers (`expand_copy`...; not `index_copy`).
    (
        r"native_.*|batch_norm_(backward|gather|elemt|stats|update).*|.*_backward(_.*)?"
        r"|fused_.*|.*_jvp|segment_reduce|(?!index_copy$).*_copy",
        "ATen internals",
    ),
    # Storage classes and typed legacy storages.
    (r".*Storage|storage_offset|untyped_storage", "storage objects"),
]

_EXCLUDED_RE = [(re.compile(p), why) for p, why in EXCLUDED]


def excluded(name: str) -> str | None:
    """Why ``name`` is left out of the counts (None if it counts)."""
    if name.startswith("_"):
        return "private"
    for rx, why in _EXCLUDED_RE:
        if rx.fullmatch(name):
            return why
    return None


@dataclass(frozen=True)
class Namespace:
    """One row: where the names live in torch and in ember, and which kind of name counts."""

    title: str
    torch_path: str  # a module path, or "torch.Tensor" for the methods
    ember_path: str
    kind: str = "functions"  # functions | classes | all | members


NAMESPACES: list[Namespace] = [
    Namespace("Tensor methods and attributes", "torch.Tensor", "ember.Tensor", "members"),
    Namespace("`torch.*` functions", "torch", "ember", "functions"),
    Namespace("`torch.nn` classes", "torch.nn", "ember.nn", "classes"),
    Namespace("`torch.nn.functional`", "torch.nn.functional", "ember.nn.functional"),
    Namespace("`torch.nn.init`", "torch.nn.init", "ember.nn.init"),
    Namespace("`torch.optim`", "torch.optim", "ember.optim", "classes"),
    Namespace(
        "`torch.optim.lr_scheduler`",
        "torch.optim.lr_scheduler",
        "ember.optim.lr_scheduler",
        "classes",
    ),
    Namespace("`torch.utils.data`", "torch.utils.data", "ember.utils.data", "all"),
    Namespace("`torch.autograd`", "torch.autograd", "ember.autograd", "all"),
    Namespace("`torch.linalg`", "torch.linalg", "ember.linalg"),
    Namespace("`torch.special`", "torch.special", "ember.special"),
    Namespace("`torch.fft`", "torch.fft", "ember.fft"),
    Namespace("`torch.distributions`", "torch.distributions", "ember.distributions", "all"),
]

# The submodules real programs import (checked as a whole: present or not).
SUBMODULES = [
    "nn",
    "nn.functional",
    "nn.init",
    "nn.utils",
    "nn.parallel",
    "optim",
    "optim.lr_scheduler",
    "utils.data",
    "utils.checkpoint",
    "utils.tensorboard",
    "autograd",
    "linalg",
    "special",
    "fft",
    "distributions",
    "cuda",
    "backends",
    "mps",
    "cpu",
    "accelerator",
    "amp",
    "jit",
    "onnx",
    "testing",
    "random",
    "hub",
    "func",
    "version",
]


@dataclass
class Row:
    """The result for one namespace."""

    title: str
    has: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.has) + len(self.missing)

    @property
    def percent(self) -> float:
        return 100.0 * len(self.has) / self.total if self.total else 100.0


def _import(path: str) -> Any:
    """The object at a dotted path (a module or an attribute of one), None if absent."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        if not _in_package(obj):
            return None
        for attr in parts[cut:]:
            obj = _attr(obj, attr)
            if obj is None:
                return None
        return obj
    return None


def _in_package(module: Any) -> bool:
    """Whether an ember module comes from the ember package being measured (an editable install
    of another checkout can otherwise supply submodules this one lacks)."""
    name = getattr(module, "__name__", "")
    if not name.startswith("ember.") or not getattr(module, "__file__", None):
        return True
    root = os.path.dirname(os.path.abspath(sys.modules["ember"].__file__))
    return os.path.abspath(module.__file__).startswith(root + os.sep)


def _attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name)``, None when absent (a lazy submodule that fails to import counts as
    absent too)."""
    try:
        value = getattr(obj, name)
    except (AttributeError, ImportError):
        return None
    return value if not inspect.ismodule(value) or _in_package(value) else None


def _is_torch_callable(obj: Any) -> bool:
    return callable(obj) and str(getattr(obj, "__module__", "") or "").startswith("torch")


def torch_names(ns: Namespace) -> list[str]:
    """The public names of one torch namespace that count (exclusions removed)."""
    obj = _import(ns.torch_path)
    if ns.kind == "members":
        names = dir(obj)
    elif ns.kind == "all" and hasattr(obj, "__all__"):
        names = list(obj.__all__)
    else:
        names = []
        for name in dir(obj):
            value = getattr(obj, name, None)
            if inspect.ismodule(value) or not _is_torch_callable(value):
                continue
            if (ns.kind == "classes") != inspect.isclass(value):
                continue
            names.append(name)
    return sorted(n for n in set(names) if excluded(n) is None)


def measure(namespaces: list[Namespace] | None = None) -> list[Row]:
    """Count, for each namespace, the torch names ember has and those it lacks."""
    rows = []
    for ns in namespaces or NAMESPACES:
        target = _import(ns.ember_path)
        row = Row(ns.title)
        for name in torch_names(ns):
            present = target is not None and _attr(target, name) is not None
            (row.has if present else row.missing).append(name)
        rows.append(row)
    sub = Row("submodules scripts import")
    for name in SUBMODULES:
        (sub.has if _import("ember." + name) is not None else sub.missing).append(name)
    rows.append(sub)
    return rows


def markdown(rows: list[Row], torch_version: str) -> str:
    """The table as Markdown."""
    lines = [
        f"| namespace (torch {torch_version}) | torch names | ember has | coverage |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r.title} | {r.total} | {len(r.has)} | {r.percent:.0f}% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    import torch  # only here: measuring needs the reference installed

    rows = measure()
    print(markdown(rows, torch.__version__.split("+")[0]))
    if "--missing" in argv:
        for r in rows:
            if r.missing:
                print(f"\n{r.title} — missing ({len(r.missing)}):\n  " + " ".join(r.missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
