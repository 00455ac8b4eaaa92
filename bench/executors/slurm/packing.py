"""Cells → array tasks: how many cells each SLURM job runs, one after another.

Every job pays a start (queueing, a Python interpreter, importing torch, a CUDA context), tens
of seconds on a busy cluster. The default `--cells-per-job` packs enough cells to fill the
partition's job slots once, and, when earlier records tell how long these cells take, at least
`MIN_JOB_S` of cells per job — but no more than half the time limit holds, so that a task
rarely needs a requeue.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from bench.cell import Cell
from bench.records import OK
from bench.store import Store

MIN_JOB_S = 300.0


@dataclass(frozen=True)
class Packing:
    cells_per_job: int
    why: str


def estimate_cell_seconds(cells: Sequence[Cell], store: Store) -> float | None:
    """Mean expected duration of `cells`, from the median `total_s` of earlier successful
    records of the same (dataset, method, profile); None unless every such group has one."""
    medians = {}
    for group in {(c.dataset, c.method, c.profile) for c in cells}:
        dataset, method, profile = group
        seconds = [
            r["timings"]["total_s"]
            for r in store.records(f"{dataset}/{method}")
            if r["status"] == OK and r["cell"].get("profile") == profile and "total_s" in r.get("timings", {})
        ]
        if not seconds:
            return None
        medians[group] = statistics.median(seconds)
    return sum(medians[(c.dataset, c.method, c.profile)] for c in cells) / len(cells)


def default_packing(n_cells: int, slots: int, cell_s: float | None, time_min: int) -> Packing:
    """Cells per job when `--cells-per-job` is not given."""
    k = math.ceil(n_cells / max(1, slots))
    why = f"fills the {slots} job slot(s) once"
    if cell_s:
        amortise = math.ceil(MIN_JOB_S / cell_s)
        if amortise > k:
            k, why = amortise, f"≥ {MIN_JOB_S / 60:.0f} min of cells per job at ≈{cell_s:.1f} s a cell (earlier records)"
        cap = max(1, math.floor(time_min * 60 / 2 / cell_s))
        if k > cap:
            k, why = cap, f"half the {time_min}-min time limit at ≈{cell_s:.1f} s a cell (earlier records)"
    return Packing(max(1, min(k, n_cells)), why)


def pack(cells: Sequence[Cell], cells_per_job: int) -> list[list[Cell]]:
    """`cells` in ⌈n / cells_per_job⌉ tasks whose sizes differ by at most one. The cells of one
    split (dataset, normal class, seed) stay together, in plan order: their methods share the
    split's images and cached backbone features, which one task then computes once and no
    two tasks compute side by side; and each task gets a mix of methods, so tasks take
    similar times."""
    if not cells:
        return []
    cells = sorted(cells, key=lambda c: (c.dataset, c.dataset_hash, c.normal_class, c.seed))  # stable
    tasks = math.ceil(len(cells) / cells_per_job)
    base, extra = divmod(len(cells), tasks)
    chunks, start = [], 0
    for index in range(tasks):
        size = base + (index < extra)
        chunks.append(list(cells[start : start + size]))
        start += size
    return chunks
