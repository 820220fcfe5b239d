"""Rank 1 misbehaves after a first all_reduce (argv[1] says how) while rank 0 goes on to a
second one: the launcher must end the job, never hang."""

import os
import sys
import time
from datetime import timedelta

import ember
import ember.distributed as dist

# pg_timeout: every wait gives up after 1 s (rank 1 sleeps 30 s before its second all_reduce)
dist.init_process_group("gloo", timeout=timedelta(seconds=1 if sys.argv[1] == "pg_timeout" else 60))
t = ember.ones(3)
dist.all_reduce(t)
if dist.get_rank() == 1:
    how = sys.argv[1]
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
print("RESULT {}", flush=True)
