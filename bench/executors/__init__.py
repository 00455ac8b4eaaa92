"""Executors: where cells run. `inline` (this process), `local` (a process pool) and `slurm`
(job arrays on a cluster), all built by `make_executor` and driven by `drive.run_sweep`."""

from __future__ import annotations

import os

from bench.errors import UserError
from bench.execution import CellHandle, Executor, Preparation

EXECUTORS = ("auto", "inline", "local", "slurm")


def choose_executor(name: str, *, cells: int, device: str, workers: int | None = None) -> str:
    """`auto`: a local pool when several CPU cores can share many cells (or `workers` were
    asked for), else inline (one GPU is best fed by one process; a few cells are not worth
    starting workers)."""
    if name != "auto":
        return name
    if workers is not None:
        return "local"
    cores = os.cpu_count() or 1
    return "local" if device == "cpu" and cores > 1 and cells >= 2 * cores else "inline"


def make_executor(name: str, *, workers: int | None = None, slurm=None) -> Executor:
    """The executor called `name` (not `auto`: see `choose_executor`). `workers` sizes the
    local pool; `slurm` is the `bench.executors.slurm.SlurmRequest` of a SLURM sweep."""
    if name not in EXECUTORS[1:]:
        raise UserError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS[1:])}")
    if workers is not None and name != "local":
        raise UserError(f"--workers sizes the local executor's pool: drop it, or use --executor local (not {name})")
    if name == "inline":
        from bench.executors.inline import InlineExecutor

        return InlineExecutor()
    if name == "local":
        from bench.executors.local import LocalExecutor

        return LocalExecutor(workers=workers)
    from bench.executors.slurm import SlurmExecutor, SlurmRequest

    return SlurmExecutor(slurm or SlurmRequest())


__all__ = ["CellHandle", "Executor", "Preparation", "EXECUTORS", "choose_executor", "make_executor"]
