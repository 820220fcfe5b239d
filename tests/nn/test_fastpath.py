"""Sequential's inference fast path gives exactly what calling each layer in turn gives.

The reference is the normal path: the same layers called one by one (``m(x)`` of each child),
which never takes the fast path. Results are compared bit for bit, along with requires_grad,
grad_fn, the input (an in-place ReLU first changes it on both paths), hook calls and errors;
PyTorch (weights copied) confirms the values.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import ember
from ember import nn


def _layer(lib, kind: str, width: int, out: int, bias: bool):
    """A layer of ``kind`` on a last dimension of ``width`` (a Linear maps it to ``out``)."""
    n = lib.nn
    layers = {
        "linear": lambda: n.Linear(width, out, bias=bias),
        "relu": lambda: n.ReLU(),
        "relu_": lambda: n.ReLU(inplace=True),
        "tanh": lambda: n.Tanh(),
        "sigmoid": lambda: n.Sigmoid(),
        "identity": lambda: n.Identity(),
        "dropout": lambda: n.Dropout(0.3),
        "gelu": lambda: n.GELU(),
        "layernorm": lambda: n.LayerNorm(width),
    }
    return layers[kind]()


KINDS = ["linear", "relu", "relu_", "tanh", "sigmoid", "identity", "dropout", "gelu", "layernorm"]


def _chain(seed: int):
    """The same random chain in ember and torch (torch's weights copied from ember's)."""
    rng = random.Random(seed)
    width = rng.choice([4, 16])
    plan, w = [], width
    for _ in range(rng.randint(1, 7)):
        kind = rng.choice(KINDS)
        out = rng.choice([1, 3, 8, 33]) if kind == "linear" else w
        plan.append((kind, w, out, rng.random() < 0.8))
        w = out
    ember.manual_seed(seed)
    seq_e = nn.Sequential(*[_layer(ember, *p) for p in plan])
    seq_t = torch.nn.Sequential(*[_layer(torch, *p) for p in plan])
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in seq_e.state_dict().items()}
    seq_t.load_state_dict(state)
    return seq_e, seq_t, width


def _by_hand(seq, x):
    for m in seq:
        x = m(x)
    return x


def _run(seq, x, grad: bool, by_hand: bool, dropout_seed: int = 5):
    ember.manual_seed(dropout_seed)
    with ember.set_grad_enabled(grad):
        return _by_hand(seq, x) if by_hand else seq(x)


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("grad", [False, True])
def test_same_as_calling_each_layer(seed, mode, grad):
    seq, seq_t, width = _chain(seed)
    getattr(seq, mode)()
    getattr(seq_t, mode)()
    if seed % 3 == 0:
        seq.requires_grad_(False)
    shape = [(width,), (1, width), (5, width), (2, 3, width)][seed % 4]
    dtype = np.float64 if seed % 5 == 0 else np.float32
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if dtype == np.float64:
        seq.double()
        seq_t.double()
    x1, x2 = ember.tensor(data), ember.tensor(data)
    fast = _run(seq, x1, grad, by_hand=False)
    slow = _run(seq, x2, grad, by_hand=True)
    assert type(fast) is type(slow)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    assert fast.stride() == slow.stride() and fast.is_contiguous()
    np.testing.assert_array_equal(fast.detach().numpy(), slow.detach().numpy())
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())  # an in-place ReLU first: both changed
    assert fast.requires_grad == slow.requires_grad
    assert type(fast.grad_fn) is type(slow.grad_fn)
    if mode == "eval" or not any(isinstance(m, nn.Dropout) for m in seq):
        with torch.set_grad_enabled(grad):
            want = seq_t(torch.from_numpy(data.copy()))
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(fast.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("where", ["child_pre", "child_post", "global_pre", "global_post"])
def test_hooks_run_as_on_the_normal_path(where):
    seq = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2)).eval()
    calls = []

    def pre(m, args):
        calls.append(("pre", type(m).__name__))
        return (args[0] * 2,)

    def post(m, args, out):
        calls.append(("post", type(m).__name__))
        return out + 1

    if where == "child_pre":
        h = seq[1].register_forward_pre_hook(pre)
    elif where == "child_post":
        h = seq[2].register_forward_hook(post)
    elif where == "global_pre":
        h = nn.modules.module.register_module_forward_pre_hook(pre)
    else:
        h = nn.modules.module.register_module_forward_hook(post)
    x = ember.randn(3, 6)
    try:
        with ember.no_grad():
            fast = seq(x)
            n_fast = len(calls)
            # By hand, the Sequential's own (global) hook is applied by hand too.
            x_in = x * 2 if where == "global_pre" else x
            slow = _by_hand(seq, x_in)
            slow = slow + 1 if where == "global_post" else slow
    finally:
        h.remove()
    fast_calls, slow_calls = calls[:n_fast], calls[n_fast:]
    if where == "global_pre":
        slow_calls = [("pre", "Sequential")] + slow_calls
    elif where == "global_post":
        slow_calls = slow_calls + [("post", "Sequential")]
    assert fast_calls == slow_calls and fast_calls
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())


def test_replaced_forward_and_subclass_are_called():
    class Double(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    lin = nn.Linear(3, 3)
    lin.forward = lambda x: x * 0  # set on the instance: must be the one called
    seq = nn.Sequential(Double(3, 3), nn.ReLU(), lin)
    x = ember.randn(2, 3)
    with ember.no_grad():
        out = seq(x)
        d = seq[0]
        np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3), np.float32))
        np.testing.assert_array_equal(
            _by_hand(seq[:2], x).numpy(), np.maximum((x @ d.weight.t() + d.bias).numpy() * 2, 0)
        )


def test_identity_returns_the_input_object_and_empty_chain():
    x = ember.randn(2, 3)
    with ember.no_grad():
        assert nn.Sequential(nn.Identity(), nn.Dropout().eval())(x) is x
        assert nn.Sequential()(x) is x


def test_output_does_not_alias_input_or_weights():
    seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Identity()).eval()
    x = ember.randn(1, 4)
    before = [p.detach().numpy().copy() for p in seq.parameters()]
    with ember.no_grad():
        out = seq(x)
        out.zero_()
    for p, b in zip(seq.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    with ember.no_grad():
        assert (seq(x) - _by_hand(seq, x)).abs().max().item() == 0


@pytest.mark.parametrize(
    "layers, data",
    [
        (lambda: [nn.Linear(4, 2)], np.ones((2, 3), np.float32)),
        (lambda: [nn.Linear(4, 2)], np.ones((2, 4), np.float64)),
        (lambda: [nn.Linear(4, 2)], np.float32(1.0)),
        (lambda: [nn.ReLU(), nn.Linear(4, 2)], np.ones((2, 4), np.bool_)),
    ],
)
def test_errors_are_those_of_the_normal_path(layers, data):
    seq = nn.Sequential(*layers())
    with ember.no_grad():
        with pytest.raises(Exception) as fast:
            seq(ember.tensor(data))
        with pytest.raises(Exception) as slow:
            _by_hand(seq, ember.tensor(data))
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


def test_big_activations_chunked_in_place():
    # Outputs above the scratch-pool and thread-split sizes take the pooled, chunked kernels.
    seq = nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.Tanh()).eval()
    x = ember.randn(256, 64)
    with ember.no_grad():
        fast = seq(x)
        slow = _by_hand(seq, x)
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())


def test_fast_path_taken_only_without_hooks_and_graph(monkeypatch):
    # Linear.forward made to fail: only the normal path (hooks, or a graph) calls it.
    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()

    def fail(self, x):
        raise AssertionError("normal path")

    monkeypatch.setattr(nn.Linear, "forward", fail)
    x = ember.randn(2, 4)
    with ember.no_grad():
        seq(x)  # the fast path
        h = seq[2].register_forward_hook(lambda m, a, o: None)
        with pytest.raises(AssertionError, match="normal path"):
            seq(x)
        h.remove()
    with pytest.raises(AssertionError, match="normal path"):
        seq(x)  # grad mode on and parameters requiring grad: a graph is recorded
    seq.requires_grad_(False)
    seq(x)  # grad mode on, but nothing requires grad: no graph, the fast path


@pytest.mark.parametrize("shape", [(1, 5), (5,), (3, 5)])
def test_signed_zeros_nan_and_inf_as_on_the_normal_path(shape):
    # One-row outputs take 1-D views for the bias and ReLU: NaN, infinities and the signs of
    # zeros must come out as from the normal path and PyTorch (ReLU keeps NaN).
    seq = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU()).eval()
    seq_t = torch.nn.Sequential(
        torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 6), torch.nn.ReLU()
    ).eval()
    with ember.no_grad():
        seq[2].weight.zero_()
        seq[2].weight[1, 0] = float("nan")
        seq[2].weight[2, 1] = float("inf")
        seq[2].bias.copy_(ember.tensor([-0.0, 0.0, -1.0, 2.0, -0.0, -3.0]))
    seq_t.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in seq.state_dict().items()}
    )
    x = ember.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    with ember.no_grad():
        fast = seq(x).numpy()
        slow = _by_hand(seq, x).numpy()
    with torch.no_grad():
        want = seq_t(torch.from_numpy(x.numpy().copy())).numpy()
    assert fast.shape == slow.shape == want.shape
    np.testing.assert_array_equal(fast.view(np.int32), slow.view(np.int32))  # bit for bit
    np.testing.assert_array_equal(np.signbit(fast), np.signbit(want))
    np.testing.assert_array_equal(fast, want)


def test_dropout_and_hooks_read_from_the_instance_dict():
    # The fast path reads each layer's state from its instance dict: changes made there through
    # attributes (eval/train, p, a hook added by hand) are seen at once.
    seq = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    x = ember.randn(1, 4)
    with ember.no_grad():
        seq.eval()
        ref = _by_hand(seq, x)
        np.testing.assert_array_equal(seq(x).numpy(), ref.numpy())
        seq.train()
        ember.manual_seed(3)
        fast = seq(x)
        ember.manual_seed(3)
        np.testing.assert_array_equal(fast.numpy(), _by_hand(seq, x).numpy())
        seq.eval()
        seq[1].p = 1.0
        np.testing.assert_array_equal(seq(x).numpy(), ref.numpy())  # eval: p is not used
        calls = []
        seq[0]._forward_hooks[99] = lambda m, a, o: calls.append(1)
        seq(x)
        assert calls == [1]


def test_uninitialised_module_error_as_torch():
    # A Module subclass whose __init__ skips Module.__init__: the call fails as in PyTorch.
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                pass

            def forward(self, x):
                return x

        return M()

    with pytest.raises(AttributeError) as want:
        make(torch)(1)
    with pytest.raises(AttributeError) as got:
        make(ember)(1)
    assert str(got.value) == str(want.value)


def test_one_row_through_a_layer_big_enough_to_split():
    # 4096 x 4096 multiply-adds per row: the normal path's GEMM is cut into per-core products
    # (ops/_parallel.py, MIN_GEMM); the fast path runs that same GEMM, not its own matmul.
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        seq = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU()).eval()
        x = ember.randn(1, 4096)
        with ember.no_grad():
            fast, slow = seq(x), _by_hand(seq, x)
    finally:
        ember.set_num_threads(before)
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
