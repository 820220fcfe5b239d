"""Fused loss primitives: cross-entropy, NLL, binary cross-entropy, KL divergence, pointwise
regression losses.

Each is one graph node with a hand-written backward. Cross-entropy is fused for speed (it runs
on every training step) and for stability: it works from the log-sum-exp of the logits, never
from a softmax followed by a log. The others are fused so that the reduction, the broadcasting
of the target and the gradient of both operands happen in one place.

Reductions are passed as strings ('none', 'mean', 'sum'); the class dimension is axis 1 (axis 0
for an unbatched 1-D input), as in PyTorch.

All are twice differentiable (docs/architecture.md, "Higher-order gradients"): under
create_graph the backward formulas recompute from the saved inputs, on the graph, the
intermediates a forward kept for speed (log-softmax, softplus, norms), and ``carrying`` keeps
their first-order values bit for bit.
"""

from __future__ import annotations

import numpy as np

from . import indexing as X
from ._util import Primitive, carrying, on_graph, unbroadcast
from .softmax import LogSoftmax

__all__ = [
    "CrossEntropy",
    "CrossEntropyProb",
    "NLLLoss",
    "PointwiseLoss",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "KLDiv",
    "CosineSimilarity",
    "LogSigmoid",
]


# ---- layout helpers ----------------------------------------------------------------------
def _rows(x: np.ndarray) -> np.ndarray:
    """``x`` with classes on the last axis, as a 2-D (rows, classes) array."""
    if x.ndim == 2:
        return x
    if x.ndim == 1:
        return x[None]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of ``_rows``: a (rows, classes) gradient back to the input's layout."""
    if len(shape) == 2:
        return g
    if len(shape) == 1:
        return g[0]
    rest = (shape[0],) + shape[2:]
    return np.moveaxis(g.reshape(rest + (shape[1],)), -1, 1)


def _loss_shape(shape: tuple) -> tuple:
    """Shape of an unreduced per-row loss: the input's shape without the class dim."""
    if len(shape) == 1:
        return ()
    return (shape[0],) + shape[2:]


def _graph_logp(logp: np.ndarray, x: object) -> object:
    """create_graph: the forward's row-wise log-softmax ``logp``, on the graph of input ``x``."""
    return carrying(logp, _rows(x).apply(LogSoftmax, 1))


