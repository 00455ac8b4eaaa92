"""The unit of work every executor ships: run one cell, write its record.

The worker writes the cell's record as soon as the cell ends, so a sweep that dies keeps what
it finished, and everything about a sweep can be rebuilt from its records.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.cell import Cell
from bench.claims import claimed
from bench.records import OK
from bench.runner import run_cell
from bench.settings import RunSettings
from bench.store import Store


def limit_threads(threads: int) -> None:
    """Let this process's numerical libraries use `threads` threads (its share of the cores)."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    import torch

    torch.set_num_threads(threads)


ELSEWHERE = "elsewhere"  # the outcome of a cell another process runs, or has just run


def elsewhere(cell: Cell, why: str) -> dict:
    """What a worker returns for a cell it leaves to another process: not a record (never
    written), so the sweep can count it apart."""
    return {"cell": cell.to_dict(), "status": ELSEWHERE, "why": why, "timings": {}}


class CellWorker:
    """Runs cells and writes their records; picklable, so it travels to pool workers and
    SLURM jobs. Its settings are placed (device resolved) where it runs, once.

    Each cell runs under its claim (`bench.claims`): a cell another process is running is
    left to it, and one that has a successful record by the time the claim is taken is not
    run again (unless `rerun`, or its key is in `stale`: the record was found stale when the
    sweep was planned); both return an `elsewhere` outcome instead of a record."""

    def __init__(self, results_root: Path, settings: RunSettings, *, rerun: bool = False,
                 stale: frozenset = frozenset()):
        self.results_root = Path(results_root)
        self.settings = settings
        self.rerun = rerun
        self.stale = frozenset(stale)
        self._placed: RunSettings | None = None

    def __getstate__(self):
        return {"results_root": self.results_root, "settings": self.settings, "rerun": self.rerun, "stale": self.stale,
                "_placed": None}

    @property
    def placed(self) -> RunSettings:
        if self._placed is None:
            self._placed = self.settings.placed()
        return self._placed

    def __call__(self, cell: Cell) -> dict:
        store = Store(self.results_root)
        with claimed(self.results_root, cell.key) as mine:
            if not mine:
                return elsewhere(cell, "another process is running it")
            if not (self.rerun or cell.key in self.stale) and store.is_done(cell):
                return elsewhere(cell, "another process has just run it")
            settings = self.placed
            record = run_cell(cell, settings)
            store.write(record)
        checkpoints = settings.checkpoint_dir(cell)
        if record["status"] == OK and checkpoints is not None:
            shutil.rmtree(checkpoints, ignore_errors=True)  # only an unfinished cell resumes
        return record
