"""The backward engine: an iterative topological walk over graph nodes.

One run is four named steps (``run_backward``):

1. ``_count_dependencies``: how many consumers will hand each reachable node a gradient (an
   explicit stack, so a 100,000-op chain is fine);
2. ``_seed``: the root gradients go into the buffers, the roots with no pending consumer are ready;
3. ``_walk``: nodes run once every consumer has delivered its gradient; what reaches a leaf goes
   to the run's *sink* (``_walk_graph`` under ``create_graph``: Tensors instead of arrays, see
   docs/architecture.md, "Higher-order gradients"); a leaf with hooks gets its gradient, summed
   over all its uses, as soon as the last of them has delivered (step 1 counts them too);
4. ``sink.flush``: hooked leaves whose uses were not all counted get their gradient now.

The sink says what happens at the leaves: ``AccumulateSink`` adds into ``.grad``
(``backward()``), ``CaptureSink`` keeps the gradients of the requested inputs for
``autograd.grad``. Then the callbacks queued during the run (``queue_callback``) run.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._memory_format import contiguous_format
from .._scratch import scratch
from .anomaly_mode import ANOMALY, run_checked
from .function import BackwardNode, Tensor, _wrap
from .grad_mode import STATE

__all__ = ["run_backward", "AccumulateSink", "CaptureSink", "queue_callback"]


# ---- sinks: where the gradients reaching leaves go ---------------------------------------------
class _Sink:
    """A leaf with tensor hooks (or post-accumulate hooks) gets its gradient summed over all its
    uses and the hooks run once on the total, as soon as its last use has delivered (as PyTorch's
    AccumulateGrad node does): ``expect`` counts the uses still to come (``_count_dependencies``).
    Other leaves take each gradient as it arrives."""

    wanted_nodes: dict | None = None  # {(node, output_nr): [input index]}: only CaptureSink
    wanted_leaves: dict | None = None  # {id(leaf): [input index]}: only CaptureSink
    prunable = False  # set by _count_dependencies: some edge leads to a leaf nobody wants
    plain = False  # leaves without hooks take each gradient into .grad (see AccumulateSink)

    def __init__(self) -> None:
        self.hooked: dict = {}  # id(leaf) -> (leaf, gradient summed so far)
        self.expect: dict = {}  # id(hooked, wanted leaf) -> uses not yet delivered

    def wants(self, t: Any) -> bool:
        """Whether gradients reaching leaf ``t`` are kept by this run."""
        return True

    def count_use(self, t: Any) -> None:
        """``_count_dependencies`` found one more edge into leaf ``t``."""
        d = t.__dict__
        if (d.get("_hooks") or d.get("_post_acc_hooks")) and self.wants(t):
            self.expect[id(t)] = self.expect.get(id(t), 0) + 1

    def leaf(self, t: Any, g: Any) -> None:
        """A gradient ``g`` (an array; a Tensor under create_graph) reaches leaf ``t``."""
        d = t.__dict__
        if d.get("_hooks") or d.get("_post_acc_hooks"):
            prev = self.hooked.get(id(t))
            self.hooked[id(t)] = (t, g if prev is None else prev[1] + g)
            if id(t) in self.expect:
                self.used(t)
        else:
            self.take(t, g)

    def used(self, t: Any) -> None:
        """One counted use of hooked leaf ``t`` has delivered (its gradient, or nothing); after
        the last one the summed gradient is handed over."""
        key = id(t)
        left = self.expect[key] - 1
        if left:
            self.expect[key] = left
            return
        del self.expect[key]
        got = self.hooked.pop(key, None)
        if got is not None:
            self._hand_over(*got)

    def flush(self) -> None:
        """Hand over what is still held: leaves whose uses were not all counted."""
        while self.hooked:
            self._hand_over(*self.hooked.pop(next(iter(self.hooked))))

    def _hand_over(self, t: Any, g: Any) -> None:
        hooks = t.__dict__.get("_hooks")
        if hooks:
            g = _run_tensor_hooks(hooks, g)
        self.take(t, g)

    def take(self, t: Any, g: Any) -> None:
        raise NotImplementedError

    def node_outputs(self, node: Any, gouts: tuple) -> None:
        """The gradients of a node's outputs, before it runs (captured when asked for)."""


