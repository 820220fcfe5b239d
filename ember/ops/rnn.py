"""Fused recurrent layers: one graph node runs a whole sequence of one RNN/LSTM/GRU direction.

The caller computes the input projection of every time step in one GEMM
(``gi = x @ W_ih.T + b_ih``, shape ``(T, B, G)``) and hands it over (``LSTMInputLayer``, which
``nn.LSTM`` runs, makes it itself, chunk by chunk beside its loop); the node then loops over
time with one ``(B, P) @ (P, G)`` product per step and writes activations in place. Backward is
hand-written backpropagation through time: the per-step loop computes the gate gradients into one
``(T, B, G)`` array, and the weight gradients are GEMMs over many steps at once (never one small
product per step): chunk by chunk on ember's op pool while the loop goes on (``_rnn_grads``).
Gate order follows PyTorch: ``i, f, g, o`` for LSTM, ``r, z, n`` for GRU.

Every layer takes ``reverse``: the backward direction of a bidirectional layer runs from the last
step to the first but stores its outputs in the original time order, so no flips are needed.
"""

from __future__ import annotations

import numpy as np

from .._scratch import scratch
from . import _rnn_graph as G
from ._parallel import single_threaded_blas
from ._rnn_grads import StepGrads, StepInputs
from ._util import Primitive

__all__ = ["RNNLayer", "LSTMLayer", "LSTMInputLayer", "GRULayer"]


