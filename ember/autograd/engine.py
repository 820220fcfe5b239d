"""The backward engine: an iterative topological walk over graph nodes.

Dependencies are counted first (an explicit stack, so a 100,000-op chain is fine), then nodes run
once every consumer has delivered its gradient. Gradients reaching a leaf accumulate into
``.grad``; ``autograd.grad`` captures them instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._scratch import scratch
from . import function as _fn
from .function import BackwardNode
from .grad_mode import STATE


def _is_leaf_edge(e: Any) -> bool:
    return type(e) is not tuple


def _accumulate_leaf(t: Any, g: Any, seen: set) -> None:
    """Add ``g`` into leaf ``t``'s ``.grad`` (running its tensor hooks first)."""
    hooks = t.__dict__.get("_hooks")
    if hooks:
        g = _run_tensor_hooks(hooks, g)
        if g is None:
            return
    _accumulate(t, g, seen)


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
        # clip_grad_norm_) must not reach another tensor's gradient.
        if g.base is not None or id(g) in seen or not g.flags.writeable:
            g = g.copy()
        seen.add(id(g))
        t._grad = _fn._wrap(g)
    else:
        cur._data = np.asarray(cur._data + g)  # asarray: 0-d sums come back as NumPy scalars
        cur._vc[0] += 1


def _run_tensor_hooks(hooks: list, g: Any) -> Any:
    for h in list(hooks):
        r = h(_fn._wrap(g))
        if r is not None:
            g = r._data
    return g


