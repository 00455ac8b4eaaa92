"""The loop every executor is driven by: submit, follow with a progress bar, record failures
of workers that died, summarise."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from bench.cell import Cell
from bench.execution import Executor
from bench.places import StorageFull, storage_failure
from bench.records import FAILED, failed_record
from bench.settings import RunSettings
from bench.store import Store
from bench.worker import ELSEWHERE, CellWorker


@dataclass
class Summary:
    """What a sweep did: cells done, skipped (already done before), failed; wall time."""

    done: int = 0
    skipped: int = 0
    elsewhere: int = 0  # left to another `bench run` that was running them (or had just run them)
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    submitted: list[str] = field(default_factory=list)  # an executor that does not wait: how to follow

    def line(self, store: Store) -> str:
        minutes, seconds = divmod(round(self.seconds), 60)
        took = f"{minutes}m{seconds:02d}s" if minutes else f"{self.seconds:.1f}s"
        others = f"{self.elsewhere} run by another bench run, " if self.elsewhere else ""
        return (
            f"{self.done} done, {self.skipped} skipped, {others}{len(self.failed)} failed in {took}; "
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
    rerun: bool = False,
    stale: frozenset = frozenset(),
    worker: CellWorker | None = None,
) -> Summary:
    """Run `cells` (already prepared by `executor`) with `worker` (default: a `CellWorker`
    writing to `store`; `bench.splits.SplitWorker` builds splits ahead of their cells) and
    return what happened. An executor that does not wait returns right after submitting, with
    `submitted` filled in. A full or read-only disk raises StorageFull: the executor is
    closed, finished records stay."""
    from tqdm.auto import tqdm

    summary = Summary(skipped=skipped)
    start = time.perf_counter()
    try:
        handles = executor.submit(cells, worker or CellWorker(store.root, settings, rerun=rerun, stale=stale))
        if not executor.wait:
            summary.submitted = executor.submitted()
            return summary
        bar = tqdm(total=len(cells), desc="cells", unit="cell", disable=not progress, dynamic_ncols=True)
        try:
            for handle in executor.as_completed(handles):
                try:
                    record = handle.result()
                except Exception as error:  # the worker died before it could write a record
                    if storage_failure(error):
                        raise StorageFull(storage_failure(error)) from None
                    record = failed_record(handle.cell, error, settings.device)
                    store.write(record)
                if record["status"] == ELSEWHERE:
                    summary.elsewhere += 1
                elif record["status"] == FAILED:
                    summary.failed.append(record)
                    bar.write(f"failed: {handle.cell.key}: {record['error']['type']}: {record['error']['message']}")
                else:
                    summary.done += 1
                bar.set_postfix_str(f"{handle.cell.method} {handle.cell.dataset} c{handle.cell.normal_class}")
                bar.update()
        finally:
            bar.close()
    finally:
        executor.close()
    summary.seconds = time.perf_counter() - start
    return summary
