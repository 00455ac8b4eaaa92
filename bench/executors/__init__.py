"""Executors: where cells run. `inline` (this process), `local` (a process pool) and `slurm`
(job arrays on a cluster, `bench.executors.slurm`, built by `bench run` from its SLURM options)."""

from __future__ import annotations

import os

from bench.errors import UserError
from bench.executors.base import CellHandle, CellWorker, Executor

EXECUTORS = ("auto", "inline", "local", "slurm")


def choose_executor(name: str, *, cells: int, device: str) -> str:
    """`auto`: a local pool when several CPU cores can share many cells, else inline (one
    GPU is best fed by one process; a few cells are not worth starting workers)."""
    if name != "auto":
        return name
    cores = os.cpu_count() or 1
    return "local" if device == "cpu" and cores > 1 and cells >= 2 * cores else "inline"


def make_executor(name: str, *, workers: int | None = None) -> Executor:
    if name == "inline":
        from bench.executors.inline import InlineExecutor

        return InlineExecutor()
    if name == "local":
        from bench.executors.local import LocalExecutor

        return LocalExecutor(workers=workers)
    raise UserError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS[:3])}")


__all__ = ["CellHandle", "CellWorker", "Executor", "EXECUTORS", "choose_executor", "make_executor"]
