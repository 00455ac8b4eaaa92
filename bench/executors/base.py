"""The executor interface: submit cells, then observe handles as they finish.

Every executor runs the same picklable `CellWorker` on each cell; the worker writes the
cell's record as soon as the cell ends, so a sweep that dies keeps what it finished, and
all observing can be rebuilt from the records.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

from bench.cell import Cell
from bench.runner import RunSettings, run_cell
from bench.store import Store


def limit_threads(threads: int) -> None:
    """Let this process's numerical libraries use `threads` threads (its share of the cores)."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    import torch

    torch.set_num_threads(threads)


class CellWorker:
    """Runs one cell and writes its record: the unit of work every executor ships."""

    def __init__(self, results_root: Path, settings: RunSettings):
        self.results_root = Path(results_root)
        self.settings = settings

    def __call__(self, cell: Cell) -> dict:
        record = run_cell(cell, self.settings)
        Store(self.results_root).write(record)
        return record


class CellHandle(ABC):
    """A submitted cell. `result()` returns its record or raises what killed the worker."""

    def __init__(self, cell: Cell):
        self.cell = cell

    @abstractmethod
    def done(self) -> bool: ...

    @abstractmethod
    def result(self) -> dict: ...

    def exception(self) -> BaseException | None:
        try:
            self.result()
        except Exception as error:
            return error
        return None

    @property
    def log_path(self) -> Path | None:
        return None


class Executor(ABC):
    """Runs cells somewhere; `submit` returns at once, `as_completed` yields finished handles."""

    name: ClassVar[str]

    @abstractmethod
    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]: ...

    @abstractmethod
    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]: ...

    def close(self) -> None:
        """Release workers; the default has none."""
