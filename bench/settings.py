"""Placement: where the cells of a sweep run, the same for every cell, and picklable.

`RunSettings` travels with the cells to wherever they run (this process, a pool worker, a
SLURM job) and makes each cell's `RunContext` there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bench.cell import Cell
from bench.context import RunContext, no_progress
from bench.progress import inner_progress


@dataclass(frozen=True)
class RunSettings:
    """Device, data root, caches and loader workers of a sweep.

    `device` may be `auto` and `loader_workers` None until `placed()` resolves them on the
    machine the cells run on (a SLURM job's node, not the login node that submitted it).
    """

    device: str = "cpu"
    data_root: Path = Path(".")
    cache_dir: Path | None = None
    use_cache: bool = True
    loader_workers: int | None = 0
    show_progress: bool = False

    def placed(self) -> "RunSettings":
        """Resolve `auto` to the device visible here, and the default loader workers:
        0 on a CPU, 8 on a GPU. Raises UserError for a GPU that is not here."""
        from bench.devices import resolve_device

        device = resolve_device(self.device)
        workers = self.loader_workers if self.loader_workers is not None else (0 if device == "cpu" else 8)
        return replace(self, device=device, loader_workers=workers)

    def checkpoint_dir(self, cell: Cell) -> Path | None:
        """The cell's own checkpoint folder under the cache (None when caching is off)."""
        if self.cache_dir is None or not self.use_cache:
            return None
        return Path(self.cache_dir) / "checkpoints" / cell.key

    def context(self, cell: Cell) -> RunContext:
        return RunContext(
            seed=cell.seed,
            profile=cell.profile,
            normal_class=cell.normal_class,
            device=self.device,
            data_root=self.data_root,
            cache_dir=self.cache_dir,
            use_cache=self.use_cache,
            loader_workers=self.loader_workers,
            checkpoint_dir=self.checkpoint_dir(cell),
            progress=inner_progress if self.show_progress else no_progress,
        )
