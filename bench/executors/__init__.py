"""Executors: where cells run. `inline` (this process) and `local` (a process pool)."""

from __future__ import annotations

from bench.errors import UserError
from bench.executors.base import CellHandle, CellWorker, Executor

EXECUTORS = ("inline", "local")


def make_executor(name: str, *, workers: int | None = None) -> Executor:
    if name == "inline":
        from bench.executors.inline import InlineExecutor

        return InlineExecutor()
    if name == "local":
        from bench.executors.local import LocalExecutor

        return LocalExecutor(workers=workers)
    raise UserError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}")


__all__ = ["CellHandle", "CellWorker", "Executor", "EXECUTORS", "make_executor"]