def _log_softmax_rows(x2: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax ``z - log(sum(exp(z)))`` of a (rows, classes) array, stably."""
    if x2.size == 0:
        return x2.copy()
    hi = x2.max()
    if hi - x2.min() < 60.0:
        # Every logit is within 60 of the largest, so one global shift keeps every exp() in
        # range (no overflow, no row underflowing to 0) and is as stable as a per-row shift,
        # while avoiding NumPy's slow short-row max. NaN/inf fail the test and go per-row.
        z = x2 - hi
    else:
        z = x2 - x2.max(axis=1, keepdims=True)
    # Row sums as a matrix-vector product: much faster than .sum(axis=1) on short rows.
    z -= np.log(np.exp(z) @ np.ones(z.shape[1], z.dtype))[:, None]
    return z


def _check_targets(t: np.ndarray, n_classes: int, ignore_index: int) -> tuple:
    """Validity mask (None when every target counts) and the targets with ignored ones at 0."""
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    if not 0 <= ignore_index < n_classes and (t.size == 0 or t.view(np.uint64).max() < n_classes):
        # Fast path, one reduction: seen as unsigned, negative targets become huge, so every
        # target is a valid class and none can equal an out-of-range ignore_index.
        return None, t
    valid = t != ignore_index
    if valid.all():
        valid = None
        ts = t
    else:
        ts = np.where(valid, t, 0)
    if ts.size and (ts.min() < 0 or ts.max() >= n_classes):
        bad = t[(ts < 0) | (ts >= n_classes)][0]
        raise IndexError(f"Target {int(bad)} is out of bounds.")
    return valid, ts


def _reduce_rows(loss: np.ndarray, reduction: str, denom, shape: tuple, dtype) -> np.ndarray:
    if reduction == "none":
        return loss.reshape(_loss_shape(shape))
    total = loss.sum(dtype=dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    if denom == 0:  # nothing counted (empty batch or every target ignored): nan, as PyTorch
        return np.asarray(np.nan, dtype=dtype)
    return np.asarray(total / dtype.type(denom), dtype=dtype)


# ---- cross-entropy and NLL over class indices -----------------------------------------------
class CrossEntropy(Primitive):
    """log-softmax + NLL over class indices, with weight, ignore_index and label smoothing.

    ``forward(x, target, weight | None, ignore_index, label_smoothing, reduction)``: the mean
    divides by the summed weight of the non-ignored targets (their count without weights),
    which is PyTorch's normalisation for both the NLL and the smoothing term.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, smoothing, reduction):
        x2 = _rows(x)
        m, c = x2.shape
        logp = _log_softmax_rows(x2)
        valid, ts = _check_targets(target.reshape(-1), c, ignore_index)
        rows = np.arange(m)
        # a: the per-row weight of the NLL term (0 for ignored rows).
        if weight is not None:
            a = weight[ts]
            if valid is not None:
                a = a * valid
        elif valid is not None:
            a = valid.astype(x.dtype)
        else:
            a = None
        loss = -logp[rows, ts]
        if a is not None:
            loss *= a
        if smoothing:
            smooth = -(logp @ weight) if weight is not None else -logp.sum(axis=1)
            if valid is not None:
                smooth *= valid
            loss = (1.0 - smoothing) * loss + (smoothing / c) * smooth
        denom = m if a is None else a.sum()
        ctx.save_for_backward(logp, x)  # x: for create_graph (logp is an intermediate)
        ctx.meta = (x.shape, ts, valid, a, weight, smoothing, reduction, denom)
        return _reduce_rows(loss, reduction, denom, x.shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        logp, x = ctx.saved_tensors
        if on_graph(x):
            logp = _graph_logp(logp, x)
        shape, ts, valid, a, weight, smoothing, reduction, denom = ctx.meta
        m, c = logp.shape
        if reduction == "none":
            scale = g.reshape(m)
        elif reduction == "sum":
            scale = g
        else:
            scale = g / denom
        grad = np.exp(logp)  # the softmax
        rows = np.arange(m)
        if a is None and not smoothing:
            # Hot path: (softmax - onehot) * upstream.
            grad[rows, ts] -= 1.0
            grad *= scale if np.ndim(scale) == 0 else scale[:, None]
            return _unrows(grad, shape), None, None, None, None, None
        a_nll = (1.0 - smoothing) * (np.ones(m, logp.dtype) if a is None else a)
        row_coef = a_nll
        if smoothing:
            mask = np.ones(m, logp.dtype) if valid is None else valid.astype(logp.dtype)
            w_total = c if weight is None else weight.sum()
            row_coef = a_nll + (smoothing / c) * w_total * mask
        grad *= (row_coef * scale)[:, None]
        grad[rows, ts] -= a_nll * scale
        if smoothing:
            w_row = np.ones(c, logp.dtype) if weight is None else weight
            grad -= ((smoothing / c) * mask * scale)[:, None] * w_row[None, :]
        return _unrows(grad, shape), None, None, None, None, None


class NLLLoss(Primitive):
    """Negative log-likelihood of log-probabilities ``x`` at class indices ``target``.

    ``forward(x, target, weight | None, ignore_index, reduction)``.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        x2 = _rows(x)
        m, c = x2.shape
        valid, ts = _check_targets(target.reshape(-1), c, ignore_index)
        if weight is not None:
            a = weight[ts]
            if valid is not None:
                a = a * valid
        elif valid is not None:
            a = valid.astype(x.dtype)
        else:
            a = None
        loss = -x2[np.arange(m), ts]
        if a is not None:
            loss *= a
        denom = m if a is None else a.sum()
        ctx.meta = (x.shape, x.dtype, ts, a, reduction, denom)
        return _reduce_rows(loss, reduction, denom, x.shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dtype, ts, a, reduction, denom = ctx.meta
        m = ts.shape[0]
        c = shape[1] if len(shape) > 1 else shape[0]
        if reduction == "none":
            scale = g.reshape(m)
        elif reduction == "sum":
            scale = np.broadcast_to(g, (m,))
        else:
            scale = np.broadcast_to(g / denom, (m,))
        vals = -scale if a is None else -scale * a
        grad = X.add_into_zeros((m, c), (np.arange(m), ts), vals)
        return _unrows(grad, shape), None, None, None, None


class CrossEntropyProb(Primitive):
    """Cross-entropy against class probabilities (``target`` has the input's shape).

    ``forward(x, target, weight | None, label_smoothing, reduction)``; the mean divides by the
    number of rows (not by the weights), as PyTorch does. Differentiable in ``x`` and ``target``.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, target, weight, smoothing, reduction):
        x2 = _rows(x)
        t2 = _rows(target)
        m, c = x2.shape
        logp = _log_softmax_rows(x2)
        tt = t2 * (1.0 - smoothing) + smoothing / c if smoothing else t2
        wt = tt * weight if weight is not None else tt
        loss = -(logp * wt).sum(axis=1)
        ctx.save_for_backward(logp, x, target)  # x, target: for create_graph
        ctx.meta = (x.shape, tt, wt, weight, smoothing, reduction, m)
        return _reduce_rows(loss, reduction, m if x.size else 0, x.shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        logp, x, target = ctx.saved_tensors
        shape, tt, wt, weight, smoothing, reduction, m = ctx.meta
        if on_graph(x):  # the intermediates, on the graph of x and target
            logp = _graph_logp(logp, x)
            tt = _rows(target)
            tt = tt * (1.0 - smoothing) + smoothing / tt.shape[1] if smoothing else tt
            wt = tt * weight if weight is not None else tt
        if reduction == "none":
            scale = g.reshape(m)[:, None]
        elif reduction == "sum":
            scale = g
        else:
            scale = g / m
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = (np.exp(logp) * wt.sum(axis=1, keepdims=True) - wt) * scale
            gx = _unrows(gx, shape)
        if ctx.needs_input_grad[1]:
            lw = logp * weight if weight is not None else logp
            gt = _unrows(-(1.0 - smoothing) * lw * scale, shape)
        gw = None
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            # d/dw_j of -sum_i tt_ij logp_ij w_j (only PyTorch's probability path has it).
            gw = -(tt * logp * scale).sum(axis=0)
        return gx, gt, gw, None, None


# ---- pointwise regression losses -----------------------------------------------------------
def _pointwise(kind: str, d: np.ndarray, param: float) -> np.ndarray:
    if kind == "mse":
        return d * d
    ad = np.abs(d)
    if kind == "l1":
        return ad
    if kind == "smooth_l1":
        if param == 0:
            return ad
        return np.where(ad < param, (0.5 / param) * d * d, ad - 0.5 * param)
    # huber
    return np.where(ad < param, 0.5 * d * d, param * (ad - 0.5 * param))


def _pointwise_grad(kind: str, d: np.ndarray, param: float) -> np.ndarray:
    if kind == "mse":
        return 2.0 * d
    if kind == "l1" or (kind == "smooth_l1" and param == 0):
        return np.sign(d)
    if kind == "smooth_l1":
        return np.clip(d / param, -1.0, 1.0)
    return np.clip(d, -param, param)


class PointwiseLoss(Primitive):
    """``reduce(f(x - y))`` for f in mse, l1, smooth_l1 (beta), huber (delta).

    ``forward(x, y, kind, param, reduction)``; ``x`` and ``y`` broadcast together and both get
    a gradient summed back to their own shapes.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y, kind, param, reduction):
        d = x - y
        loss = _pointwise(kind, d, param).astype(d.dtype, copy=False)
        ctx.save_for_backward(d, x, y)  # x, y: for create_graph (d is an intermediate)
        ctx.meta = (x.shape, y.shape, kind, param, reduction)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return np.asarray(loss.sum(), d.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.mean() if loss.size else np.nan, d.dtype)

    @staticmethod
    def backward(ctx, g):
        d, x, y = ctx.saved_tensors
        xs, ys, kind, param, reduction = ctx.meta
        if on_graph(x):
            d = x - y
        gd = _pointwise_grad(kind, d, param).astype(d.dtype, copy=False)
        s = g / d.size if reduction == "mean" else g
        if on_graph(g):
            gd = gd * s
        else:
            gd *= s
        nig = ctx.needs_input_grad
        gx = unbroadcast(gd, xs) if nig[0] else None
        gy = unbroadcast(-gd, ys) if nig[1] else None
        return gx, gy, None, None, None


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(), loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(loss.mean() if loss.size else np.nan, loss.dtype)


def _scale(g: np.ndarray, reduction: str, n: int) -> np.ndarray:
    return g / n if reduction == "mean" else g


# ---- binary cross-entropy -------------------------------------------------------------------
class BinaryCrossEntropy(Primitive):
    """``-w * (y log x + (1 - y) log(1 - x))`` with the logs clamped at -100, as PyTorch.

    ``forward(x, y, weight | None, reduction)``; the gradient for ``x`` divides by
    ``max(x (1 - x), 1e-12)``. ``weight`` broadcasts to ``x`` and gets no gradient.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y, weight, reduction):
        if x.size and (x.min() < 0 or x.max() > 1):
            raise RuntimeError("all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100.0)
            log_1mx = np.maximum(np.log1p(-x), -100.0)
        loss = (y - 1.0) * log_1mx - y * log_x
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, y)
        ctx.meta = (weight, reduction)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        weight, reduction = ctx.meta
        s = _scale(g, reduction, x.size)
        if weight is not None:
            s = s * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = ((x - y) / np.maximum((1.0 - x) * x, 1e-12) * s).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = ((np.log1p(-x) - np.log(x)) * s).astype(x.dtype, copy=False)
        return gx, gy, None, None


class BinaryCrossEntropyWithLogits(Primitive):
    """Sigmoid + binary cross-entropy in one stable expression.

    ``loss = (1 - y) x + (1 + (pw - 1) y) softplus(-x)``, times ``weight``; softplus is computed
    as ``log1p(exp(-|x|)) + max(-x, 0)`` so no exponent overflows.
    ``forward(x, y, weight | None, pos_weight | None, reduction)``: gradients for ``x`` and
    ``y`` (``weight`` and ``pos_weight`` are constants, as in PyTorch).
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # softplus(-x)
        if pos_weight is not None:
            lw = 1.0 + (pos_weight - 1.0) * y
            loss = (1.0 - y) * x + lw * sp
        else:
            loss = (1.0 - y) * x + sp
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, y)
        ctx.meta = (sp, weight, pos_weight, reduction)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        sp, weight, pos_weight, reduction = ctx.meta
        if on_graph(x):
            sp = carrying(sp, np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))
        s = _scale(g, reduction, x.size)
        if weight is not None:
            s = s * weight
        nig = ctx.needs_input_grad
        gx = gy = None
        if nig[0]:
            sig_neg = np.exp(-x - sp)  # sigmoid(-x), from the softplus already computed
            if pos_weight is not None:
                lw = 1.0 + (pos_weight - 1.0) * y
                gx = ((1.0 - y) - lw * sig_neg) * s
            else:
                gx = ((1.0 - y) - sig_neg) * s
            gx = unbroadcast(gx.astype(x.dtype, copy=False), x.shape)
        if nig[1]:
            gy = -x if pos_weight is None else (pos_weight - 1.0) * sp - x
            gy = unbroadcast((gy * s).astype(x.dtype, copy=False), y.shape)
        return gx, gy, None, None, None


# ---- KL divergence --------------------------------------------------------------------------
class KLDiv(Primitive):
    """Pointwise KL divergence ``y (log y - x)`` (``exp(y) (y - x)`` with ``log_target``).

    ``forward(x, y, log_target, reduction, batch)``: reduction 'batchmean' sums and divides by
    ``batch``. Where ``y == 0`` the pointwise loss is 0 (``xlogy``), as PyTorch.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, y, log_target, reduction, batch):
        if log_target:
            ey = np.exp(y)
            loss = ey * (y - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ylogy = np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1.0, y)))
            loss = ylogy - y * x
            ey = None
        loss = loss.astype(np.result_type(x, y), copy=False)
        ctx.save_for_backward(x, y)
        ctx.meta = (log_target, reduction, batch, ey, loss.shape)
        if reduction == "batchmean":
            return np.asarray(loss.sum() / batch, loss.dtype)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        log_target, reduction, batch, ey, shape = ctx.meta
        if log_target and on_graph(y):
            ey = np.exp(y)
        if reduction == "batchmean":
            s = g / batch
        else:
            s = _scale(g, reduction, int(np.prod(shape)))
        nig = ctx.needs_input_grad
        gx = gy = None
        if nig[0]:
            gx = -(ey if log_target else y) * s
            gx = unbroadcast(np.broadcast_to(gx, shape).astype(x.dtype, copy=False), x.shape)
        if nig[1]:
            if log_target:
                gy = ey * (y - x + 1.0) * s
            else:
                # d/dy [y log y - y x] = log y + 1 - x; PyTorch gives 0 where y == 0.
                with np.errstate(divide="ignore", invalid="ignore"):
                    gy = np.where(y == 0, 0.0, np.log(np.where(y == 0, 1.0, y)) + 1.0 - x) * s
            gy = unbroadcast(np.broadcast_to(gy, shape).astype(y.dtype, copy=False), y.shape)
        return gx, gy, None, None, None


