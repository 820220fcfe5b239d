"""The fused bilinear form ``y[n, o] = x1[n] @ W[o] @ x2[n] + b[o]`` (``F.bilinear``).

One node built from three large matrix products instead of an einsum per call: the first
contracts ``x1`` with every ``W[o]`` at once, the second is a batched vector product.
"""

from __future__ import annotations

import numpy as np

from ._util import Primitive, on_graph

__all__ = ["Bilinear"]


class Bilinear(Primitive):
    twice_differentiable = True

    @staticmethod
    def forward(ctx, x1, x2, w, b):
        lead = x1.shape[:-1]
        o, i, j = w.shape
        a = x1.reshape(-1, i)
        c = x2.reshape(-1, j)
        n = a.shape[0]
        # u[n, o, j] = sum_i x1[n, i] W[o, i, j]
        u = (a @ w.transpose(1, 0, 2).reshape(i, o * j)).reshape(n, o, j)
        out = np.matmul(u, c[:, :, None])[..., 0]
        if b is not None:
            out += b
        ctx.save_for_backward(a, c, w, u, x1, x2)  # x1, x2: for create_graph
        ctx.lead = lead
        return out.reshape(lead + (o,))

    @staticmethod
    def backward(ctx, g):
        a, c, w, u, x1, x2 = ctx.saved_tensors
        nig = ctx.needs_input_grad
        o, i, j = w.shape
        if on_graph(g):  # the reshaped inputs and u, on the graph
            a, c = x1.reshape(-1, i), x2.reshape(-1, j)
            u = (a @ w.transpose(1, 0, 2).reshape(i, o * j)).reshape(a.shape[0], o, j)
        gf = g.reshape(-1, o)
        n = gf.shape[0]
        g1 = g2 = gw = gb = None
        if nig[0]:
            # v[n, o, i] = sum_j W[o, i, j] x2[n, j]
            v = (c @ w.transpose(2, 0, 1).reshape(j, o * i)).reshape(n, o, i)
            g1 = np.matmul(gf[:, None, :], v)[:, 0, :].reshape(ctx.lead + (i,))
        if nig[1]:
            g2 = np.matmul(gf[:, None, :], u)[:, 0, :].reshape(ctx.lead + (j,))
        if nig[2]:
            outer = (a[:, :, None] * c[:, None, :]).reshape(n, i * j)
            gw = (gf.T @ outer).reshape(o, i, j)
        if len(nig) > 3 and nig[3]:
            gb = np.ones(n, gf.dtype) @ gf
        return g1, g2, gw, gb
