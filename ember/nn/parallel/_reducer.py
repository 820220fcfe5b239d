"""The reducer behind DistributedDataParallel: averages gradients over the ranks in buckets,
starting each bucket's all-reduce from the engine as soon as its gradients are final.

Per backward pass: each parameter's post-accumulate-grad hook writes ``grad / world_size`` into
its bucket slot; when every parameter of the leading buckets is in, those buckets' all-reduces
start, strictly in bucket order so every rank issues the same collectives in the same order. A
callback queued on the engine finishes the pass: unused parameters (zeroed, or PyTorch's error at
the next forward), the remaining buckets, the waits, and the averaged gradients written back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import distributed as dist
from ..._tensor import _wrap
from ...distributed.work import wait_requests
from ._buckets import Bucket, assign_buckets

_UNUSED_HELP = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This "
    "error indicates that your module has parameters that were not used in producing loss. You "
    "can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `ember.nn.parallel.DistributedDataParallel`, and by making "
    "sure all `forward` function outputs participate in calculating loss."
)


class Reducer:
    """Buckets, hooks and the per-iteration state of one DDP module."""

    def __init__(
        self,
        params: list,
        names: list[str],
        pg: Any,
        limits: list[int],
        find_unused: bool,
        as_view: bool,
    ) -> None:
        self.params = params
        self.names = names
        self.pg = pg
        self.world = pg.size()
        self.find_unused = find_unused
        self.as_view = as_view
        order = list(reversed(range(len(params))))
        sizes = [params[i]._data.nbytes for i in order]
        groups = assign_buckets(sizes, [params[i]._data.dtype for i in order], limits)
        self.buckets = [
            Bucket([params[order[j]] for j in g], [order[j] for j in g]) for g in groups
        ]
        self.where = {}  # parameter index -> (bucket, slot)
        for b in self.buckets:
            for k, i in enumerate(b.index):
                self.where[i] = (b, k)
        self.armed = False  # a forward with grad sync happened; its backward has not finished
        self.ready: list[bool] = []
        self.unfinished: list[int] | None = None
        self._handles = [
            p.register_post_accumulate_grad_hook(self._hook_for(i)) for i, p in enumerate(params)
        ]

    # ---- per iteration ------------------------------------------------------------------
    def prepare_for_forward(self) -> None:
        """Called by each forward that will be followed by a synced backward."""
        # A forward whose backward never started (evaluation with grad enabled) is fine, as in
        # PyTorch; a backward that left parameters without gradient is not.
        if self.unfinished is not None:
            missing = self.unfinished
            self.unfinished = None
            rank = dist.get_rank(self.pg)
            names = ", ".join(self.names[i] for i in sorted(missing))
            raise RuntimeError(
                f"{_UNUSED_HELP} Parameter indices which did not receive grad for rank {rank}: "
                + " ".join(str(i) for i in sorted(missing))
                + f" (parameters: {names})"
            )
        for b in self.buckets:
            b.pending = len(b.params)
            b.request = None
        self.ready = [False] * len(self.params)
        self.next = 0  # the first bucket not launched yet
        self.queued = False
        self.armed = True

    def _hook_for(self, i: int) -> Any:
        def hook(p: Any) -> None:
            if self.armed:
                self._mark_ready(i, p)

        return hook

    def _mark_ready(self, i: int, p: Any) -> None:
        # The engine runs a leaf's post-accumulate hooks once per backward, on its summed
        # gradient; a second backward in the same iteration finds the reducer disarmed and only
        # accumulates locally, as in PyTorch.
        if not self.queued:
            from ...autograd.variable import Variable

            Variable._execution_engine.queue_callback(self._finalize)
            self.queued = True
        b, k = self.where[i]
        np.divide(p._grad._data, self.world, out=b.slots[k], casting="unsafe")
        self.ready[i] = True
        b.pending -= 1
        self._launch_ready()

    def _launch_ready(self) -> None:
        """Start the leading buckets that are complete, in order; drive the ones in flight."""
        MPI = dist._mpi.mpi()
        while self.next < len(self.buckets) and self.buckets[self.next].pending == 0:
            b = self.buckets[self.next]
            b.request = self.pg._comm.Iallreduce(MPI.IN_PLACE, b.buffer, MPI.SUM)
            self.next += 1
        # MPI progresses a non-blocking collective only inside MPI calls: poke the ones in flight.
        for b in self.buckets[: self.next]:
            if b.request is not None and b.request.Test():
                b.request = None

    def _finalize(self) -> None:
        """End of the backward pass: unused parameters, the last buckets, write back."""
        missing = [i for i, r in enumerate(self.ready) if not r]
        if missing and not self.find_unused:
            self._wait(self.buckets[: self.next])
            self._write_back(self.buckets[: self.next], set())
            self.unfinished = missing  # PyTorch raises at the next forward
            self.armed = False
            return
        for i in missing:
            b, k = self.where[i]
            b.slots[k].fill(0)
            b.pending -= 1
        unused = self._globally_unused(missing) if self.find_unused else set()
        self._launch_ready()
        self._wait(self.buckets)
        self._write_back(self.buckets, unused)
        self.armed = False

    def _globally_unused(self, missing: list[int]) -> set[int]:
        """Parameters no rank used: their ``.grad`` is left as it was, as PyTorch does."""
        used = np.ones(len(self.params), np.uint8)
        used[missing] = 0
        MPI = dist._mpi.mpi()
        req = self.pg._comm.Iallreduce(MPI.IN_PLACE, used, MPI.BOR)
        wait_requests([req], self.pg._timeout, "DistributedDataParallel (unused parameters)")
        return {i for i in range(len(self.params)) if not used[i]}

    def _wait(self, buckets: list) -> None:
        reqs = [b.request for b in buckets if b.request is not None]
        wait_requests(reqs, self.pg._timeout, "DistributedDataParallel gradient all_reduce")
        for b in buckets:
            b.request = None

    def _write_back(self, buckets: list, unused: set[int]) -> None:
        for b in buckets:
            for p, i, slot in zip(b.params, b.index, b.slots):
                if i in unused:
                    continue
                g = p._grad
                if self.as_view and slot.dtype == p._data.dtype:
                    if g is None:
                        p._grad = _wrap(slot)
                    elif g._data is not slot:
                        g._data = slot  # from now on .grad is a view of the bucket
                        g._vc[0] += 1
                elif g is None:
                    p._grad = _wrap(slot.astype(p._data.dtype))
                else:
                    np.copyto(g._data, slot, casting="unsafe")
                    g._vc[0] += 1

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