class AccumulateSink(_Sink):
    """``backward()``: gradients accumulate into the leaves' ``.grad`` (only the leaves in
    ``inputs`` when given), then their post-accumulate hooks run."""

    def __init__(
        self, grads: list, inputs: tuple | None = None, create_graph: bool = False
    ) -> None:
        super().__init__()
        self.graph = create_graph
        # Arrays a leaf must not keep as its .grad as is: the caller's gradients, and every
        # array already stored as some leaf's .grad.
        self.seen = {id(g) for g in grads}
        self.only = None if inputs is None else {id(t) for t in inputs}
        # First order into every leaf: _walk hands a leaf without hooks straight to _accumulate.
        self.plain = not create_graph and inputs is None

    def wants(self, t: Any) -> bool:
        return self.only is None or id(t) in self.only

    def leaf(self, t: Any, g: Any) -> None:
        if self.only is None or id(t) in self.only:
            _Sink.leaf(self, t, g)

    def take(self, t: Any, g: Any) -> None:
        if self.graph:
            _accumulate_graph(t, g)
        else:
            _accumulate(t, g, self.seen)
        post = t.__dict__.get("_post_acc_hooks")
        if post:
            for h in list(post.values()):
                if h(t) is not None:
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")


class CaptureSink(_Sink):
    """``autograd.grad``: the gradients of ``inputs`` are kept, ``.grad`` is left alone."""

    def __init__(self, inputs: tuple) -> None:
        super().__init__()
        self.n = len(inputs)
        self.captured: dict = {}
        self.wanted_leaves: dict = {}
        wanted_nodes: dict = {}
        for i, t in enumerate(inputs):
            if t._grad_fn is None:
                self.wanted_leaves.setdefault(id(t), []).append(i)
            else:
                wanted_nodes.setdefault((t._grad_fn, t._out_nr), []).append(i)
        self.wanted_nodes = wanted_nodes or None

    def wants(self, t: Any) -> bool:
        return id(t) in self.wanted_leaves

    def leaf(self, t: Any, g: Any) -> None:
        if id(t) in self.wanted_leaves:
            _Sink.leaf(self, t, g)

    def take(self, t: Any, g: Any) -> None:
        for i in self.wanted_leaves[id(t)]:
            prev = self.captured.get(i)
            self.captured[i] = g if prev is None else prev + g

    def node_outputs(self, node: Any, gouts: tuple) -> None:
        for k, g in enumerate(gouts):
            for i in self.wanted_nodes.get((node, k), ()):
                self.captured[i] = g

    def result(self) -> list:
        return [self.captured.get(i) for i in range(self.n)]


def _accumulate(t: Any, g: Any, seen: set) -> None:
    """Add ``g`` into leaf ``t``'s ``.grad`` (no hooks)."""
    data = t._data
    if g.shape != data.shape:
        if g.size == data.size:
            g = g.reshape(data.shape)
        else:
            g = np.broadcast_to(g, data.shape) if g.ndim <= data.ndim else g.sum(0)
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
    cur = t._grad
    if cur is None:
        # The stored array must be owned by this leaf alone: later in-place ops on .grad (zero_,
        # clip_grad_norm_) must not reach another tensor's gradient; and laid out as PyTorch's
        # gradient layout contract says (_obeys_layout).
        if (g.base is not None and not _sole_view(g)) or id(g) in seen or not g.flags.writeable:
            g = _copy_laid_out(g, data)
        elif g.strides != data.strides and not _obeys_layout(g, data):  # strides: the fast path
            g = _copy_laid_out(g, data)
        seen.add(id(g))
        t._grad = _wrap(g)
    else:
        c = cur._data
        if c.flags.writeable:
            # In place, as PyTorch's AccumulateGrad outside grad mode (a held .grad sees the
            # sum); no fresh array to fault in per backward.
            if g.strides != c.strides and g.size >= _RELAYOUT_MIN and g.ndim > 1:
                g = _in_layout_of(g, c)  # see _RELAYOUT_MIN
            np.add(c, g, out=c)
        elif c.flags.c_contiguous:
            cur._data = np.asarray(c + g)  # asarray: 0-d sums come back as NumPy scalars
        else:  # keep .grad's layout (NumPy's order="K" may follow g's layout instead)
            cur._data = np.add(c, g, out=np.empty_like(c))
        cur._vc[0] += 1


