"""When a leaf's hooks run during the backward walk, against torch: as soon as the last of the
leaf's uses has delivered its gradient (torch's AccumulateGrad node), before later nodes run."""

from __future__ import annotations

import pytest
import torch

import ember


def _marker(m, log):
    """A Function that logs when its backward runs: a clock inside the walk."""

    class Mark(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, name):
            ctx.name = name
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            log.append("bw " + ctx.name)
            return g, None

    return Mark.apply


def _leaves(m, log, n=3):
    ws = [m.full((3,), float(i + 1), requires_grad=True) for i in range(n)]
    for i, w in enumerate(ws):
        w.register_post_accumulate_grad_hook(
            lambda p, i=i: log.append(f"post w{i} {p.grad.tolist()}")
        )
    return ws


def _three_layers(m, create_graph=False):
    log = []
    mark = _marker(m, log)
    w0, w1, w2 = _leaves(m, log)
    w1.register_hook(lambda g: (log.append(f"hook w1 {g.tolist()}"), g * 10)[1])
    h = mark(m.ones(3) * w0, "a")  # used first: its gradient is final last
    h = mark(h * w1 + w1, "b")  # used twice: one hand-over, on the sum
    h = mark(h * w2, "c")
    h.sum().backward(create_graph=create_graph)
    return log


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.parametrize("create_graph", [False, True])
def test_post_hooks_fire_before_earlier_layers_run_as_torch(create_graph):
    got = _three_layers(ember, create_graph)
    assert got == _three_layers(torch, create_graph)
    assert got.index("post w2 [4.0, 4.0, 4.0]") < got.index("bw b")  # during the walk
    assert got.index("post w1 [60.0, 60.0, 60.0]") < got.index("bw a")


def _used_early_and_late(m):
    """A leaf used in the first and in the last layer waits for its last use."""
    log = []
    mark = _marker(m, log)
    (w,) = _leaves(m, log, 1)
    h = mark(m.ones(3) * w, "a")
    h = mark(h.tanh(), "b")
    h = mark(h * w, "c")
    h.sum().backward()
    return log


def test_leaf_used_in_first_and_last_layer_waits_for_both_as_torch():
    got = _used_early_and_late(ember)
    assert got == _used_early_and_late(torch)
    assert [x for x in got if x.startswith("post")] == [got[-1]]


def _none_from_a_use(m):
    """A use that delivers no gradient (None) still counts: the hook fires after it."""
    log = []
    mark = _marker(m, log)
    w0, w1 = _leaves(m, log, 2)

    class Drop(m.autograd.Function):
        @staticmethod
        def forward(ctx, w, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            log.append("bw drop")
            return None, g * 2

    h = mark(m.ones(3) * w1, "a")
    h = Drop.apply(w0, h)
    h = mark(h * w0, "c")
    h.sum().backward()
    return log, w0.grad.tolist(), w1.grad.tolist()


def test_use_delivering_none_counts_as_torch():
    got = _none_from_a_use(ember)
    assert got == _none_from_a_use(torch)
    log = got[0]
    assert log.index("bw drop") < log.index("post w0 [4.0, 4.0, 4.0]") < log.index("bw a")


def _skipped_branch(m):
    """A node that receives no gradient at all (an unused output of a split) is skipped; its
    edge into the leaf still counts."""
    log = []
    mark = _marker(m, log)
    w0, w1 = _leaves(m, log, 2)
    h = mark(m.ones(4) * w1.repeat(2)[:4], "a")
    first, second = (h * m.cat([w0, w0])[:4]).split(2)
    mark(first, "c").sum().backward()
    return log, w0.grad.tolist(), w1.grad.tolist()


def test_skipped_branch_counts_as_torch():
    assert _skipped_branch(ember) == _skipped_branch(torch)


def _tensor_hooks_chain_and_retain_grad(m):
    log = []
    mark = _marker(m, log)
    (w,) = _leaves(m, log, 1)
    w.register_hook(lambda g: g + 1)
    w.register_hook(lambda g: (log.append(f"hook2 {g.tolist()}"), g * 2)[1])
    w.retain_grad()  # a no-op on a leaf
    y = mark(w * 3, "a")
    y.retain_grad()
    y.register_hook(lambda g: log.append(f"hook y {g.tolist()}"))
    z = mark(y * w, "b")
    z.sum().backward(retain_graph=True)
    z = mark(y * w, "b2")  # accumulates into .grad: the post hook sees the total
    z.sum().backward()
    return log, w.grad.tolist(), y.grad.tolist()


def test_tensor_hooks_modify_then_post_hook_sees_total_as_torch():
    assert _tensor_hooks_chain_and_retain_grad(ember) == _tensor_hooks_chain_and_retain_grad(torch)


def _grad_capture(m):
    """autograd.grad: the tensor hooks of an input leaf run once on its summed gradient, when
    its last use delivers; no post-accumulate hook, .grad untouched."""
    log = []
    mark = _marker(m, log)
    w0, w1 = _leaves(m, log, 2)
    w1.register_hook(lambda g: (log.append(f"hook w1 {g.tolist()}"), g * 10)[1])
    h = mark(m.ones(3) * w0, "a")
    h = mark(h * w1 + w1, "b")
    (g0, g1) = m.autograd.grad(h.sum(), [w0, w1])
    return log, g0.tolist(), g1.tolist(), w0.grad, w1.grad


def test_autograd_grad_capture_as_torch():
    assert _grad_capture(ember) == _grad_capture(torch)


def _inputs_subset_and_leaf_root(m):
    log = []
    mark = _marker(m, log)
    w0, w1 = _leaves(m, log, 2)
    y = mark(w0 * w1, "a")
    y.sum().backward(inputs=[w1])  # w0 is not accumulated: no hook
    z = mark(w0 * 2, "b")
    m.autograd.backward([z.sum(), w0], [m.tensor(1.0), m.ones(3)])  # w0 is a root and used
    return log, w0.grad.tolist(), w1.grad.tolist()


def test_inputs_subset_and_leaf_root_as_torch():
    assert _inputs_subset_and_leaf_root(ember) == _inputs_subset_and_leaf_root(torch)


def _node_hook(m, n):
    a, b = m.ones(2, requires_grad=True), m.ones(2, requires_grad=True)
    y = (a * b).sum()
    node = y.grad_fn.next_functions[0][0]
    node.register_hook(lambda gi, go: (gi[0],) * n if n else gi[0])
    try:
        y.backward()
    except (RuntimeError, TypeError) as e:
        return type(e), str(e)
    return None


@pytest.mark.parametrize("n", [0, 1, 3])
def test_node_hook_returning_wrong_number_of_gradients_raises_as_torch(n):
    got, want = _node_hook(ember, n), _node_hook(torch, n)
    assert want is not None and got == want


def _node_prehook(m):
    a, b = m.ones(2, requires_grad=True), m.ones(2, requires_grad=True)
    y = (a * b).sum()
    y.grad_fn.next_functions[0][0].register_prehook(lambda go: (go[0], go[0]))
    with pytest.raises(RuntimeError) as e:
        y.backward()
    return str(e.value)


def test_node_prehook_returning_wrong_number_raises_as_torch():
    assert _node_prehook(ember) == _node_prehook(torch)
