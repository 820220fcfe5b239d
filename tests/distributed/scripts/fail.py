"""Rank 1 misbehaves after a first all_reduce (argv[1] says how) while rank 0 goes on to a
second one: the launcher must end the job, never hang.

Rank 1 emits the moment it starts misbehaving (so the test times the teardown, not the ranks'
start-up, which is slow on a loaded machine); rank 0 emits only if its second all_reduce
completes, which must never happen."""

import os
import sys
import time
from datetime import timedelta

import ember
import ember.distributed as dist
from tests.distributed.scripts._result import emit

how = sys.argv[1]
# pg_timeout: the group's waits give up after 1 s (rank 1 sleeps 30 s before its second
# all_reduce). The first all_reduce waits longer, whatever the group's timeout: ranks start at
# different times on a loaded machine.
dist.init_process_group("gloo", timeout=timedelta(seconds=1 if how == "pg_timeout" else 60))
t = ember.ones(3)
dist.all_reduce(t, async_op=True).wait(timedelta(seconds=60))
if dist.get_rank() == 1:
    emit({"failing_at": time.time()})
    if how == "raise":
        raise ValueError("rank 1 failed on purpose")
    if how == "exit3":
        sys.exit(3)
    if how == "exit0":
        sys.exit(0)  # a legal exit, but rank 0 waits for it in the next collective
    if how == "kill":
        os._exit(9)
    if how == "sleep":
        time.sleep(3600)
    if how == "pg_timeout":
        time.sleep(30)
dist.all_reduce(t)
emit({"second_all_reduce_done": True})
