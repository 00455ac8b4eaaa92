"""`local`: a bounded pool of worker processes on this machine.

At most `workers` cells run at once (unlike submitit's local cluster, which starts every job
together). Workers are spawned, not forked, and split the machine's cores between them.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Iterator, Sequence

from bench.cell import Cell
from bench.execution import CellHandle, Executor, Preparation
from bench.worker import CellWorker, limit_threads


class FutureHandle(CellHandle):
    def __init__(self, cell: Cell, future: Future):
        super().__init__(cell)
        self.future = future

    def done(self) -> bool:
        return self.future.done()

    def result(self) -> dict:
        return self.future.result()


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _shape(self, cells: int) -> tuple[int, int]:
        """(worker processes, threads each) for `cells` cells."""
        workers = max(1, min(self.workers, cells))
        return workers, max(1, (os.cpu_count() or 1) // workers)

    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        workers, threads = self._shape(len(cells))
        return Preparation(list(cells), f"{len(cells)} cell(s) in {workers} worker process(es) of {threads} thread(s)")

    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        workers, threads = self._shape(len(cells))
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=limit_threads,
            initargs=(threads,),
        )
        return [FutureHandle(cell, self._pool.submit(worker, cell)) for cell in cells]

    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]:
        by_future = {handle.future: handle for handle in handles}
        for future in as_completed(by_future):
            yield by_future[future]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
