"""`inline`: every cell in this process, one after another — the executor to debug with."""

from __future__ import annotations

from typing import Iterator, Sequence

from bench.cell import Cell
from bench.execution import CellHandle, Executor, Preparation
from bench.worker import CellWorker


class InlineHandle(CellHandle):
    """Runs its cell the first time its result is asked for."""

    def __init__(self, cell: Cell, worker: CellWorker):
        super().__init__(cell)
        self._worker = worker
        self._record: dict | None = None

    def done(self) -> bool:
        return self._record is not None

    def result(self) -> dict:
        if self._record is None:
            self._record = self._worker(self.cell)
        return self._record


class InlineExecutor(Executor):
    name = "inline"

    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        return Preparation(list(cells), f"{len(cells)} cell(s) one after another in this process")

    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        return [InlineHandle(cell, worker) for cell in cells]

    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]:
        for handle in handles:
            handle.result()
            yield handle
