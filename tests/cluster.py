"""Helpers of the tests that run against a real SLURM cluster (`.ci/slurm-up` starts a
one-node one): whether one answers, what it still holds, and waiting on a condition."""

from __future__ import annotations

import functools
import shutil
import subprocess
import time
from pathlib import Path

from bench.executors.slurm import scheduler
from bench.executors.slurm.state import Sweep

WAIT_S = 600  # generous: the CI machine's two cores may be busy


@functools.lru_cache(maxsize=1)
def cluster_problem() -> str | None:
    """Why the SLURM tests cannot run here (a skip reason), or None when a cluster answers."""
    if shutil.which("sinfo") is None:
        return "needs a SLURM cluster: sinfo not found (.ci/slurm-up installs and starts a one-node one)"
    answer = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=60)
    if answer.returncode or not answer.stdout.strip():
        return f"needs a SLURM cluster: sinfo does not answer ({answer.stderr.strip()}); .ci/slurm-up starts one"
    return None


def wait_until(predicate, what: str, timeout: float = WAIT_S, every: float = 0.25):
    """`predicate()`'s value once it is true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def queued(sweep: Sweep) -> dict:
    """The sweep's tasks the controller still runs or holds."""
    return {task: state for task, (state, _) in (scheduler.queue(sweep.job_name) or {}).items() if state in scheduler.ALIVE}


def all_jobs() -> set[str]:
    return set(subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i"], capture_output=True, text=True).stdout.split())


def cancel_sweeps(results: Path) -> None:
    """Cancel every job of every sweep under `results` (a test's leftovers, passed or not)."""
    for sweep in Sweep.all(results) if results.exists() else []:
        if sweep.array_ids():
            subprocess.run(["scancel", *sweep.array_ids()], capture_output=True)
