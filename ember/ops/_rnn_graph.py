"""Second derivatives of the fused recurrent layers (``ember.ops.rnn``).

Their backward is hand-written BPTT over in-place NumPy buffers, which ``GraphArray`` cannot
record. Under ``create_graph=True`` the layer instead recomputes its forward from
differentiable ember ops (one matmul and the gate activations per time step) on its saved
inputs, where they sit on the graph, and takes the gradient of that recomputation with
``create_graph=True``. The fast array backward still gives the values (``carrying``), so a
first derivative under create_graph equals the first-order one bit for bit; only its graph
comes from the recomputation. The first-order path is untouched.
"""

from __future__ import annotations

from typing import Any

from ._graph_array import GraphArray, _GraphCtx, _result
from ._util import carrying

__all__ = ["graph_backward", "rnn_steps", "lstm_steps", "gru_steps"]


def graph_backward(cls: type, node: Any, grads: tuple, n_in: int, recompute: Any) -> tuple:
    """create_graph backward of a fused layer: Tensors in, Tensors out.

    ``recompute(*inputs)`` reruns the forward with ember ops on the layer's inputs (the
    ``n_in`` first saved items are the inputs, in call order; None where absent)."""
    fast = cls._run_backward(node, tuple(None if g is None else g._data for g in grads))
    saved = _GraphCtx(node).saved_tensors[-n_in:]
    inputs = [s.t if isinstance(s, GraphArray) else s for s in saved]
    wanted = [
        j
        for j, x in enumerate(inputs)
        if fast[j] is not None and node.next_edges[j] is not None and x is not None
    ]
    if not wanted:
        return tuple(_result(r) for r in fast)
    from .. import autograd  # imports the op modules, which import this one

    with autograd.enable_grad():
        outs = recompute(*inputs)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    graph = autograd.grad(
        [o for o, _ in pairs],
        [inputs[j] for j in wanted],
        grad_outputs=[g for _, g in pairs],
        create_graph=True,
        allow_unused=True,
    )
    res = [None if r is None else _result(r) for r in fast]
    for j, g in zip(wanted, graph):
        if g is not None:
            res[j] = carrying(fast[j], GraphArray(g)).t
    return tuple(res)


def _order(n: int, reverse: bool) -> range:
    return range(n - 1, -1, -1) if reverse else range(n)


def _stack(steps: dict, n: int) -> Any:
    import ember

    return ember.stack([steps[t] for t in range(n)])


def rnn_steps(gi, h0, w_hh, b_hh, relu, reverse) -> tuple:
    """The Elman recurrence with ember ops: ``(output, h_n)``."""
    h, outs = h0, {}
    for t in _order(gi.shape[0], reverse):
        a = gi[t] + h @ w_hh.T
        if b_hh is not None:
            a = a + b_hh
        h = a.relu() if relu else a.tanh()
        outs[t] = h
    return _stack(outs, gi.shape[0]), h


def lstm_steps(gi, h0, c0, w_hh, b_hh, w_hr, reverse) -> tuple:
    """The LSTM recurrence (gates i, f, g, o; optional projection): ``(output, h_n, c_n)``."""
    hs = w_hh.shape[0] // 4
    h, c, outs = h0, c0, {}
    for t in _order(gi.shape[0], reverse):
        a = gi[t] + h @ w_hh.T
        if b_hh is not None:
            a = a + b_hh
        i, f = a[:, :hs].sigmoid(), a[:, hs : 2 * hs].sigmoid()
        g, o = a[:, 2 * hs : 3 * hs].tanh(), a[:, 3 * hs :].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        if w_hr is not None:
            h = h @ w_hr.T
        outs[t] = h
    return _stack(outs, gi.shape[0]), h, c


def gru_steps(gi, h0, w_hh, b_hh, reverse) -> tuple:
    """The GRU recurrence (PyTorch's formulation): ``(output, h_n)``."""
    hs = w_hh.shape[0] // 3
    h, outs = h0, {}
    for t in _order(gi.shape[0], reverse):
        rec = h @ w_hh.T
        if b_hh is not None:
            rec = rec + b_hh
        x = gi[t]
        r = (x[:, :hs] + rec[:, :hs]).sigmoid()
        z = (x[:, hs : 2 * hs] + rec[:, hs : 2 * hs]).sigmoid()
        n = (x[:, 2 * hs :] + r * rec[:, 2 * hs :]).tanh()
        h = (1 - z) * n + z * h
        outs[t] = h
    return _stack(outs, gi.shape[0]), h
