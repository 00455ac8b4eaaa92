"""`local`: a bounded pool of worker processes on this machine.

At most `workers` cells run at once (unlike submitit's local cluster, which starts every job
together). Workers are spawned, not forked, and split the machine's cores between them.
The pool is pebble's: a worker that dies — killed by the out-of-memory killer, say — fails
only the cell it was running (its record says how it died) and is replaced, and the sweep
goes on. Workers die with this process (`bench.lifetime`): killing `bench run` leaves no
worker running cells or idling on its memory.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, as_completed
from typing import Iterator, Sequence

from bench.cell import Cell
from bench.execution import CellHandle, Executor, Preparation
from bench.worker import CellWorker, limit_threads


class WorkerDied(RuntimeError):
    """The pool process running a cell ended before returning the cell's record."""


def start_worker(threads: int) -> None:
    """Initialise a pool process: end with the parent, use `threads` threads."""
    from bench.lifetime import die_with_parent

    die_with_parent()
    limit_threads(threads)


class FutureHandle(CellHandle):
    def __init__(self, cell: Cell, future: Future):
        super().__init__(cell)
        self.future = future

    def done(self) -> bool:
        return self.future.done()

    def result(self) -> dict:
        from pebble import ProcessExpired

        from bench.lifetime import describe_exit

        try:
            return self.future.result()
        except ProcessExpired as error:
            raise WorkerDied(f"the worker process running this cell was {describe_exit(error.exitcode)}") from None


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def _shape(self, cells: int) -> tuple[int, int]:
        """(worker processes, threads each) for `cells` cells."""
        workers = max(1, min(self.workers, cells))
        return workers, max(1, (os.cpu_count() or 1) // workers)

    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        workers, threads = self._shape(len(cells))
        return Preparation(list(cells), f"{len(cells)} cell(s) in {workers} worker process(es) of {threads} thread(s)")

    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        from pebble import ProcessPool

        workers, threads = self._shape(len(cells))
        self._pool = ProcessPool(
            max_workers=workers, initializer=start_worker, initargs=(threads,),
            context=multiprocessing.get_context("spawn"),
        )
        return [FutureHandle(cell, self._pool.schedule(worker, args=(cell,))) for cell in cells]

    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]:
        by_future = {handle.future: handle for handle in handles}
        for future in as_completed(by_future):
            yield by_future[future]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()  # cells still queued (Ctrl-C) are dropped, running ones ended
            self._pool.join()
            self._pool = None
