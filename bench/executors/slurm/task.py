"""What one SLURM array task runs: its cells, one after another, each record written as the
cell ends, so a task that dies keeps what it finished.

A task is checkpointable (submitit's requeue mechanism). When SLURM warns of the time limit
or of preemption (SIGUSR2, `--signal`), submitit pickles the task — with the set of cells it
has finished — and requeues it; the requeued task skips those cells and (unless it reruns
them, or they were stale when submitted) every cell that already has a successful record, so
it runs only its unfinished ones.
The cell that was running when the warning came starts again (trained methods resume from
their own checkpoints). After `--requeues` timeouts submitit stops requeueing: the running cell gets a
failed record saying so and the task ends, leaving the rest without records.
"""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from datetime import datetime, timezone
from typing import Sequence

from submitit.helpers import Checkpointable

from bench.cell import Cell
from bench.records import FAILED
from bench.store import Store
from bench.worker import ELSEWHERE, CellWorker, limit_threads


def allocated_cpus() -> int:
    """The CPUs SLURM gave this job (`--cpus-per-task`, else the job's CPUs on this node)."""
    for variable in ("SLURM_CPUS_PER_TASK", "SLURM_JOB_CPUS_PER_NODE"):
        match = re.match(r"\d+", os.environ.get(variable, ""))
        if match:
            return max(1, int(match.group()))
    return os.cpu_count() or 1


def log(message: str) -> None:
    print(f"{datetime.now(timezone.utc):%H:%M:%S} {message}", flush=True)


class SlurmTask(Checkpointable):
    """`task(cells)` runs the cells in order with `worker`. Each array task unpickles its own
    copy; on requeue, `checkpoint(cells)` resubmits that copy with what it has finished."""

    def __init__(self, worker: CellWorker, *, rerun: bool = False, stale: frozenset = frozenset()):
        self.worker = worker
        self.rerun = rerun  # run cells that have a successful record too (`bench run --rerun`)
        self.stale = stale  # keys of cells whose record was stale at submission: run them too
        self.finished: set[str] = set()  # keys of the cells this task has run, whatever their status

    def __call__(self, cells: Sequence[Cell]) -> dict[str, int]:
        limit_threads(allocated_cpus())
        worker = self.worker
        if (self.rerun and not worker.rerun) or not self.stale <= worker.stale:  # nor must the worker skip them
            worker = copy.copy(worker)
            worker.rerun = worker.rerun or self.rerun
            worker.stale = worker.stale | self.stale
        store = Store(worker.results_root)
        todo = [cell for cell in cells if cell.key not in self.finished
                and (self.rerun or cell.key in self.stale or not store.is_done(cell))]
        restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
        log(
            f"task of {len(cells)} cells: {len(cells) - len(todo)} already done, {len(todo)} to run "
            f"(device {worker.placed.device}, {allocated_cpus()} CPU(s), restart {restarts})"
        )
        counts: Counter[str] = Counter()
        for index, cell in enumerate(todo, 1):
            record = worker(cell)
            self.finished.add(cell.key)
            counts[record["status"]] += 1
            if record["status"] == ELSEWHERE:
                log(f"[{index}/{len(todo)}] {cell.key}: not run here: {record['why']}")
                continue
            error = f" — {record['error']['type']}: {record['error']['message']}" if record["status"] == FAILED else ""
            log(f"[{index}/{len(todo)}] {cell.key}: {record['status']} in {record['timings']['total_s']:.1f} s{error}")
            if record["status"] == FAILED and record["error"]["type"] == "UncompletedJobError":
                log("out of requeues (submitit stopped at the time limit): the remaining cells stay without a record")
                break
        log(f"task done: {dict(counts)}")
        return dict(counts)
