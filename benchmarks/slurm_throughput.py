"""SLURM sweeps against the same sweep in one process: throughput and per-cell overhead.

    python benchmarks/slurm_throughput.py

Needs a SLURM cluster answering on this machine (`.ci/slurm-up` starts a one-node one).
A 200-cell smoke sweep on digits (dn2, pyod-knn, pyod-pca, pyod-iforest × 10 classes ×
5 seeds), each run with a fresh results root and an empty feature cache, timed from the
command's start to its last record:

- inline: `bench run --executor inline` (one process, all cores' threads);
- local: `bench run --executor local` (a pool of one worker per core), for reference;
- slurm: `bench run --executor slurm --wait` with the default packing (one task per CPU slot);
- unpacked: 20 of the cells (dn2, pyod-knn × 10 classes) with `--cells-per-job 1`, one job each.

Throughput ratio = inline seconds / slurm seconds (≥ 1: the cluster run is as fast). Per-cell
overhead = (wall seconds × job slots − Σ the cells' own `total_s`) / cells: the slot time a
cell costs beyond its own work (job starts, imports, records, the scheduler's polling, idle
slots at the end). Figures go to benchmarks/figures/slurm_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import record

SWEEP = ["--methods", "dn2,pyod-knn,pyod-pca,pyod-iforest", "--datasets", "digits", "--seeds", "0,1,2,3,4"]
UNPACKED = ["--methods", "dn2,pyod-knn", "--datasets", "digits", "--executor", "slurm", "--cells-per-job", "1"]


def timed_run(results: Path, *args: str) -> float:
    """Wall seconds of `bench run ARGS`, with its own empty feature cache."""
    command = [sys.executable, "-m", "bench", "run", *args, "--quiet", "--results", str(results)]
    env = {**os.environ, "BENCH_CACHE": str(results.with_name(results.name + "-cache"))}
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def cell_seconds(results: Path) -> tuple[int, float]:
    from bench.store import Store

    records = [r for r in Store(results).records() if r["status"] == "ok"]
    return len(records), sum(r["timings"]["total_s"] for r in records)


def overhead_per_cell(wall: float, slots: int, results: Path) -> tuple[int, float, float]:
    cells, work = cell_seconds(results)
    return cells, work, (wall * slots - work) / cells


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    from bench.executors.slurm import scheduler

    slots = scheduler.partition(None).cpus
    root = Path(tempfile.mkdtemp(prefix="nearbench-slurm-bench-"))
    load = os.getloadavg()[0]

    inline = timed_run(root / "inline", *SWEEP, "--executor", "inline")
    local = timed_run(root / "local", *SWEEP, "--executor", "local")
    slurm = timed_run(root / "slurm", *SWEEP, "--executor", "slurm", "--wait", "--allow-dirty")
    unpacked = timed_run(root / "unpacked", *UNPACKED, "--wait", "--allow-dirty")

    inline_cells, inline_work = cell_seconds(root / "inline")
    slurm_cells, slurm_work, slurm_overhead = overhead_per_cell(slurm, slots, root / "slurm")
    unpacked_cells, unpacked_work, unpacked_overhead = overhead_per_cell(unpacked, slots, root / "unpacked")
    figures = {
        "cells": slurm_cells,
        "inline_s": round(inline, 1),
        "local_s": round(local, 1),
        "slurm_s": round(slurm, 1),
        "throughput_ratio_slurm_vs_inline": round(inline / slurm, 3),
        "throughput_ratio_slurm_vs_local": round(local / slurm, 3),
        "inline_cell_work_s": round(inline_work, 1),
        "slurm_cell_work_s": round(slurm_work, 1),
        "slurm_job_slots": slots,
        "slurm_overhead_per_cell_s": round(slurm_overhead, 3),
        "unpacked_cells": unpacked_cells,
        "unpacked_s": round(unpacked, 1),
        "unpacked_overhead_per_cell_s": round(unpacked_overhead, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": round(load, 2),
    }
    if inline_cells != slurm_cells:
        raise SystemExit(f"inline made {inline_cells} records, slurm {slurm_cells}: see {root}")
    record("slurm_throughput", figures)
    print(f"records and sweeps in {root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
