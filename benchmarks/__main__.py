"""Run every ``benchmarks/bench_*.py`` module's ``CASES`` and print one table.

``python -m benchmarks [substring ...] [--rounds N]`` runs only the cases whose name contains one
of the substrings.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import benchmarks

from .harness import busy, load_average, print_table, row_busy, run_case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("filters", nargs="*", help="run cases whose name contains one of these")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case")
    ap.add_argument("--threads", type=int, default=None, help="threads for torch and ember")
    args = ap.parse_args()
    import torch

    if args.threads:  # both libraries (ember's op pool and its BLAS follow set_num_threads)
        import ember

        torch.set_num_threads(args.threads)
        ember.set_num_threads(args.threads)
    import time

    start = load_average()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {start:.2f}")
    results = []
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        mod = importlib.import_module(f"benchmarks.{info.name}")
        for case in mod.CASES:
            if args.filters and not any(f in case.name for f in args.filters):
                continue
            results.append(run_case(case, args.rounds))
            print_table(results[-1:]) if len(results) == 1 else print(
                f"{case.name:58s} done", flush=True
            )
    print()
    print_table(results)
    end = load_average()
    # The load at the end includes the benchmark's own threads: only the start's load counts.
    busy_run = busy(start) or any(row_busy(r) for r in results)
    print(
        f"load average: {start:.2f} at start, {end:.2f} at end"
        + (
            " -- BUSY machine: compare ratios only with runs taken at similar load"
            if busy_run
            else ""
        )
    )


if __name__ == "__main__":
    main()
