"""ember.compiler: PyTorch's compiler namespace as it behaves when nothing is compiled."""

import pytest
import torch

import ember


def _double(x):
    return x * 2


@pytest.mark.parametrize(
    "name", ["allow_in_graph", "disable", "assume_constant_result", "nested_compile_region"]
)
def test_decorators_keep_the_function_working(name):
    wrapped = getattr(ember.compiler, name)(_double)
    assert (
        wrapped(ember.ones(2)).tolist()
        == getattr(torch.compiler, name)(_double)(torch.ones(2)).tolist()
    )


def test_bare_decorator_forms():
    assert ember.compiler.disable()(_double) is _double
    assert ember.compiler.nested_compile_region()(_double) is _double
    assert ember.compiler.substitute_in_graph(_double)(abs) is abs


def test_state_queries_as_torch_in_eager_mode():
    for name in ("is_compiling", "is_dynamo_compiling", "is_exporting"):
        assert getattr(ember.compiler, name)() is getattr(torch.compiler, name)() is False
    assert ember.compiler.reset() is None
    assert ember.compiler.list_backends() == []
    assert ember.compiler.compile is ember.compile


def test_set_stance_as_context_manager_and_decorator():
    with ember.compiler.set_stance("force_eager"):
        assert _double(3) == 6
    assert ember.compiler.set_stance("eager_on_recompile")(_double)(4) == 8


def test_private_c_hooks_libraries_call():
    # torchmetrics & co. call these at construction; both are no-ops answering as torch's
    assert ember._C._log_api_usage_once("x.y") is torch._C._log_api_usage_once("x.y") is None
    assert ember._C._get_tracing_state() is torch._C._get_tracing_state() is None
