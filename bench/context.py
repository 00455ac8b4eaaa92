"""The run context: everything about *where* a piece of work runs, none of *what* it computes.

Methods (`fit`, `score`), datasets (`split`) and generators (`fit`, `sample`) all receive one;
none builds its own or reads global paths. The executor's placement makes one per cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable


def no_progress(iterable: Iterable, total: int | None = None, desc: str | None = None) -> Iterable:
    """The progress reporter that shows nothing (the iterable itself)."""
    return iterable


@dataclass(frozen=True)
class RunContext:
    """Where a cell runs: device, seed, data root, caches, progress.

    - `seed`: the cell's seed (torch, numpy and Python generators start from it).
    - `profile`: the profile the cell was planned with (`smoke`, `paper`, ...).
    - `normal_class`: index of the normal class (in the one-class setting it is known).
    - `device`: `cpu`, `cuda` or `cuda:N`, already resolved.
    - `data_root`: the folder datasets live under.
    - `cache_dir`, `use_cache`: where on-disk caches (features, fake banks, checkpoints) live,
      and whether to use them (`bench run --no-cache` turns them off).
    - `loader_workers`: processes preparing image batches (0: this process).
    - `checkpoint_dir`: this cell's own; training resumes from it (None: no checkpoints).
    - `progress`: `progress(iterable, total=None, desc=None)` wraps long loops in a bar.
    """

    seed: int = 0
    profile: str = "smoke"
    normal_class: int | None = None
    device: str = "cpu"
    data_root: Path = Path(".")
    cache_dir: Path | None = None
    use_cache: bool = True
    loader_workers: int = 0
    checkpoint_dir: Path | None = None
    checkpoint_interval_s: float = 60.0  # save training state at most this often (and at the end)
    progress: Callable[..., Iterable] = no_progress

    def cache(self, kind: str) -> Path | None:
        """The cache folder for `kind` (`features`, `fakes`, ...), or None when caching is off."""
        if not self.use_cache or self.cache_dir is None:
            return None
        return Path(self.cache_dir) / kind
