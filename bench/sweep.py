"""Drive a planned sweep through an executor: progress bar, failure records, summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from bench.cell import Cell
from bench.executors import CellWorker, Executor
from bench.runner import RunSettings, failed_record
from bench.store import FAILED, Store


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def line(self, store: Store) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        took = f"{minutes}m{seconds:02d}s" if minutes else f"{self.seconds:.1f}s"
        return (
            f"{self.done} done, {self.skipped} skipped, {len(self.failed)} failed in {took}; "
            f"records in {store.root}"
        )


def run_sweep(
    cells: Sequence[Cell],
    executor: Executor,
    store: Store,
    settings: RunSettings,
    *,
    skipped: int = 0,
    progress: bool = True,
) -> Summary:
    """Run `cells` (already filtered to those not done) and return what happened."""
    from tqdm.auto import tqdm

    summary = Summary(skipped=skipped)
    start = time.perf_counter()
    handles = executor.submit(cells, CellWorker(store.root, settings))
    bar = tqdm(total=len(cells), desc="cells", unit="cell", disable=not progress, dynamic_ncols=True)
    try:
        for handle in executor.as_completed(handles):
            try:
                record = handle.result()
            except Exception as error:  # the worker died before it could write a record
                record = failed_record(handle.cell, error, settings)
                store.write(record)
            if record["status"] == FAILED:
                summary.failed.append(record)
                bar.write(f"failed: {handle.cell.key}: {record['error']['type']}: {record['error']['message']}")
            else:
                summary.done += 1
            bar.set_postfix_str(f"{handle.cell.method} {handle.cell.dataset} c{handle.cell.normal_class}")
            bar.update()
    finally:
        bar.close()
        executor.close()
    summary.seconds = time.perf_counter() - start
    return summary
