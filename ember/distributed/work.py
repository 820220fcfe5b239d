"""``Work``: a collective in flight, and the one waiting loop every collective goes through.

MPI moves a non-blocking collective forward only inside MPI calls, so waiting is a loop of
``Testall`` calls. The loop checks a deadline (the process group's timeout) and raises a
``DistBackendError`` naming the collective instead of hanging forever.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .reduce_op import DistBackendError

__all__ = ["Work"]

# Set by the launcher's rank bootstrap: ``peer_check(what, ranks, waited_s)`` raises when a rank
# among ``ranks`` has already finished its script (so the collective can never complete).
peer_check: Callable[[str, list | None, float], None] | None = None


def _seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        return timeout.total_seconds()
    return float(timeout)


def wait_requests(
    reqs: list, timeout: Any, what: str, status: Any = None, ranks: list | None = None
) -> None:
    """Drive ``reqs`` (MPI requests) to completion, or raise after ``timeout``. ``status`` (one
    request only) receives the completed request's status; ``ranks`` are the global ranks taking
    part (for the launcher's check that none of them has already left)."""
    if not reqs:
        return
    test = reqs[0].Testall if status is None else (lambda rs: rs[0].Test(status))
    if test(reqs):
        return
    limit = _seconds(timeout)
    start = time.monotonic()
    spins = 0
    while not test(reqs):
        spins += 1
        if spins & 63:
            continue
        if spins > 4096:
            os.sched_yield()  # let another rank on the same core run (oversubscribed jobs)
        now = time.monotonic()
        if limit is not None and now - start > limit:
            raise DistBackendError(
                f"{what} timed out after {limit:g} s: another rank did not join it (it may have "
                "failed, returned early or be running a different collective)"
            )
        if peer_check is not None:
            peer_check(what, ranks, now - start)


class Work:
    """A collective started with ``async_op=True`` (``torch.distributed.Work``).

    ``wait()`` blocks until it is done (raising after the group's timeout);
    ``is_completed()`` tests without blocking. Results are written into the tensors when the
    collective completes.
    """

    def __init__(
        self,
        reqs: list,
        what: str,
        timeout: Any,
        finish: Callable[[], None] | None = None,
        outputs: list | None = None,
        status: Any = None,
        ranks: list | None = None,
    ) -> None:
        self._reqs = reqs
        self._status = status
        self._ranks = ranks
        self._what = what
        self._timeout = timeout
        self._finish = finish
        self._outputs = outputs or []
        self._done = False
        if not reqs:
            self._complete()

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def is_completed(self) -> bool:
        """Whether the collective has finished (drives it one step forward)."""
        if not self._done:
            st = self._status
            if self._reqs[0].Test(st) if st is not None else self._reqs[0].Testall(self._reqs):
                self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def wait(self, timeout: Any = None) -> bool:
        """Block until done; ``timeout`` (a timedelta or seconds) overrides the group's."""
        if not self._done:
            limit = self._timeout if timeout is None else timeout
            wait_requests(self._reqs, limit, self._what, self._status, self._ranks)
            self._complete()
        return True

    def synchronize(self) -> None:
        self.wait()

    def result(self) -> list:
        """The output tensors."""
        self.wait()
        return list(self._outputs)

    def source_rank(self) -> int:
        """The sender's rank in the group, for a completed receive."""
        self.wait()
        return self._status.Get_source() if self._status is not None else -1

    def exception(self) -> None:
        return None

    def get_future(self) -> Any:
        raise NotImplementedError("ember.distributed.Work.get_future is not available")

    def __repr__(self) -> str:
        return f"<ember.distributed.Work {self._what} completed={self._done}>"
