"""``spawn``/``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes, as PyTorch.

A child that raises sends its traceback home through a queue; ``join`` then raises
``ProcessRaisedException`` carrying it (a child that dies without raising:
``ProcessExitedException`` with its exit code).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

__all__ = [
    "spawn",
    "start_processes",
    "ProcessContext",
    "SpawnContext",
    "ProcessRaisedException",
    "ProcessExitedException",
]


class ProcessException(Exception):
    """A child of ``spawn`` failed."""

    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A child of ``spawn`` raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A child of ``spawn`` exited with a non-zero code (or a signal) without raising."""

    def __init__(
        self,
        msg: str,
        error_index: int,
        error_pid: int,
        exit_code: int,
        signal_name: str | None = None,
    ) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self) -> tuple:
        args = (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)
        return type(self), args


def _wrap(fn: Callable, i: int, args: tuple, error_queue: Any) -> None:
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes ``spawn(join=False)`` started; ``join()`` waits for them."""

    def __init__(self, processes: list, error_queues: list) -> None:
        self.processes = processes
        self.error_queues = error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list:
        """The children's process ids."""
        return [p.pid for p in self.processes]

    def join(self, timeout: float | None = None) -> bool:
        """Wait for a child to finish; True once all have. Raises when a child failed."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for s in ready:
            i = self.sentinels.pop(s)
            self.processes[i].join()
            if self.processes[i].exitcode != 0:
                failed = i
                break
        if failed is None:
            return not self.sentinels
        for p in self.processes:  # one failed: stop the others, as PyTorch does
            if p.is_alive():
                p.terminate()
            p.join()
        self._raise(failed)
        return False  # pragma: no cover

    def _raise(self, i: int) -> None:
        proc = self.processes[i]
        q = self.error_queues[i]
        if not q.empty():
            tb = q.get()
            msg = f"\n\n-- Process {i} terminated with the following error:\n{tb}"
            raise ProcessRaisedException(msg, i, proc.pid)
        code = proc.exitcode
        if code < 0:
            name = signal.Signals(-code).name
            msg = f"process {i} terminated with signal {name}"
            raise ProcessExitedException(msg, i, proc.pid, code, name)
        msg = f"process {i} terminated with exit code {code}"
        raise ProcessExitedException(msg, i, proc.pid, code)


class SpawnContext(ProcessContext):
    """``ProcessContext`` under its older name."""


def start_processes(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Start ``nprocs`` processes running ``fn(i, *args)`` with the given start method."""
    from .. import _shared_memory

    _shared_memory.register_reducers()
    mp = multiprocessing.get_context(start_method)
    processes, queues = [], []
    for i in range(nprocs):
        q = mp.SimpleQueue()
        p = mp.Process(target=_wrap, args=(fn, i, args, q), daemon=daemon)
        p.start()
        processes.append(p)
        queues.append(q)
    ctx = ProcessContext(processes, queues)
    if not join:
        return ctx
    while not ctx.join():
        pass
    return None


def spawn(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process."""
    if start_method != "spawn":
        warnings.warn(
            f"This method only supports start_method=spawn (got: {start_method}).\n"
            "To use a different start_method use:\n\t\t ember.multiprocessing.start_processes(...)",
            FutureWarning,
            stacklevel=2,
        )
    return start_processes(fn, args, nprocs, join, daemon, start_method)
