"""ember.cuda / accelerator / mps / cpu / backends / version answer as PyTorch's CPU-only build:
the same values, and the same exception types where PyTorch raises."""

from __future__ import annotations

import warnings

import pytest
import torch

import ember


def _outcome(fn):
    """What a call gives: ``("ok", value)`` or ``("raise", exception type)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn())
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            return ("raise", type(e))


def _same(ember_fn, torch_fn):
    e, t = _outcome(ember_fn), _outcome(torch_fn)
    if t[0] == "ok" and isinstance(t[1], (torch.device, torch.dtype)):
        t = ("ok", str(t[1]))
        e = ("ok", str(e[1]))
    assert e == t, f"ember {e} vs torch {t}"


CUDA_CALLS = [
    ("is_available", ()),
    ("device_count", ()),
    ("manual_seed", (0,)),
    ("manual_seed_all", (3,)),
    ("seed", ()),
    ("seed_all", ()),
    ("initial_seed", ()),
    ("synchronize", ()),
    ("empty_cache", ()),
    ("memory_allocated", ()),
    ("max_memory_allocated", ()),
    ("memory_reserved", ()),
    ("max_memory_reserved", ()),
    ("mem_get_info", ()),
    ("get_device_name", ()),
    ("get_device_name", (0,)),
    ("get_device_properties", (0,)),
    ("get_device_capability", ()),
    ("current_device", ()),
    ("is_initialized", ()),
    ("is_bf16_supported", ()),
    ("init", ()),
    ("get_rng_state", ()),
    ("get_rng_state_all", ()),
    ("get_arch_list", ()),
    ("current_stream", ()),
]


@pytest.mark.parametrize("name,args", CUDA_CALLS, ids=[f"{n}{a}" for n, a in CUDA_CALLS])
def test_cuda_answers_as_torch_cpu_build(name, args):
    _same(lambda: getattr(ember.cuda, name)(*args), lambda: getattr(torch.cuda, name)(*args))


def test_cuda_memory_stats_and_seed_errors():
    assert ember.cuda.memory_stats() == torch.cuda.memory_stats() == {}
    _same(lambda: ember.cuda.manual_seed("a"), lambda: torch.cuda.manual_seed("a"))
    # The calls whose PyTorch CPU build fails on an internal detail raise AssertionError here.
    for name in ("set_device", "reset_peak_memory_stats", "memory_summary"):
        with pytest.raises(AssertionError, match="CUDA"):
            getattr(ember.cuda, name)(0) if name == "set_device" else getattr(ember.cuda, name)()


def test_cuda_device_and_stream_contexts():
    for idx in (-1, 0):

        def run(mod, idx=idx):
            with mod.cuda.device(idx):
                return "entered"

        _same(lambda: run(ember), lambda: run(torch))

    def stream(mod):
        with mod.cuda.stream(None):
            return "entered"

    _same(lambda: stream(ember), lambda: stream(torch))
    _same(lambda: ember.cuda.Stream(), lambda: torch.cuda.Stream())


ACCEL_CALLS = [
    ("is_available", ()),
    ("current_accelerator", ()),
    ("device_count", ()),
    ("current_device_index", ()),
    ("set_device_index", (0,)),
    ("synchronize", ()),
    ("current_stream", ()),
    ("empty_cache", ()),
    ("memory_allocated", ()),
]


@pytest.mark.parametrize("name,args", ACCEL_CALLS, ids=[f"{n}{a}" for n, a in ACCEL_CALLS])
def test_accelerator_answers_as_torch(name, args):
    _same(
        lambda: getattr(ember.accelerator, name)(*args),
        lambda: getattr(torch.accelerator, name)(*args),
    )


MPS_CALLS = [
    ("is_available", ()),
    ("device_count", ()),
    ("manual_seed", (1,)),
    ("synchronize", ()),
    ("empty_cache", ()),
    ("current_allocated_memory", ()),
    ("driver_allocated_memory", ()),
    ("seed", ()),
    ("get_rng_state", ()),
]


@pytest.mark.parametrize("name,args", MPS_CALLS, ids=[f"{n}{a}" for n, a in MPS_CALLS])
def test_mps_answers_as_torch(name, args):
    _same(lambda: getattr(ember.mps, name)(*args), lambda: getattr(torch.mps, name)(*args))


XPU_CALLS = [
    ("is_available", ()),
    ("device_count", ()),
    ("manual_seed", (0,)),
    ("manual_seed_all", (0,)),
    ("synchronize", ()),
    ("empty_cache", ()),
    ("memory_allocated", ()),
    ("max_memory_allocated", ()),
    ("get_device_name", ()),
    ("current_device", ()),
    ("is_initialized", ()),
    ("seed", ()),
    ("initial_seed", ()),
    ("get_rng_state", ()),
    ("is_bf16_supported", ()),
    ("set_device", (0,)),
]


@pytest.mark.parametrize("name,args", XPU_CALLS, ids=[f"{n}{a}" for n, a in XPU_CALLS])
def test_xpu_answers_as_torch(name, args):
    _same(lambda: getattr(ember.xpu, name)(*args), lambda: getattr(torch.xpu, name)(*args))


def test_cpu_module_as_torch():
    for name in ("is_available", "device_count", "current_device", "synchronize"):
        _same(lambda n=name: getattr(ember.cpu, n)(), lambda n=name: getattr(torch.cpu, n)())
    ember.cpu.set_device("cpu")
    with ember.cpu.stream(ember.cpu.current_stream()):
        pass
    assert ember.get_device_module() is ember.cpu
    assert ember.get_device_module("cuda") is ember.cuda


BACKEND_VALUES = [
    "mps.is_available()",
    "mps.is_built()",
    "cudnn.is_available()",
    "cudnn.enabled",
    "cudnn.benchmark",
    "cudnn.deterministic",
    "cudnn.allow_tf32",
    "cudnn.version()",
    "cuda.is_built()",
    "cuda.matmul.allow_tf32",
    "cuda.matmul.allow_fp16_reduced_precision_reduction",
    "cuda.matmul.allow_bf16_reduced_precision_reduction",
    "cuda.flash_sdp_enabled()",
    "cuda.math_sdp_enabled()",
    "opt_einsum.is_available()",
    "opt_einsum.enabled",
    "opt_einsum.strategy",
]


@pytest.mark.parametrize("expr", BACKEND_VALUES)
def test_backends_values_as_torch(expr):
    _same(lambda: eval("ember.backends." + expr), lambda: eval("torch.backends." + expr))


def test_backends_flags_keep_what_is_set():
    import ember.backends.cudnn as cudnn  # the import form scripts use

    cudnn.benchmark = True
    try:
        assert ember.backends.cudnn.benchmark is True
        with cudnn.flags(enabled=False):
            assert cudnn.enabled is False
        assert cudnn.enabled is True
    finally:
        cudnn.benchmark = False
    with pytest.raises(AttributeError, match="Unknown attribute"):
        ember.backends.cuda.matmul.foo = 1


def test_matmul_precision_and_tf32_flag_follow_each_other_as_torch():
    for mod in (ember, torch):
        assert mod.get_float32_matmul_precision() == "highest"
        mod.backends.cuda.matmul.allow_tf32 = True
        assert mod.get_float32_matmul_precision() == "high"
        mod.set_float32_matmul_precision("medium")
        assert mod.backends.cuda.matmul.allow_tf32 is True
        mod.set_float32_matmul_precision("highest")
        assert mod.backends.cuda.matmul.allow_tf32 is False
        with pytest.warns(UserWarning, match="is not one of"):
            mod.set_float32_matmul_precision("bad")
        assert mod.get_float32_matmul_precision() == "highest"


def test_deterministic_switches_as_torch():
    for mod in (ember, torch):
        try:
            assert mod.are_deterministic_algorithms_enabled() is False
            mod.use_deterministic_algorithms(True, warn_only=True)
            assert mod.are_deterministic_algorithms_enabled() is True
            assert mod.is_deterministic_algorithms_warn_only_enabled() is True
            assert mod.get_deterministic_debug_mode() == 1
            mod.set_deterministic_debug_mode("error")
            assert mod.get_deterministic_debug_mode() == 2
        finally:
            mod.use_deterministic_algorithms(False)
    _same(
        lambda: ember.use_deterministic_algorithms(1), lambda: torch.use_deterministic_algorithms(1)
    )


def test_default_device():
    assert ember.get_default_device() == ember.device("cpu")
    ember.set_default_device("cpu")
    assert str(ember.get_default_device()) == "cpu"
    ember.set_default_device(None)
    assert str(ember.get_default_device()) == str(torch.get_default_device()) == "cpu"
    with pytest.raises(RuntimeError, match="cuda"):
        ember.set_default_device("cuda")  # ember has no such device (documented difference)
    _same(lambda: ember.set_default_device(5), lambda: torch.set_default_device(5))


def test_version():
    assert ember.version.__version__ == ember.__version__
    for name in ("cuda", "hip", "debug"):
        assert getattr(ember.version, name) == getattr(torch.version, name)


def test_tensor_device_flags_as_torch():
    e, t = ember.zeros(2), torch.zeros(2)
    names = "is_cuda is_xpu is_mps is_meta is_cpu is_sparse is_sparse_csr is_quantized "
    names += "is_mkldnn is_ipu is_mtia is_maia is_vulkan is_nested"
    for name in names.split():
        assert getattr(e, name) is getattr(t, name), name


def test_hasattr_false_for_missing_names():
    for name in ("no_such_name", "linalg_nope", "xpu_nope"):
        assert hasattr(ember, name) is False
    with pytest.raises(AttributeError):
        ember.no_such_name  # noqa: B018
    for name in ("cuda", "backends", "accelerator", "mps", "cpu", "amp", "jit", "version"):
        assert hasattr(ember, name) and hasattr(torch, name), name


def test_absent_lazy_subpackage_is_attribute_error(monkeypatch):
    # A subpackage ember.__getattr__ lists but that is not there reads as a missing attribute.
    import importlib

    real = importlib.import_module

    def fake(name, package=None):
        if name == ".linalg":
            raise ModuleNotFoundError("No module named 'ember.linalg'", name="ember.linalg")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", fake)
    monkeypatch.delattr(ember, "linalg", raising=False)
    assert hasattr(ember, "linalg") is False
