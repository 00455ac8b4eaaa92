"""Splits built ahead of their cells, as jobs: the fake banks of near-distribution sets.

A near set's split trains one generator per normal class and caches its bank
(`bench.datasets.near_sets`). `bench prepare` builds those banks before a sweep, through the
same executors as cells (inline, a local pool, SLURM job arrays): each job is a `Cell` whose
`method` is `SPLIT` — the dataset, class, profile and dataset parameters of the cells that
will use the split — run by `SplitWorker` instead of `bench.worker.CellWorker`. Its record
(`kind` "split", written to `<cache>/fakes/builds/`, never among the results) says what the split holds
(`test_fakes`: the bank, its SHA-256 and fake quality) or why it failed. Cells that find a
bank being built by another process wait on its lock instead of training a second
generator.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import registry
from bench.cell import Cell
from bench.provenance import provenance
from bench.records import FAILED, OK, SCHEMA, error_entry
from bench.seeding import seed_everything
from bench.settings import RunSettings
from bench.store import Store
from bench.timestamps import utc_now
from bench.worker import CellWorker

SPLIT = "split"  # the `method` of a split job


def builds_root(cache_dir: Path) -> Path:
    """Where split jobs keep their records and SLURM sweeps (outside every results root)."""
    return Path(cache_dir) / "fakes" / "builds"


def split_jobs(dataset: str, params: dict, classes: list[int], profile: str, class_names) -> list[Cell]:
    """One job per normal class of `dataset` (with its resolved `params`)."""
    return [Cell(method=SPLIT, dataset=dataset, normal_class=c, seed=0, profile=profile, dataset_params=params,
                 class_name=class_names[c]) for c in classes]


def build_split(cell: Cell, settings: RunSettings) -> dict:
    """Build the split of `cell` (caching what it makes) and return the job's record."""
    ctx = settings.context(cell)
    record = {"schema": SCHEMA, "kind": "split", "cell": cell.to_dict(), "started_at": utc_now()}
    start = time.perf_counter()
    try:
        seed_everything(cell.seed)
        split = registry.datasets.get(cell.dataset).factory(**cell.dataset_params).split(cell.normal_class, ctx)
        record["sizes"] = split.sizes
        record["test_fakes"] = split.metadata.get("test_fakes")
        record["status"] = OK
    except Exception as error:  # a failed job is a record, as a failed cell is
        record["status"] = FAILED
        record["error"] = error_entry(error)
    record["timings"] = {"total_s": time.perf_counter() - start}
    record["finished_at"] = utc_now()
    record["provenance"] = provenance(settings.device)
    return record


class SplitWorker(CellWorker):
    """Runs split jobs and writes their records; travels like `CellWorker`."""

    def __call__(self, cell: Cell) -> dict:
        record = build_split(cell, self.placed)
        Store(self.results_root).write(record)
        return record
