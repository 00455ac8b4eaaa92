"""Default locations, each overridable by an option or an environment variable."""

from __future__ import annotations

import os
from pathlib import Path


def results_dir(value: str | None = None) -> Path:
    """`--results`, else `$BENCH_RESULTS`, else ./results."""
    return Path(value or os.environ.get("BENCH_RESULTS") or "results")


def data_root(value: str | None = None) -> Path:
    """`--data-root`, else `$BENCH_DATA`, else the per-user cache (~/.cache/nearbench/data)."""
    if value or os.environ.get("BENCH_DATA"):
        return Path(value or os.environ["BENCH_DATA"]).expanduser()
    return _user_cache() / "data"


def cache_dir(value: str | None = None) -> Path:
    """`$BENCH_CACHE`, else ~/.cache/nearbench: feature caches, fake banks, checkpoints."""
    return Path(value or os.environ.get("BENCH_CACHE") or _user_cache()).expanduser()


def _user_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nearbench", appauthor=False))