def _sigmoid_(a: np.ndarray) -> None:
    """In-place logistic function as ``0.5 + 0.5 * tanh(x / 2)``: one transcendental, and
    no overflow for large ``|x|`` (``1 / (1 + exp(-x))`` overflows in float32)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


# _WT_NOTE: the recurrent weight is transposed into a C-contiguous copy once per sequence: the
# per-step product ``(B, P) @ (P, G)`` with a transposed (Fortran-order) view ran 1.5x slower in
# OpenBLAS (32x128 @ 128x512: 74 us vs 50 us), and it runs once per time step.


# _POOL_NOTE: the per-sequence arrays (gate activations, cell states, outputs, gate gradients)
# are megabytes each; taking them from the scratch pool instead of fresh allocations saves the
# page faults of every step (measured: LSTM(64, 128, 2 layers), T=50, batch 32, ~5,000 minor
# faults per training step before, and a step ~1.5x slower).


def _steps(n: int, reverse: bool) -> range:
    return range(n - 1, -1, -1) if reverse else range(n)


def _prev(seq: np.ndarray, first: np.ndarray, t: int, reverse: bool) -> np.ndarray:
    """The state before step ``t`` (``first`` at the first step processed)."""
    if reverse:
        return first if t == seq.shape[0] - 1 else seq[t + 1]
    return first if t == 0 else seq[t - 1]


class RNNLayer(Primitive):
    """Elman RNN over a sequence: ``h_t = act(gi[t] + h_{t-1} @ W_hh.T + b_hh)``.

    ``forward(gi (T,B,H), h0 (B,H), w_hh (H,H), b_hh (H,) | None, relu, reverse)`` returns
    ``(output (T,B,H), h_n (B,H))``.
    """

    twice_differentiable = True  # by recomputation, see _rnn_graph

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, relu, reverse):
        out = scratch.get(gi.shape, gi.dtype)  # see _POOL_NOTE
        pre = gi if b_hh is None else gi + b_hh
        w_t = np.ascontiguousarray(w_hh.T)  # see _WT_NOTE
        h = h0
        for t in _steps(gi.shape[0], reverse):
            a = out[t]
            np.matmul(h, w_t, out=a)
            a += pre[t]
            if relu:
                np.maximum(a, 0, out=a)
            else:
                np.tanh(a, out=a)
            h = a
        # The inputs come last: only the create_graph backward reads them (see _rnn_graph).
        ctx.save_for_backward(out, h0, w_hh, gi, h0, w_hh, b_hh)
        ctx.meta = (relu, reverse, b_hh is not None)
        return out, h.copy()

    @staticmethod
    def backward(ctx, g_out, g_hn):
        out, h0, w_hh = ctx.saved_tensors[:3]
        relu, reverse, has_bias = ctx.meta
        da = scratch.get(out.shape, out.dtype)
        dh = g_hn.copy()
        nig = ctx.needs_input_grad
        sums = StepGrads(da, out, h0, reverse, nig[2], has_bias and nig[3])
        with single_threaded_blas():  # the pool's chunks run beside the loop (see _rnn_grads)
            for t in _steps(out.shape[0], not reverse):
                dh += g_out[t]
                d = da[t]
                if relu:
                    np.multiply(dh, out[t] > 0, out=d)
                else:
                    np.multiply(out[t], out[t], out=d)
                    np.subtract(1, d, out=d)
                    d *= dh
                dh = d @ w_hh
                sums.done(t)
            dw, db = sums.finish()[:2]
        return da, dh, dw, db, None, None

    @classmethod
    def _run_backward_graph(cls, ctx, grads):
        relu, reverse, _ = ctx.meta
        return G.graph_backward(cls, ctx, grads, 4, lambda *a: G.rnn_steps(*a, relu, reverse))


class LSTMLayer(Primitive):
    """LSTM over a sequence, with PyTorch's optional projection ``h_t = (o * tanh(c_t)) @ W_hr.T``.

    ``forward(gi (T,B,4H), h0 (B,P), c0 (B,H), w_hh (4H,P), b_hh (4H,) | None,
    w_hr (P,H) | None, reverse)`` returns ``(output (T,B,P), h_n (B,P), c_n (B,H))`` where ``P`` is
    the projection size (``H`` without projection).
    """

    twice_differentiable = True  # by recomputation, see _rnn_graph

    @staticmethod
    def forward(ctx, gi, h0, c0, w_hh, b_hh, w_hr, reverse):
        # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5: halving the i, f, o pre-activations up front
        # (and the matching rows of W_hh; exact in binary floating point) makes every gate one
        # tanh over the whole row followed by one per-column affine map: 4 array ops per step.
        half = _lstm_gate_rows(gi.shape[-1] // 4, gi.dtype)[0]
        gates = np.multiply(gi, half, out=scratch.get(gi.shape, gi.dtype))
        if b_hh is not None:  # (nn.LSTM folds b_hh into the input projection's bias)
            gates += b_hh * half
        res, arrays = _lstm_run(gates, h0, c0, w_hh, w_hr, reverse)
        # The inputs come last: only the create_graph backward reads them (see _rnn_graph).
        ctx.save_for_backward(*arrays, gi, h0, c0, w_hh, b_hh, w_hr)
        ctx.meta = (reverse, b_hh is not None)
        return res

    @staticmethod
    def backward(ctx, g_out, g_hn, g_cn):
        reverse, has_bias = ctx.meta
        nig = ctx.needs_input_grad
        saved = ctx.saved_tensors

        def sums(dgates, out, h0):
            return StepGrads(dgates, out, h0, reverse, nig[3], has_bias and nig[4])

        dgates, dh, dc, res, dw_hr = _lstm_bptt(saved, reverse, g_out, g_hn, g_cn, sums, nig[5])
        return dgates, dh, dc, res[0], res[1], dw_hr, None

    @classmethod
    def _run_backward_graph(cls, ctx, grads):
        reverse = ctx.meta[0]
        return G.graph_backward(cls, ctx, grads, 6, lambda *a: G.lstm_steps(*a, reverse))


class LSTMInputLayer(Primitive):
    """:class:`LSTMLayer` with its input projection in the same node (what ``nn.LSTM`` runs):
    ``forward(x (T,B,I), w_ih (4H,I), b (4H,) | None, h0, c0, w_hh, w_hr | None, reverse)``,
    where ``b`` is the sum of both biases. Its backward computes the gradients of ``x`` and
    ``w_ih`` chunk by chunk beside the time loop with the recurrent ones (``_rnn_grads``)
    instead of after it: on two cores the loop hides these GEMMs."""

    twice_differentiable = True  # by recomputation, see _rnn_graph

    @staticmethod
    def forward(ctx, x, w_ih, b, h0, c0, w_hh, w_hr, reverse):
        xc = np.ascontiguousarray(x)  # (a batch_first input is a transposed view)
        g4 = w_ih.shape[0]
        half = _lstm_gate_rows(g4 // 4, x.dtype)[0]  # (see LSTMLayer.forward)
        w_t = np.ascontiguousarray((w_ih * half[:, None]).T)  # see _WT_NOTE
        gates = scratch.get(x.shape[:2] + (g4,), x.dtype)
        inputs = StepInputs(gates, xc, w_t, None if b is None else b * half, reverse)
        res, arrays = _lstm_run(gates, h0, c0, w_hh, w_hr, reverse, inputs)
        # The inputs come last: only the create_graph backward reads them (see _rnn_graph).
        ctx.save_for_backward(*arrays, xc, x, w_ih, b, h0, c0, w_hh, w_hr)
        ctx.meta = (reverse, b is not None)
        return res

    @staticmethod
    def backward(ctx, g_out, g_hn, g_cn):
        reverse, has_bias = ctx.meta
        nig = ctx.needs_input_grad
        saved = ctx.saved_tensors
        xc, w_ih = saved[9], saved[11]
        inputs = (xc if nig[1] else None, w_ih if nig[0] else None)

        def sums(dgates, out, h0):
            return StepGrads(dgates, out, h0, reverse, nig[5], has_bias and nig[2], inputs)

        _, dh, dc, res, dw_hr = _lstm_bptt(saved, reverse, g_out, g_hn, g_cn, sums, nig[6])
        dw_hh, db, dx, dw_ih = res
        return dx, dw_ih, db, dh, dc, dw_hh, dw_hr, None

    @classmethod
    def _run_backward_graph(cls, ctx, grads):
        reverse = ctx.meta[0]

        def recompute(x, w_ih, b, h0, c0, w_hh, w_hr):
            gi = x @ w_ih.T if b is None else x @ w_ih.T + b
            return G.lstm_steps(gi, h0, c0, w_hh, None, w_hr, reverse)

        return G.graph_backward(cls, ctx, grads, 7, recompute)


def _lstm_run(gates, h0, c0, w_hh, w_hr, reverse, inputs=None) -> tuple:
    """The LSTM forward over a sequence: ``((output, h_n, c_n), arrays)`` where ``arrays`` are
    the 9 arrays backward reads (gates, cs, tcs, out, hh, h0, c0, w_hh, w_hr).

    ``gates`` (T, B, 4H) holds the halved pre-activations without the recurrent term (see
    :func:`_lstm_gate_rows`), or receives them step by step from ``inputs`` (a
    :class:`StepInputs`); it is overwritten with the activated gate values, which backward
    needs."""
    n, b, g4 = gates.shape
    hs = g4 // 4
    half, shift = _lstm_gate_rows(hs, gates.dtype)
    # The per-sequence arrays come from the scratch pool (see _POOL_NOTE).
    cs = scratch.get((n, b, hs), gates.dtype)
    tcs = scratch.get((n, b, hs), gates.dtype)
    proj = w_hr is not None
    out = scratch.get((n, b, w_hr.shape[0] if proj else hs), gates.dtype)
    hh = scratch.get((n, b, hs), gates.dtype) if proj else out
    rec = np.empty((b, g4), gates.dtype)
    w_t = np.ascontiguousarray((w_hh * half[:, None]).T)  # see _WT_NOTE
    half_b, shift_b = _batch_rows(half, b), _batch_rows(shift, b)
    h, c = h0, c0
    with single_threaded_blas():  # (the pool may be filling `gates`: see _rnn_grads)
        for t in _steps(n, reverse):
            if inputs is not None:
                inputs.wait(t)
            g = gates[t]
            np.matmul(h, w_t, out=rec)
            g += rec
            np.tanh(g, out=g)
            g *= half_b
            g += shift_b
            i, f, gg, o = g[:, :hs], g[:, hs : 2 * hs], g[:, 2 * hs : 3 * hs], g[:, 3 * hs :]
            c_new = cs[t]
            np.multiply(f, c, out=c_new)
            tmp = rec[:, :hs]
            np.multiply(i, gg, out=tmp)
            c_new += tmp
            tc = tcs[t]
            np.tanh(c_new, out=tc)
            np.multiply(o, tc, out=hh[t])
            if proj:
                np.matmul(hh[t], w_hr.T, out=out[t])
            h, c = out[t], c_new
    return (out, h.copy(), c.copy()), (gates, cs, tcs, out, hh, h0, c0, w_hh, w_hr)


def _lstm_bptt(saved, reverse, g_out, g_hn, g_cn, make_sums, want_hr) -> tuple:
    """Backpropagation through time of an LSTM layer from its saved arrays: returns
    ``(dgates, dh0, dc0, sums.finish(), dw_hr)`` where ``make_sums(dgates, out, h0)`` gives the
    :class:`StepGrads` that collects the weight gradients beside the loop."""
    gates, cs, tcs, out, hh, h0, c0, w_hh, w_hr = saved[:9]
    n, b, g4 = gates.shape
    hs = g4 // 4
    proj = w_hr is not None
    # Per step, on (B, 4H) rows that stay in cache (a whole-sequence precomputation made
    # a dozen passes over megabyte arrays):
    #   dc += dh * o * (1 - tanh(c)^2)
    #   dgates = [dc * g, dc * c_prev, dc * i, dh * tanh(c)] * act'
    # where act' = a * (1 - a) for the sigmoid gates i, f, o and 1 - g^2 for g, computed
    # as a * (alpha - a) + beta with alpha, beta rows that are 1, 0 except on g's columns.
    alpha, beta = (_batch_rows(r, b) for r in _lstm_derivative_rows(hs, gates.dtype))
    dgates = scratch.get(gates.shape, gates.dtype)
    dout = np.empty_like(out) if proj else None
    dh = g_hn.copy()
    dc = g_cn.copy()
    dho = np.empty((b, hs), gates.dtype)
    act = np.empty((b, g4), gates.dtype)
    sums = make_sums(dgates, out, h0)
    with single_threaded_blas():  # the pool's chunks run beside the loop (see _rnn_grads)
        for t in _steps(n, not reverse):
            dh += g_out[t]
            if proj:
                dout[t] = dh
                dhh = dh @ w_hr
            else:
                dhh = dh
            g, d, tc = gates[t], dgates[t], tcs[t]
            i, f, gg, o = g[:, :hs], g[:, hs : 2 * hs], g[:, 2 * hs : 3 * hs], g[:, 3 * hs :]
            np.multiply(dhh, o, out=dho)
            dc += dho
            dho *= tc
            dho *= tc
            dc -= dho
            np.multiply(dc, gg, out=d[:, :hs])
            np.multiply(dc, _prev(cs, c0, t, reverse), out=d[:, hs : 2 * hs])
            np.multiply(dc, i, out=d[:, 2 * hs : 3 * hs])
            np.multiply(dhh, tc, out=d[:, 3 * hs :])
            np.subtract(alpha, g, out=act)
            act *= g
            act += beta
            d *= act
            dc *= f
            dh = d @ w_hh
            sums.done(t)
        res = sums.finish()
    dw_hr = None
    if proj and want_hr:
        p = out.shape[-1]
        dw_hr = dout.reshape(-1, p).T @ hh.reshape(-1, hs)
    return dgates, dh, dc, res, dw_hr


def _batch_rows(row: np.ndarray, b: int) -> np.ndarray:
    """A per-column row repeated over ``b`` batch rows: a step's ``(B, G)`` ufunc against a
    same-shaped operand runs NumPy's contiguous loop, against a broadcast ``(G,)`` row a strided
    one (measured, (32, 512) float32: multiply 1.5 vs 2.9 us, subtract 1.7 vs 3.4 us)."""
    return np.ascontiguousarray(np.broadcast_to(row, (b, row.shape[0])))


def _lstm_gate_rows(hs: int, dtype: np.dtype) -> tuple:
    """``(half, shift)`` rows over the 4H gate columns: 0.5, 0.5 on the sigmoid gates i, f, o
    (``sigmoid(x) = 0.5 * tanh(x / 2) + 0.5``) and 1, 0 on the tanh gate g."""
    half = np.full(4 * hs, 0.5, dtype)
    half[2 * hs : 3 * hs] = 1
    shift = np.full(4 * hs, 0.5, dtype)
    shift[2 * hs : 3 * hs] = 0
    return half, shift


def _lstm_derivative_rows(hs: int, dtype: np.dtype) -> tuple:
    """``(alpha, beta)`` with ``a * (alpha - a) + beta`` the derivative of each gate's activation
    from its value: ``a * (1 - a)`` for the sigmoid gates, ``1 - a * a`` for the tanh gate g."""
    alpha = np.ones(4 * hs, dtype)
    alpha[2 * hs : 3 * hs] = 0
    beta = np.zeros(4 * hs, dtype)
    beta[2 * hs : 3 * hs] = 1
    return alpha, beta


class GRULayer(Primitive):
    """GRU over a sequence (PyTorch's formulation, ``b_hn`` inside the reset product)::

        r, z = sigmoid(gi_rz + h @ W_hrz.T + b_hrz)
        n = tanh(gi_n + r * (h @ W_hn.T + b_hn))
        h' = (1 - z) * n + z * h

    ``forward(gi (T,B,3H), h0 (B,H), w_hh (3H,H), b_hh (3H,) | None, reverse)`` returns
    ``(output (T,B,H), h_n (B,H))``.
    """

    twice_differentiable = True  # by recomputation, see _rnn_graph

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, reverse):
        n, b, g3 = gi.shape
        hs = g3 // 3
        gates = scratch.get(gi.shape, gi.dtype)  # becomes r, z, n (see _POOL_NOTE)
        np.copyto(gates, gi)
        ghn = scratch.get((n, b, hs), gi.dtype)  # h @ W_hn.T + b_hn, needed for the r gradient
        out = scratch.get((n, b, hs), gi.dtype)
        rec = np.empty((b, g3), gi.dtype)
        w_t = np.ascontiguousarray(w_hh.T)  # see _WT_NOTE
        bias = None if b_hh is None else _batch_rows(b_hh, b)
        h = h0
        for t in _steps(n, reverse):
            np.matmul(h, w_t, out=rec)
            if bias is not None:
                rec += bias
            g = gates[t]
            rz = g[:, : 2 * hs]
            rz += rec[:, : 2 * hs]
            _sigmoid_(rz)
            r, z, nn = g[:, :hs], g[:, hs : 2 * hs], g[:, 2 * hs :]
            ghn[t] = rec[:, 2 * hs :]
            nn += r * rec[:, 2 * hs :]
            np.tanh(nn, out=nn)
            h_new = out[t]
            np.subtract(h, nn, out=h_new)
            h_new *= z
            h_new += nn
            h = h_new
        # The inputs come last: only the create_graph backward reads them (see _rnn_graph).
        ctx.save_for_backward(gates, ghn, out, h0, w_hh, gi, h0, w_hh, b_hh)
        ctx.meta = (reverse, b_hh is not None)
        return out, h.copy()

    @staticmethod
    def backward(ctx, g_out, g_hn):
        gates, ghn, out, h0, w_hh = ctx.saved_tensors[:5]
        reverse, has_bias = ctx.meta
        n, b, g3 = gates.shape
        hs = g3 // 3
        dgi = scratch.get(gates.shape, gates.dtype)
        dgh = scratch.get(gates.shape, gates.dtype)  # equals dgi except the n block, scaled by r
        dh = g_hn.copy()
        # Per step, into preallocated rows (no temporaries):
        #   dn = dh * (1 - z) * (1 - n^2),  dz = dh * (h_prev - n),  dr = dn * ghn,
        #   [dr, dz] *= [r, z] * (1 - [r, z])  (one pass over the contiguous (B, 2H) block)
        t1 = np.empty((b, hs), gates.dtype)
        act = np.empty((b, 2 * hs), gates.dtype)
        nig = ctx.needs_input_grad
        sums = StepGrads(dgh, out, h0, reverse, nig[2], has_bias and nig[3])
        with single_threaded_blas():  # the pool's chunks run beside the loop (see _rnn_grads)
            for t in _steps(n, not reverse):
                dh += g_out[t]
                g = gates[t]
                r, z, nn = g[:, :hs], g[:, hs : 2 * hs], g[:, 2 * hs :]
                d = dgi[t]
                dr, dz, dn = d[:, :hs], d[:, hs : 2 * hs], d[:, 2 * hs :]
                np.multiply(nn, nn, out=t1)
                np.subtract(1, t1, out=t1)
                np.subtract(1, z, out=dn)
                dn *= dh
                dn *= t1
                np.subtract(_prev(out, h0, t, reverse), nn, out=dz)
                dz *= dh
                np.multiply(dn, ghn[t], out=dr)
                rz = g[:, : 2 * hs]
                np.subtract(1, rz, out=act)
                act *= rz
                d[:, : 2 * hs] *= act
                e = dgh[t]
                e[:, : 2 * hs] = d[:, : 2 * hs]
                np.multiply(dn, r, out=e[:, 2 * hs :])
                dh *= z
                dh += e @ w_hh
                sums.done(t)
            dw, db = sums.finish()[:2]
        return dgi, dh, dw, db, None

    @classmethod
    def _run_backward_graph(cls, ctx, grads):
        reverse = ctx.meta[0]
        return G.graph_backward(cls, ctx, grads, 4, lambda *a: G.gru_steps(*a, reverse))