# ---- similarity and log-sigmoid (used by the embedding and margin losses) --------------------
class CosineSimilarity(Primitive):
    """``sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps))`` along ``axis``.

    ``forward(x1, x2, axis, eps)``. As in PyTorch the clamp of each norm is invisible to the
    gradient (the norm's own derivative ``x / |x|`` is used, 0 at a zero vector); ``x1`` and
    ``x2`` broadcast together and their gradients are summed back to their shapes.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x1, x2, axis, eps):
        b1, b2 = np.broadcast_arrays(x1, x2)
        n1 = np.sqrt((b1 * b1).sum(axis=axis, keepdims=True))
        n2 = np.sqrt((b2 * b2).sum(axis=axis, keepdims=True))
        c1 = np.maximum(n1, eps).astype(n1.dtype, copy=False)
        c2 = np.maximum(n2, eps).astype(n2.dtype, copy=False)
        a = b1 / c1
        b = b2 / c2
        out = (a * b).sum(axis=axis)
        ctx.save_for_backward(a, b, x1, x2)  # x1, x2: for create_graph
        ctx.meta = (x1.shape, x2.shape, axis, n1, n2, c1, c2, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, x1, x2 = ctx.saved_tensors
        s1, s2, axis, n1, n2, c1, c2, out = ctx.meta
        if on_graph(x1):
            a, b, n1, n2, c1, c2, out = _cosine_on_graph(x1, x2, axis, ctx.meta)
        gk = np.expand_dims(g, axis)
        ok = np.expand_dims(out, axis)
        nig = ctx.needs_input_grad
        with np.errstate(divide="ignore"):
            inv1 = np.where(n1 > 0, 1.0 / np.where(n1 > 0, n1, 1.0), 0.0).astype(a.dtype)
            inv2 = np.where(n2 > 0, 1.0 / np.where(n2 > 0, n2, 1.0), 0.0).astype(a.dtype)
        g1 = unbroadcast(gk * (b / c1 - ok * a * inv1), s1) if nig[0] else None
        g2 = unbroadcast(gk * (a / c2 - ok * b * inv2), s2) if nig[1] else None
        return g1, g2, None, None


def _cosine_on_graph(x1: object, x2: object, axis: int, meta: tuple) -> tuple:
    """CosineSimilarity's intermediates recomputed on the graph of ``x1``, ``x2`` (the clamped
    norms carry the plain norms' derivative, as in PyTorch's forward)."""
    _, _, _, n1v, n2v, c1v, c2v, outv = meta
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    b1, b2 = np.broadcast_to(x1, shape), np.broadcast_to(x2, shape)
    n1 = carrying(n1v, np.sqrt((b1 * b1).sum(axis=axis, keepdims=True)))
    n2 = carrying(n2v, np.sqrt((b2 * b2).sum(axis=axis, keepdims=True)))
    c1, c2 = carrying(c1v, n1), carrying(c2v, n2)
    a, b = b1 / c1, b2 / c2
    return a, b, n1, n2, c1, c2, carrying(outv, (a * b).sum(axis=axis))


class LogSigmoid(Primitive):
    """``log(sigmoid(x)) = -softplus(-x)``, computed without overflow."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        out = -(np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))
        ctx.save_for_backward(x, out)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g * np.exp(out - x)  # sigmoid(-x)
