"""One handle class for every hook (ember.utils.hooks.RemovableHandle, as torch.utils.hooks):
tensor, post-accumulate, graph-node, module and optimizer hooks; removing one registration of a
function leaves its other registrations in place, as in torch."""

from __future__ import annotations

import pytest
import torch

import ember


def _calls(lib, kind: str) -> list:
    """Register one function twice on a hook point of ``kind``, remove the first handle, run
    backward; return what the function saw (one entry per call)."""
    seen: list = []

    def hook(*args):
        seen.append(len(args))

    x = lib.ones(3, requires_grad=True)
    y = (x * 2).sum()
    target = {"tensor": y, "leaf": x, "node": y.grad_fn}[kind]
    register = {
        "tensor": target.register_hook,
        "leaf": getattr(target, "register_post_accumulate_grad_hook", None),
        "node": target.register_hook if kind == "node" else None,
    }[kind]
    first, second = register(hook), register(hook)
    assert isinstance(first, lib.utils.hooks.RemovableHandle)
    first.remove()
    first.remove()  # a second remove does nothing
    y.backward()
    second.remove()
    return seen


@pytest.mark.parametrize("kind", ["tensor", "leaf", "node"])
def test_removing_one_registration_keeps_the_other(kind):
    assert _calls(ember, kind) == _calls(torch, kind)
    assert len(_calls(ember, kind)) == 1


def test_node_prehook_handle_as_context_manager():
    seen = []
    x = ember.ones(2, requires_grad=True)
    y = (x * 3).sum()
    with y.grad_fn.register_prehook(lambda g: seen.append(1)):
        pass
    y.backward()
    assert seen == []
    assert x.grad.tolist() == [3.0, 3.0]


def test_one_handle_class_everywhere():
    from ember.nn.modules.module import RemovableHandle as from_nn
    from ember.utils.hooks import RemovableHandle

    opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
    handles = [
        ember.nn.Linear(2, 2).register_forward_hook(lambda *a: None),
        opt.register_step_pre_hook(lambda *a: None),
        ember.ones(1, requires_grad=True).register_hook(lambda g: None),
    ]
    assert from_nn is RemovableHandle
    assert all(type(h) is RemovableHandle for h in handles)
