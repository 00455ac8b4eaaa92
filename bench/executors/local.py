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
from bench.executors.base import CellHandle, CellWorker, Executor, limit_threads


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

    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        workers = max(1, min(self.workers, len(cells)))
        threads = max(1, (os.cpu_count() or 1) // workers)
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
