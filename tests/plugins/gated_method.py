"""`test-gated`: a method whose cells run when the test lets them — the source of a plug-in the
tests install as a real distribution (see `tests/plugins/__init__.py`), so that it reaches pool
workers and SLURM tasks, which import nearbench afresh.

With `gate` (a folder) set, `fit` first appends a line to `<gate>/started-<class>-<seed>`
(the SLURM job — its array's id, as records give it —, restart count and process that
started the cell), then waits until the test
creates `<gate>/<class>-<seed>`. With `fail_class`, the cells of that normal class raise
`AskedToFail`. Scores are distances to the training images' mean pixel vector.

`DyingWorker` is a cell worker that dies (raises `OSError`) before writing the record of the
cells of one class: what an executor does when the worker itself, not the method, fails.

Self-contained on purpose: it imports nearbench and numpy only, never the tests.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from bench.detector import Detector
from bench.worker import CellWorker

GATE_TIMEOUT_S = 900.0  # a test that never opens the gate fails instead of hanging its task


class AskedToFail(RuntimeError):
    """Raised by the cells of `fail_class`."""


def pixels(images) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.float64).ravel() for image in images])


class Gated(Detector):
    """Test method: waits at a gate the test opens, fails when asked."""

    profiles = {"smoke": {}, "paper": {}}

    def __init__(self, *, gate: str | None = None, fail_class: int | None = None):
        self.gate = gate
        self.fail_class = fail_class

    def fit(self, train, ctx):
        if self.gate is not None:
            name = f"{ctx.normal_class}-{ctx.seed}"
            gate = Path(self.gate)
            job = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID", "-"))
            started = f"{job} {os.environ.get('SLURM_RESTART_COUNT', '0')} {os.getpid()}\n"
            with open(gate / f"started-{name}", "a") as marker:
                marker.write(started)
            deadline = time.monotonic() + GATE_TIMEOUT_S
            while not (gate / name).exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gate {gate / name} stayed closed for {GATE_TIMEOUT_S:.0f} s")
                time.sleep(0.05)
        if self.fail_class is not None and ctx.normal_class == self.fail_class:
            raise AskedToFail(f"class {ctx.normal_class} fails as the test asked")
        self.mean_ = pixels(train).mean(axis=0)
        return self

    def score(self, test, ctx):
        return np.linalg.norm(pixels(test) - self.mean_, axis=1)


class DyingWorker(CellWorker):
    """`CellWorker` that raises `OSError` instead of running the cells of `die_class`."""

    def __init__(self, results_root, settings, *, die_class: int, rerun: bool = False, stale: frozenset = frozenset()):
        super().__init__(results_root, settings, rerun=rerun, stale=stale)
        self.die_class = die_class

    def __getstate__(self):
        return {**super().__getstate__(), "die_class": self.die_class}

    def __call__(self, cell):
        if cell.normal_class == self.die_class:
            raise OSError(f"worker died on class {cell.normal_class}")
        return super().__call__(cell)
