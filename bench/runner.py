"""run_cell: one cell from data to record. Pure: it prints nothing and writes no result file.

benchmark.split(normal class) → detector.fit(train) → detector.score(test) → metrics → record.
A cell that raises, or whose scores are not one finite number per test image, becomes a
failed record carrying the error; the sweep goes on.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench import registry
from bench.cell import Cell
from bench.detector import RunContext, no_progress
from bench.metrics import one_class_metrics
from bench.provenance import provenance
from bench.seeding import seed_everything
from bench.store import FAILED, OK

SCHEMA = 1


@dataclass(frozen=True)
class RunSettings:
    """Where cells run: the same for every cell of a sweep, and picklable.

    `device` may be `auto` and `loader_workers` None until `placed()` resolves them on the
    machine the cells run on (a SLURM job's node, not the login node that submitted it).
    """

    device: str = "cpu"
    data_root: Path = Path(".")
    cache_dir: Path | None = None
    loader_workers: int | None = 0
    show_progress: bool = False

    def placed(self) -> "RunSettings":
        """Resolve `auto` to the device visible here, and the default loader workers:
        0 on a CPU, 8 on a GPU."""
        from bench.devices import resolve_device

        device = resolve_device(self.device)
        workers = self.loader_workers if self.loader_workers is not None else (0 if device == "cpu" else 8)
        return replace(self, device=device, loader_workers=workers)

    def checkpoint_dir(self, cell: Cell) -> Path | None:
        return None if self.cache_dir is None else Path(self.cache_dir) / "checkpoints" / cell.key

    def context(self, cell: Cell) -> RunContext:
        return RunContext(
            seed=cell.seed,
            profile=cell.profile,
            normal_class=cell.normal_class,
            device=self.device,
            data_root=self.data_root,
            cache_dir=self.cache_dir,
            loader_workers=self.loader_workers,
            checkpoint_dir=self.checkpoint_dir(cell),
            progress=inner_progress if self.show_progress else no_progress,
        )


def inner_progress(iterable, total=None, desc=None):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, position=1, dynamic_ncols=True)


def check_scores(scores, n_test: int) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (n_test,):
        raise ValueError(f"score() returned shape {scores.shape}, expected ({n_test},): one score per test image")
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(f"score() returned {bad} non-finite score(s) out of {n_test}")
    return scores


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_cell(cell: Cell, settings: RunSettings) -> dict:
    """Run one cell and return its record (status "ok" or "failed")."""
    ctx = settings.context(cell)
    record = {"schema": SCHEMA, "cell": cell.to_dict(), "started_at": _now()}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        seed_everything(cell.seed)
        benchmark = registry.datasets.get(cell.dataset).factory(**cell.dataset_params)
        split = benchmark.split(cell.normal_class, settings.data_root)
        detector = registry.methods.get(cell.method).factory(**cell.method_params)
        record["sizes"] = split.sizes
        timings["data_s"] = time.perf_counter() - start

        mark = time.perf_counter()
        detector.fit(split.train, ctx)
        timings["fit_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        scores = check_scores(detector.score(split.test, ctx), len(split.test))
        timings["score_s"] = time.perf_counter() - mark

        record["metrics"] = one_class_metrics(split.is_anomaly, scores, split.anomaly_class)
        record["headline"] = benchmark.headline
        record["status"] = OK
        if ctx.checkpoint_dir is not None:
            shutil.rmtree(ctx.checkpoint_dir, ignore_errors=True)  # only an unfinished cell resumes
    except Exception as error:  # a failing cell is a result, not a crash of the sweep
        record["status"] = FAILED
        record["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "traceback": traceback.format_exc(),
        }
    timings["total_s"] = time.perf_counter() - start
    record["timings"] = timings
    record["finished_at"] = _now()
    record["provenance"] = provenance(settings.device)
    return record


def failed_record(cell: Cell, error: BaseException, settings: RunSettings) -> dict:
    """The record of a cell whose worker never returned one (it died, or was cancelled)."""
    return {
        "schema": SCHEMA,
        "cell": cell.to_dict(),
        "status": FAILED,
        "error": {
            "type": type(error).__name__,
            "message": str(error) or repr(error),
            "traceback": "".join(traceback.format_exception(error)),
        },
        "timings": {},
        "finished_at": _now(),
        "provenance": provenance(settings.device),
    }