# A gradient laid out otherwise than the .grad it is added to (a channels-last leaf, an NCHW
# gradient) is first copied into .grad's layout: NumPy's add over operands of different memory
# orders runs a strided element loop, its copy a transposing one (measured, (32, 64, 32, 32)
# float32, one thread: add 6.0 ms; copy 1.4 + add 0.6 ms). Small arrays add as they are.
_RELAYOUT_MIN = 1 << 14


def _in_layout_of(g: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``g`` copied into a pooled scratch array in ``c``'s memory order."""
    tmp = scratch.like(c)
    np.copyto(tmp, g)
    return tmp


def _sole_view(g: np.ndarray) -> bool:
    """Whether ``g`` is a whole view (a reshape) of an array nothing else refers to, as the
    weight gradients of conv, grouped matmuls and norms are: it may become ``.grad`` without a
    copy, since no other array shares its memory. A view of a pooled buffer (``ember._scratch``:
    the pool refers to it), of a saved array or of part of a bigger one is copied."""
    b = g.base
    # 3 references: g's base, the local b and getrefcount's argument (other views refer to the
    # same base: NumPy points every view at the array owning the memory).
    return (
        type(b) is np.ndarray
        and b.flags.owndata
        and b.nbytes == g.nbytes
        and sys.getrefcount(b) == 3
    )


# ---- the gradient layout contract ---------------------------------------------------------------
# As PyTorch's AccumulateGrad: the .grad of a dense (non-overlapping, gap-free) leaf has the
# leaf's strides, so a channels-last or transposed parameter gets a gradient laid out as itself
# and optimizer updates run over matching memory; the .grad of any other leaf is C-contiguous.
def _is_dense(a: np.ndarray) -> bool:
    """Whether ``a`` covers its memory exactly once in some order of its axes (positive strides)."""
    expected = a.itemsize
    for stride, n in sorted((s, n) for s, n in zip(a.strides, a.shape) if n != 1):
        if stride != expected:
            return False
        expected *= n
    return True


def _obeys_layout(g: np.ndarray, data: np.ndarray) -> bool:
    """Whether ``g`` may be ``data``'s .grad as it is laid out: strided as ``data`` on every dim
    of size > 1 (a size-1 dim's stride says nothing about memory order) when ``data`` is dense,
    else C-contiguous."""
    if not _is_dense(data):
        return g.flags.c_contiguous
    return all(
        gs == ds if n != 1 else gs != 0 for gs, ds, n in zip(g.strides, data.strides, data.shape)
    )


def _copy_laid_out(g: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A fresh copy of ``g`` with the strides ``data``'s .grad must have (see above)."""
    if data.flags.c_contiguous or not _is_dense(data):
        return g.copy()  # C order
    out = np.lib.stride_tricks.as_strided(np.empty(data.size, data.dtype), data.shape, data.strides)
    np.copyto(out, g)
    return out


def _accumulate_graph(t: Any, g: Any) -> None:
    """create_graph: ``.grad`` becomes a gradient with a graph, a copy of ``g`` the first time
    (laid out as the leaf, as in ``_accumulate``), else ``.grad + g`` out of place (a new
    tensor), as PyTorch does."""
    shape = t._data.shape
    if g.shape != shape:
        if g.numel() == t._data.size:
            g = g.reshape(shape)
        else:
            g = g.expand(shape) if g.ndim <= len(shape) else g.sum(0)
    if g.dtype != t.dtype:
        g = g.to(t.dtype)
    if t._grad is not None:
        t._grad = t._grad + g
        return
    data = t._data
    c_order = contiguous_format  # clone's default (preserve_format) would keep g's layout
    if data.flags.c_contiguous or not _is_dense(data):
        t._grad = g.clone(memory_format=c_order)
    else:  # the leaf's layout (see _obeys_layout): a C-order copy in its memory order
        order = sorted(range(data.ndim), key=lambda i: -data.strides[i])
        t._grad = g.permute(order).clone(memory_format=c_order).permute(np.argsort(order).tolist())


def _run_tensor_hooks(hooks: dict, g: Any) -> Any:
    """Run tensor hooks on ``g`` (an array, or a Tensor under create_graph); each may replace it."""
    graph = isinstance(g, Tensor)
    cur = g if graph else _wrap(g)
    for h in list(hooks.values()):
        r = h(cur)
        if r is not None:
            cur = r
    return cur if graph else cur._data


# ---- end-of-backward callbacks ------------------------------------------------------------------
class _Runs(threading.local):
    """The callback lists of the backward runs in progress on this thread (innermost last)."""

    def __init__(self) -> None:
        self.stack: list = []


_RUNS = _Runs()


def queue_callback(callback: Callable[[], Any]) -> None:
    """Run ``callback()`` when the backward pass in progress finishes (after its last node and
    leaf); as ``torch.autograd.Variable._execution_engine.queue_callback``."""
    if not _RUNS.stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _RUNS.stack[-1].append(callback)


def _run_callbacks(callbacks: list) -> None:
    i = 0
    while i < len(callbacks):  # a callback may queue more
        callbacks[i]()
        i += 1


# ---- the run ------------------------------------------------------------------------------------
def run_backward(
    roots: list, grads: list, retain_graph: bool, sink: _Sink, create_graph: bool = False
) -> None:
    """Back-propagate ``grads`` from ``roots`` (Tensors) into ``sink``.

    First order, ``grads`` are arrays and every node computes on arrays. With ``create_graph``
    they are Tensors and every node's backward runs on Tensors with grad mode on, so the
    gradients it makes carry their own graph (``_walk_graph``).
    """
    callbacks: list = []
    _RUNS.stack.append(callbacks)
    was_enabled = STATE.enabled
    # Hooks and Function backwards record only under create_graph, as in PyTorch.
    STATE.enabled = create_graph
    try:
        deps = _count_dependencies(roots, sink)
        masks = _prune(deps, sink) if sink.prunable else None
        buffers, ready = _seed(roots, grads, deps, sink)
        if create_graph:
            _walk_graph(ready, buffers, deps, sink, retain_graph, masks)
        else:
            _walk(ready, buffers, deps, sink, retain_graph, masks)
        sink.flush()
        _run_callbacks(callbacks)  # still on the stack: a callback may queue more
    finally:
        STATE.enabled = was_enabled
        _RUNS.stack.pop()


def _count_dependencies(roots: list, sink: _Sink) -> dict:
    """``{node: number of edges into it}`` over every node reachable from the roots; the edges
    (and roots) that reach a leaf with hooks are counted in ``sink.expect``."""
    deps: dict = {}
    stack = []
    # autograd.grad: a leaf that requires grad but is not asked for makes pruning worthwhile
    wanted = sink.wanted_leaves if sink.wanted_nodes is None else None
    for r in roots:
        fn = r._grad_fn
        if fn is None:
            sink.count_use(r)
        elif fn not in deps:
            deps[fn] = 0
            stack.append(fn)
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if type(e) is tuple:
                child = e[0]
                if child in deps:
                    deps[child] += 1
                else:
                    deps[child] = 1
                    stack.append(child)
            elif e is not None:
                d = e.__dict__
                if d.get("_hooks") or d.get("_post_acc_hooks"):
                    sink.count_use(e)
                if wanted is not None and id(e) not in wanted:
                    sink.prunable = True
    return deps


def _seed(roots: list, grads: list, deps: dict, sink: _Sink) -> tuple:
    """Put the root gradients in the buffers; return them and the nodes ready to run."""
    buffers: dict = {}
    for r, g in zip(roots, grads):
        fn = r._grad_fn
        if fn is None:
            sink.leaf(r, g)
        else:
            _add_to_buffer(buffers, fn, r._out_nr, g)
    starts = {r._grad_fn: None for r in roots if r._grad_fn is not None}
    return buffers, [fn for fn in starts if deps[fn] == 0]


def _walk(
    ready: list, buffers: dict, deps: dict, sink: _Sink, retain_graph: bool, masks: Any = None
) -> None:
    """Run nodes as they become ready, passing their input gradients down the edges
    (``masks``: see ``_prune``)."""
    # Anomaly mode sends every node through _run_general, which checks its gradients.
    fast_ok = sink.wanted_nodes is None and not ANOMALY.enabled
    leaf = sink.leaf
    seen = sink.seen if sink.plain else None  # leaves without hooks: straight to _accumulate
    expect = sink.expect  # hooked leaves still waiting for uses (empty: nothing to count)
    # Ids of the gradient sums this walk made and only `buffers` holds: later gradients for the
    # same node are added into them in place. A sum is handed over (and no longer owned) when its
    # node runs.
    owned: set = set()
    while ready:
        node = ready.pop()
        if owned:
            buf = buffers.get(node)
            if buf is not None:
                owned.discard(id(buf))
        if masks and node in masks:
            in_grads = _run_masked(node, masks[node], buffers, sink, retain_graph, False)
        elif fast_ok and node._fast:
            # Fast path: a built-in single-output primitive with no hooks.
            g = buffers.pop(node, None)
            if g is None:
                in_grads = None
            else:
                # (ctx.saved_tensors checks the versions of what the formula reads)
                if node._freed:
                    node._check_saved()
                in_grads = node._bw(node, g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            if not retain_graph and node._saved is not None:
                node._saved = None
                node._freed = True
        else:
            in_grads = _run_general(node, buffers, sink, retain_graph)
        if in_grads is None:
            for e in node.next_edges:
                if type(e) is tuple:
                    child = e[0]
                    d = deps[child] - 1
                    deps[child] = d
                    if d == 0:
                        ready.append(child)
                elif expect and id(e) in expect:
                    sink.used(e)
            continue
        for e, g in zip(node.next_edges, in_grads):
            if e is None:
                continue
            if type(e) is tuple:
                child = e[0]
                if g is not None:
                    if child._n_out == 1:
                        prev = buffers.get(child)
                        buffers[child] = g if prev is None else _sum_owned(prev, g, owned)
                    else:
                        _add_to_buffer(buffers, child, e[1], g)
                d = deps[child] - 1
                deps[child] = d
                if d == 0:
                    ready.append(child)
            elif g is not None:
                if seen is not None:
                    d = e.__dict__
                    if not (d.get("_hooks") or d.get("_post_acc_hooks")):
                        _accumulate(e, g, seen)
                        continue
                leaf(e, g)
            elif expect and id(e) in expect:
                sink.used(e)


def _walk_graph(
    ready: list, buffers: dict, deps: dict, sink: _Sink, retain_graph: bool, masks: Any = None
) -> None:
    """create_graph: the walk of ``_walk`` with Tensors for gradients (sums of gradients are
    recorded additions). A built-in single-output primitive without hooks skips the general
    path, pruned or not (its formula reads the narrower ``needs_input_grad`` of ``_prune``);
    everything else goes through ``_run_masked`` / ``_run_general``."""
    fast_ok = sink.wanted_nodes is None and not ANOMALY.enabled
    masks = masks or _NO_MASKS
    leaf = sink.leaf
    expect = sink.expect
    while ready:
        node = ready.pop()
        if fast_ok and node._fast:
            in_grads = _run_fast_graph(node, buffers.pop(node, None), masks.get(node), retain_graph)
        elif node in masks:
            in_grads = _run_masked(node, masks[node], buffers, sink, retain_graph, True)
        else:
            in_grads = _run_general(node, buffers, sink, retain_graph, graph=True)
        edges = node.next_edges
        for e, g in zip(edges, in_grads or (None,) * len(edges)):
            if e is None:
                continue
            if type(e) is tuple:
                child = e[0]
                if g is not None:
                    if child._n_out == 1:
                        prev = buffers.get(child)
                        buffers[child] = g if prev is None else prev + g
                    else:
                        _add_to_buffer(buffers, child, e[1], g)
                d = deps[child] - 1
                deps[child] = d
                if d == 0:
                    ready.append(child)
            elif g is not None:
                leaf(e, g)
            elif expect and id(e) in expect:
                sink.used(e)


_NO_MASKS: dict = {}


def _run_fast_graph(node: Any, g: Any, mask: Any, retain_graph: bool) -> tuple | None:
    """create_graph: a built-in single-output primitive without hooks on its output gradient
    ``g`` (a Tensor or None), computing only the input gradients ``mask`` asks for (None: all
    that require grad). A node whose mask asks for none does not run and keeps its saved
    values, as in ``_run_masked``."""
    if mask is not None and True not in mask:
        return None
    in_grads = None
    if g is not None:
        if node._freed:  # (ctx.saved_tensors checks the versions of what the formula reads)
            node._check_saved()
        if mask is None:
            in_grads = node._fn._run_backward_graph(node, (g,))
        else:  # set for the call, then restored (see _run_masked)
            nig = node.needs_input_grad
            node.needs_input_grad = mask
            try:
                in_grads = node._fn._run_backward_graph(node, (g,))
            finally:
                node.needs_input_grad = nig
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
    if not retain_graph and node._saved is not None:
        node._release()
    return in_grads


def _prune(deps: dict, sink: _Sink) -> dict:
    """``autograd.grad``: which inputs of each built-in node lead to a requested input, as
    PyTorch's engine works out before it runs. Returns ``{node: needs_input_grad}`` for the
    nodes (primitives without hooks) where that is fewer than the inputs that require grad:
    they compute only those gradients (under create_graph: record only those ops), and a
    node that leads nowhere wanted does not run at all."""
    wanted = sink.wanted_leaves
    # Kahn's order over the counts: each node after all its consumers (one pass over the edges).
    left = dict(deps)
    order = [node for node, n in deps.items() if n == 0]
    i = 0
    while i < len(order):
        for e in order[i].next_edges:
            if type(e) is tuple:
                child = e[0]
                n = left[child] - 1
                left[child] = n
                if n == 0:
                    order.append(child)
        i += 1
    # Backwards through that order, a node is settled after all its children are.
    useful: set = set()
    masks: dict = {}
    for node in reversed(order):
        mask = tuple(
            [
                (e[0] in useful) if type(e) is tuple else (e is not None and id(e) in wanted)
                for e in node.next_edges
            ]
        )
        if True in mask:
            useful.add(node)
        if mask != node.needs_input_grad and _prunable_node(node):
            masks[node] = mask
    return masks


def _prunable_node(node: Any) -> bool:
    """A built-in primitive's node with no hooks: its backward reads only
    ``needs_input_grad`` to know what to compute."""
    return (
        node._fn._raw
        and node._hooks is None
        and node._pre_hooks is None
        and node._out_hooks is None
        and node._retain is None
    )


def _run_masked(
    node: Any, mask: tuple, buffers: dict, sink: _Sink, retain_graph: bool, graph: bool
) -> tuple | None:
    """Run ``node`` computing only the gradients ``mask`` asks for (``_prune``)."""
    if not any(mask):  # leads to no requested input: not run, its saved values kept (as torch)
        buffers.pop(node, None)
        return None
    # Set on the node for the call (its formula reads ctx.needs_input_grad), then restored: one
    # backward at a time per process, as grad mode itself (docs/architecture.md, runtime state).
    nig = node.needs_input_grad
    node.needs_input_grad = mask
    try:
        return _run_general(node, buffers, sink, retain_graph, graph)
    finally:
        node.needs_input_grad = nig


def _run_general(
    node: Any, buffers: dict, sink: _Sink, retain_graph: bool, graph: bool = False
) -> tuple | None:
    """One node through the general path: several outputs, hooks, user Functions, capture,
    create_graph (``graph``: the gradients are Tensors, not arrays)."""
    buf = buffers.pop(node, None)
    n_out = node._n_out
    if n_out == 1:
        gouts = (buf,)
    else:
        gouts = tuple(buf) if buf is not None else (None,) * n_out
    if node._out_hooks is not None or node._retain is not None:
        gouts = _run_output_hooks(node, gouts)
    if sink.wanted_nodes:
        sink.node_outputs(node, gouts)
    to_t, from_t = (_same, _same) if graph else (_wrap_all, _data_all)
    if node._pre_hooks:
        for h in list(node._pre_hooks.values()):
            r = h(to_t(gouts))
            if r is not None:
                gouts = from_t(_check_hook_result(h, r, n_out))
    if _all_none(gouts):
        in_grads = None  # nothing flows through this node
    else:
        if n_out > 1 and node._materialize:
            gouts = _materialize(node, gouts, graph)
        elif n_out == 1 and gouts[0] is None and not node._fn._raw and node._materialize:
            gouts = _materialize(node, gouts, graph)
        if node._saved_vc is not None or node._freed:
            node._check_saved()
        if ANOMALY.enabled:
            in_grads = run_checked(node, gouts, graph)
        elif graph:
            in_grads = node._fn._run_backward_graph(node, gouts)
        else:
            in_grads = node._fn._run_backward(node, gouts)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
    if node._hooks:
        for h in list(node._hooks.values()):
            r = h(to_t(in_grads or ()), to_t(gouts))
            if r is not None:
                expected = len(in_grads) if in_grads is not None else len(node.next_edges)
                in_grads = from_t(_check_hook_result(h, r, expected))
    if not retain_graph:
        node._release()
    return in_grads


def _all_none(gs: tuple) -> bool:
    for g in gs:
        if g is not None:
            return False
    return True


def _check_hook_result(hook: Any, r: Any, expected: int) -> Any:
    """A node hook's replacement gradients: a tuple (or list) of one per slot, as PyTorch
    demands; anything else would be silently cut short or iterated."""
    if not isinstance(r, (tuple, list)):
        raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
    if len(r) != expected:
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(
            f"hook '{name}' has returned an incorrect number of values "
            f"(got {len(r)}, but expected {expected})"
        )
    return r


def _same(gs: tuple) -> tuple:
    return tuple(gs)


def _wrap_all(gs: tuple) -> tuple:
    return tuple(None if g is None else _wrap(g) for g in gs)


def _data_all(ts: tuple) -> tuple:
    return tuple(None if t is None else t._data for t in ts)


def _add_to_buffer(buffers: dict, node: Any, idx: int, g: Any) -> None:
    if node._n_out == 1:
        prev = buffers.get(node)
        buffers[node] = g if prev is None else prev + g
    else:
        lst = buffers.get(node)
        if lst is None:
            lst = buffers[node] = [None] * node._n_out
        prev = lst[idx]
        lst[idx] = g if prev is None else prev + g


def _sum_owned(prev: Any, g: Any, owned: set) -> Any:
    """``prev + g`` for a node with several consumers: in place when ``prev`` is a sum this walk
    owns, else into a new (pooled, when big) array that it then owns."""
    if prev.shape == g.shape and prev.dtype == g.dtype:
        if id(prev) in owned:
            np.add(prev, g, out=prev)
            return prev
        # (in prev's memory order: a channels-last sum into a C-ordered buffer runs NumPy's
        # strided loop, see _RELAYOUT_MIN)
        s = np.add(prev, g, out=scratch.like(prev))
        owned.add(id(s))
        return s
    return prev + g


def _materialize(node: BackwardNode, gouts: tuple, graph: bool = False) -> tuple:
    """Zeros for the outputs that got no gradient (Tensors under create_graph)."""
    metas = node.__dict__.get("_out_meta")
    if metas is None:
        return gouts
    zeros = (lambda m: _wrap(np.zeros(m[0], m[1]))) if graph else (lambda m: np.zeros(m[0], m[1]))
    return tuple(zeros(m) if g is None else g for g, m in zip(gouts, metas))


def _run_output_hooks(node: BackwardNode, gouts: tuple) -> tuple:
    gouts = list(gouts)
    if node._out_hooks:
        for k, hooks in node._out_hooks.items():
            if gouts[k] is not None and hooks:
                gouts[k] = _run_tensor_hooks(hooks, gouts[k])
    if node._retain:
        for k, ref in node._retain.items():
            t = ref()
            g = gouts[k]
            if t is None or g is None:
                continue
            if isinstance(g, Tensor):  # create_graph: retained without its graph, as PyTorch
                g = g._data
            if t._grad is None:
                t._grad = _wrap(g.copy())
            else:
                t._grad._data = np.asarray(t._grad._data + g)
    return tuple(gouts)