def run_backward(
    roots: list,
    grads: list,
    retain_graph: bool,
    inputs: tuple | None = None,
    capture: bool = False,
) -> list | None:
    """Back-propagate ``grads`` (arrays) from ``roots`` (Tensors).

    With ``capture`` the gradients of ``inputs`` are returned instead of accumulated.
    """
    seen: set = set()
    for g in grads:
        seen.add(id(g))  # the caller's gradient arrays must never become a leaf's .grad as is
    captured: dict = {}
    want_leaf: dict = {}
    want_node: dict = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t._grad_fn is None:
                want_leaf.setdefault(id(t), []).append(i)
            else:
                want_node.setdefault((t._grad_fn, t._out_nr), []).append(i)

    # A leaf with hooks gets its gradient summed over all its uses first and the hooks run once
    # on the total, after the walk (as PyTorch's AccumulateGrad node does).
    hooked: dict = {}

    def deliver_leaf(t: Any, g: Any) -> None:
        if capture:
            idx = want_leaf.get(id(t))
            if idx is not None:
                if t.__dict__.get("_hooks"):
                    prev = hooked.get(id(t))
                    hooked[id(t)] = (t, g if prev is None else prev[1] + g)
                    return
                for i in idx:
                    prev = captured.get(i)
                    captured[i] = g if prev is None else prev + g
        else:
            if inputs is not None and id(t) not in want_leaf:
                return
            if t.__dict__.get("_hooks"):
                prev = hooked.get(id(t))
                hooked[id(t)] = (t, g if prev is None else prev[1] + g)
                return
            _accumulate_leaf(t, g, seen)

    # 1. Dependency counts over every node reachable from the roots.
    deps: dict = {}
    stack = []
    for r in roots:
        fn = r._grad_fn
        if fn is not None and fn not in deps:
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

    # 2. Seed the buffers with the root gradients.
    buffers: dict = {}
    for r, g in zip(roots, grads):
        fn = r._grad_fn
        if fn is None:
            deliver_leaf(r, g)
            continue
        _add_to_buffer(buffers, fn, r._out_nr, g)
    ready = [
        fn for fn in {r._grad_fn: None for r in roots if r._grad_fn is not None} if deps[fn] == 0
    ]

    # 3. Run nodes as they become ready.
    fast_ok = not want_node
    plain = not capture and inputs is None  # leaves accumulate into .grad directly
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
        if fast_ok and node._fast:
            # Fast path: a built-in single-output primitive with no hooks.
            g = buffers.pop(node, None)
            if g is None:
                in_grads = None
            else:
                if node._saved_vc is not None or node._freed:
                    node._check_saved()
                in_grads = node._bw(node, g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            if not retain_graph and node._saved is not None:
                node._saved = None
                node._freed = True
        else:
            in_grads = _run_general(node, buffers, want_node, captured, retain_graph)
        if in_grads is None:
            for e in node.next_edges:
                if type(e) is tuple:
                    child = e[0]
                    d = deps[child] - 1
                    deps[child] = d
                    if d == 0:
                        ready.append(child)
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
                if plain and not e.__dict__.get("_hooks"):
                    _accumulate(e, g, seen)
                else:
                    deliver_leaf(e, g)

    for t, g in hooked.values():
        if capture:
            g = _run_tensor_hooks(t.__dict__["_hooks"], g)
            for i in want_leaf[id(t)]:
                captured[i] = g
        else:
            _accumulate_leaf(t, g, seen)  # runs the hooks
    if capture:
        return [captured.get(i) for i in range(len(inputs))]
    return None


def _run_general(
    node: Any, buffers: dict, want_node: dict, captured: dict, retain_graph: bool
) -> tuple | None:
    """One node through the general path: several outputs, hooks, user Functions, capture."""
    buf = buffers.pop(node, None)
    n_out = node._n_out
    if n_out == 1:
        gouts = (buf,)
    else:
        gouts = tuple(buf) if buf is not None else (None,) * n_out
    if node._out_hooks is not None or node._retain is not None:
        gouts = _run_output_hooks(node, gouts)
    if want_node:
        for k, g in enumerate(gouts):
            idx = want_node.get((node, k))
            if idx is not None:
                for i in idx:
                    captured[i] = g
    wrap = _fn._wrap
    if node._pre_hooks:
        for h in list(node._pre_hooks):
            r = h(tuple(None if g is None else wrap(g) for g in gouts))
            if r is not None:
                gouts = tuple(None if g is None else g._data for g in r)
    if all(g is None for g in gouts):
        in_grads = None  # nothing flows through this node
    else:
        if n_out > 1 and (node._fn._raw or node._materialize):
            gouts = _materialize(node, gouts)
        elif n_out == 1 and gouts[0] is None and not node._fn._raw and node._materialize:
            gouts = _materialize(node, gouts)
        node._check_saved()
        in_grads = node._fn._run_backward(node, gouts)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
    if node._hooks:
        for h in list(node._hooks):
            r = h(
                tuple(None if g is None else wrap(g) for g in (in_grads or ())),
                tuple(None if g is None else wrap(g) for g in gouts),
            )
            if r is not None:
                in_grads = tuple(None if g is None else g._data for g in r)
    if not retain_graph:
        node._release()
    return in_grads


def _add_to_buffer(buffers: dict, node: Any, idx: int, g: Any) -> None:
    if node._n_out == 1:
        prev = buffers.get(node)
        buffers[node] = g if prev is None else _sum_grads(prev, g)
    else:
        lst = buffers.get(node)
        if lst is None:
            lst = buffers[node] = [None] * node._n_out
        prev = lst[idx]
        lst[idx] = g if prev is None else _sum_grads(prev, g)


def _sum_owned(prev: Any, g: Any, owned: set) -> Any:
    """``prev + g`` for a node with several consumers: in place when ``prev`` is a sum this walk
    owns, else into a new (pooled, when big) array that it then owns."""
    if prev.shape == g.shape and prev.dtype == g.dtype:
        if id(prev) in owned:
            np.add(prev, g, out=prev)
            return prev
        s = np.add(prev, g, out=scratch.get(prev.shape, prev.dtype))
        owned.add(id(s))
        return s
    return prev + g


def _sum_grads(a: Any, b: Any) -> Any:
    return a + b


def _materialize(node: BackwardNode, gouts: tuple) -> tuple:
    metas = node.__dict__.get("_out_meta")
    if metas is None:
        return gouts
    return tuple(np.zeros(m[0], m[1]) if g is None else g for g, m in zip(gouts, metas))


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
            if t is not None and g is not None:
                if t._grad is None:
                    t._grad = _fn._wrap(g.copy())
                else:
                    t._grad._data = np.asarray(t._grad._data + g)
    return tuple(gouts)


def _check_saved(self: BackwardNode) -> None:
    if self._saved is None:
        if self._freed:
            self.saved_tensors  # raises the "second time" error  # noqa: B018
        return
    vcs = self._saved_vc
    if vcs:
        for i, vc, version in vcs:
            if vc[0] != version:
                _fn._raise_modified(self, self._saved[i], vc[0], version)


BackwardNode._check_saved = _check_saved


def grad_enabled() -> bool:
    return STATE.enabled
