"""`inline`: every cell in this process, one after another — the executor to debug with."""

from __future__ import annotations

from typing import Iterator, Sequence

from bench.cell import Cell
from bench.execution import CellHandle, Executor, Preparation
from bench.worker import CellWorker


class InlineHandle(CellHandle):
    """Runs its cell once, the first time it is run or its result asked for; an error of the
    worker itself (not of the cell, which becomes a failed record) is kept and raised by
    `result()`, as a pool's future would."""

    def __init__(self, cell: Cell, worker: CellWorker):
        super().__init__(cell)
        self._worker = worker
        self._record: dict | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        if not self.done():
            try:
                self._record = self._worker(self.cell)
            except Exception as error:
                self._error = error

    def done(self) -> bool:
        return self._record is not None or self._error is not None

    def result(self) -> dict:
        self.run()
        if self._error is not None:
            raise self._error
        return self._record


class InlineExecutor(Executor):
    name = "inline"

    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        return Preparation(list(cells), f"{len(cells)} cell(s) one after another in this process")

    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        return [InlineHandle(cell, worker) for cell in cells]

    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]:
        for handle in handles:
            handle.run()
            yield handle
