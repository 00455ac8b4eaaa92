"""The executor contract: prepare cells, submit them, then observe handles as they finish.

Every executor (`bench.executors`: inline, local, slurm) runs the same picklable
`bench.worker.CellWorker` on each cell, so everything about a sweep can be rebuilt from its
records. The contract lives here, below the executors, as the method contract lives below
the methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

from bench.cell import Cell
from bench.worker import CellWorker


@dataclass
class Preparation:
    """What `submit` will do, decided and checked before anything runs or is queued.

    `cells` are the cells it will run (an executor may leave some to work already under way
    elsewhere), `description` one line saying how, `notices` what the user should know.
    """

    cells: list[Cell]
    description: str
    notices: list[str] = field(default_factory=list)


class CellHandle(ABC):
    """A submitted cell. `result()` returns its record or raises what killed its worker."""

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
    """Runs cells somewhere. `prepare` checks (raising UserError, running nothing); `submit`
    returns at once; `as_completed` yields handles as their cells finish.

    An executor that does not `wait` (a SLURM sweep submitted without `--wait`) leaves its
    cells running when this process ends; `submitted` then says how to follow them.
    """

    name: ClassVar[str]
    wait: bool = True

    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        return Preparation(list(cells), f"{len(cells)} cell(s) with the {self.name} executor")

    @abstractmethod
    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]: ...

    @abstractmethod
    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]: ...

    def submitted(self) -> list[str]:
        """Lines to show after submitting: where the cells run and how to follow them."""
        return []

    def interrupted(self) -> str:
        """What Ctrl-C while waiting leaves behind."""
        return "interrupted; finished cells keep their records"

    def close(self) -> None:
        """Release workers; the default has none."""
