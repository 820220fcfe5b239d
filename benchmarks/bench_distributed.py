"""Scaling of DistributedDataParallel on this machine: step time of one process on the whole
batch against DDP over 2 processes on half of it each.

``python -m benchmarks.bench_distributed [--steps 20] [--launches 3]`` (needs the
``distributed`` extra; not part of ``python -m benchmarks``, whose runner finds no CASES here).

Configurations, launched in interleaved rounds (each a fresh set of processes):

- ``1 proc, 1 core``: the baseline, pinned to one core with one BLAS thread;
- ``1 proc, 2 threads``: what a user gets without DDP (BLAS on both cores);
- ``DDP 2 x 1 core``: the launcher's defaults (ranks bound to a core, one BLAS thread each);
- ``DDP, grad views``: the same with ``gradient_as_bucket_view=True`` (no copy back);
- ``DDP, 1 bucket``: one bucket for the whole model (no overlap at all).

Scaling efficiency = t(1 proc, 1 core) / (2 x t(DDP)). CPU efficiency = CPU time per step of
the baseline / CPU time per step summed over the DDP ranks: less sensitive to other programs on
a busy machine (the wall-clock figures are then mostly a matter of how much CPU each process
got); MPI's busy waiting counts as CPU time, so it is a lower bound. Each run records the load
average; a run that started above 0.5 is flagged: its times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES: list = []  # nothing for the in-process runner of `python -m benchmarks`

ROOT = Path(__file__).resolve().parents[1]
BATCH = {"conv": 32, "mlp": 64}
LOAD_LIMIT = 0.5


def _model(name: str):
    from ember import nn

    if name == "conv":  # the README's conv stack (93k parameters)
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(128, 10),
        )
    return nn.Sequential(  # 5.8M parameters, little compute per byte of gradient
        nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10)
    )


def worker(opts: argparse.Namespace) -> None:
    """One process of one configuration: time ``steps`` SGD steps, print a RESULT line."""
    import numpy as np

    import ember
    from ember import nn

    ddp = opts.ddp is not None
    rank, world = 0, 1
    ember.manual_seed(0)
    model = _model(opts.model)
    if ddp:
        import ember.distributed as dist

        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        kw = {"gradient_as_bucket_view": opts.ddp == "views"}
        if opts.ddp == "one_bucket":
            kw["bucket_cap_mb"] = 1024
        model = nn.parallel.DistributedDataParallel(model, **kw)
    b = BATCH[opts.model] // world
    rng = np.random.default_rng(rank)
    shape = (b, 3, 32, 32) if opts.model == "conv" else (b, 784)
    x = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, b))
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    if ddp:
        dist.barrier()
    times = []
    cpu0 = time.process_time()
    for _ in range(opts.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / opts.steps
    med = statistics.median(times)
    if ddp:
        every = [None] * world
        dist.all_gather_object(every, (med, cpu))
        med = max(m for m, _ in every)
        cpu = sum(c for _, c in every)
        dist.destroy_process_group()
    if rank == 0:
        print("RESULT " + json.dumps({"step_s": med, "cpu_s": cpu}), flush=True)


CONFIGS = {
    "1 proc, 1 core": ("single", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}),
    "1 proc, 2 threads": ("single", {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}),
    "DDP 2 x 1 core": ("plain", {}),
    "DDP, grad views": ("views", {}),
    "DDP, 1 bucket": ("one_bucket", {}),
}


def _run(model: str, config: str, steps: int) -> dict:
    kind, extra = CONFIGS[config]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    me = [str(Path(__file__).resolve()), "--worker", "--model", model, "--steps", str(steps)]
    if kind == "single":
        cmd = [sys.executable, *me]
        if config.endswith("1 core"):
            cmd = ["taskset", "-c", "0", *cmd]
    else:
        cmd = [sys.executable, "-m", "ember.distributed.run", "-n", "2", "--timeout", "600"]
        cmd += [*me, "--ddp", kind]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode or not lines:
        raise RuntimeError(f"{model} / {config} failed:\n{out.stdout}\n{out.stderr}")
    return {**json.loads(lines[0][7:]), "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--launches", type=int, default=3)
    ap.add_argument("--models", default="conv,mlp")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="conv", help=argparse.SUPPRESS)
    ap.add_argument("--ddp", default=None, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.worker:
        worker(opts)
        return
    for model in opts.models.split(","):
        runs: dict = {c: [] for c in CONFIGS}
        for _ in range(opts.launches):  # interleaved, so drifting load hits every config
            for c in CONFIGS:
                runs[c].append(_run(model, c, opts.steps))
        _report(model, runs)


def _report(model: str, runs: dict) -> None:
    base = statistics.median(r["step_s"] for r in runs["1 proc, 1 core"])
    base_cpu = statistics.median(r["cpu_s"] for r in runs["1 proc, 1 core"])
    print(
        f"\n{model} (global batch {BATCH[model]}), median of {len(runs[next(iter(runs))])} launches"
    )
    head = f"{'configuration':20s} {'step ms':>9s} {'cpu ms':>8s} {'efficiency':>10s}"
    print(f"{head} {'cpu eff':>8s}  load avg")
    for c, rs in runs.items():
        t = statistics.median(r["step_s"] for r in rs)
        cpu = statistics.median(r["cpu_s"] for r in rs)
        eff = f"{base / (2 * t):10.2f}" if c.startswith("DDP") else f"{base / t:9.2f}x"
        loads = ", ".join(f"{r['load']:.1f}" + ("!" if r["load"] > LOAD_LIMIT else "") for r in rs)
        ceff = f"{base_cpu / cpu:8.2f}" if c.startswith("DDP") else " " * 8
        print(f"{c:20s} {t * 1e3:9.1f} {cpu * 1e3:8.1f} {eff} {ceff}  {loads}")
    if any(r["load"] > LOAD_LIMIT for rs in runs.values() for r in rs):
        print(
            f"! load average above {LOAD_LIMIT} when the run started: noisy, times are upper bounds"
        )


if __name__ == "__main__":
    main()
