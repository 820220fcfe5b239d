"""Run the differential fuzzer for a long time and tally what it finds:

    python -m tests.fuzz [PROGRAMS] [FIRST_SEED]

Each program uses its own seed, so a reported one reruns alone with PROGRAMS=1 FIRST_SEED=seed.
"""

from __future__ import annotations

import collections
import sys
import time

from ._programs import AVAILABLE, Mismatch, RandomChooser, run_program


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 2000
    first = int(argv[1]) if len(argv) > 1 else 0
    found: dict = collections.defaultdict(list)
    t0 = time.perf_counter()
    for seed in range(first, first + n):
        try:
            run_program(RandomChooser(seed))
        except Mismatch as m:
            head = str(m).split("\n")[0]
            key = head.split(":")[0].split("(")[0] + ": " + head.split(": ", 1)[-1][:40]
            found[key].append((seed, str(m)))
    took = time.perf_counter() - t0
    print(f"{n} programs over {len(AVAILABLE)} ops in {took:.0f} s; {len(found)} kinds of mismatch")
    for key, cases in sorted(found.items(), key=lambda kv: -len(kv[1])):
        seed, text = cases[0]
        print(f"\n[{len(cases)}x] {key}   (seed {seed})\n{text}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
