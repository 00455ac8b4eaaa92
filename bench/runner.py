"""run_cell: one cell from data to record. Pure: it prints nothing and writes no file.

benchmark.split(normal class) → detector.fit(train) → detector.score(test) → metrics → record.
Where fakes take part, the record names them: `test_fakes` from the split's metadata (a
near-distribution set's bank), `train_fakes` from the detector's `train_fakes_` (the bank a
fake-trained method learned from): file, SHA-256, generator, config hash, stream, seed and,
when measured, the bank's fake-quality figures.
A cell that raises, or whose scores are not one finite number per test image, becomes a
failed record carrying the error; the sweep goes on. A full or read-only disk is not the
cell's failure: that error propagates, and the sweep stops. A successful record names its data
(`data`: the split's fingerprint and its image sets' content keys) and its code (`code`:
`bench.code_identity`), so that it can be found stale when either changes.
"""

from __future__ import annotations

import time

import numpy as np

from bench import registry
from bench.cell import Cell
from bench.code_identity import code_identity
from bench.metrics import one_class_metrics
from bench.places import storage_failure
from bench.provenance import provenance
from bench.records import FAILED, OK, SCHEMA, error_entry
from bench.seeding import seed_everything
from bench.settings import RunSettings
from bench.timestamps import utc_now


def check_scores(scores, n_test: int) -> np.ndarray:
    """`scores` as float64 (n_test,); ValueError unless one finite score per test image."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (n_test,):
        raise ValueError(f"score() returned shape {scores.shape}, expected ({n_test},): one score per test image")
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(f"score() returned {bad} non-finite score(s) out of {n_test}")
    return scores


def run_cell(cell: Cell, settings: RunSettings) -> dict:
    """Run one cell (settings already placed) and return its record, "ok" or "failed"."""
    ctx = settings.context(cell)
    record = {"schema": SCHEMA, "cell": cell.to_dict(), "started_at": utc_now()}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        seed_everything(cell.seed)
        benchmark = registry.datasets.get(cell.dataset).factory(**cell.dataset_params)
        split = benchmark.split(cell.normal_class, ctx)
        detector = registry.methods.get(cell.method).factory(**cell.method_params)
        record["sizes"] = split.sizes
        if "test_fakes" in split.metadata:
            record["test_fakes"] = split.metadata["test_fakes"]
        record["data"] = {
            "fingerprint": benchmark.fingerprint(cell.normal_class, ctx, split),
            "train": split.train.key,
            "test": split.test.key,
        }
        record["code"] = code_identity(cell.method, cell.method_params)
        timings["data_s"] = time.perf_counter() - start

        mark = time.perf_counter()
        detector.fit(split.train, ctx)
        timings["fit_s"] = time.perf_counter() - mark
        if getattr(detector, "train_fakes_", None) is not None:
            record["train_fakes"] = detector.train_fakes_

        mark = time.perf_counter()
        scores = check_scores(detector.score(split.test, ctx), len(split.test))
        timings["score_s"] = time.perf_counter() - mark

        record["metrics"] = one_class_metrics(split.is_anomaly, scores, split.anomaly_class)
        record["headline"] = benchmark.headline
        record["status"] = OK
    except Exception as error:  # a failing cell is a result, not a crash of the sweep
        if storage_failure(error):
            raise  # a full or read-only disk fails every later cell too: the sweep stops
        record["status"] = FAILED
        record["error"] = error_entry(error)
    timings["total_s"] = time.perf_counter() - start
    record["timings"] = timings
    record["finished_at"] = utc_now()
    record["provenance"] = provenance(settings.device)
    return record
