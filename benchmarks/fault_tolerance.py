"""Fault tolerance in figures: pool workers after their `bench run` is SIGKILLed, a pool
worker SIGKILLed mid-cell, and four `bench run`s started at once over one results root.

Cells are the tests' `test-gated` plug-in (installed as a real entry point), held in `fit`
until released, so what runs when is decided here, not by the machine's speed.

    python benchmarks/fault_tolerance.py [--trials 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402 - MonkeyPatch, to install the plug-in as the tests do

from _common import record  # noqa: E402
from bench.store import Store  # noqa: E402
from tests import plugins  # noqa: E402
from tests.cluster import wait_until  # noqa: E402
from tests.test_local_executor import alive  # noqa: E402

BENCH = [sys.executable, "-m", "bench", "run", "--methods", plugins.METHOD, "--quiet"]


def orphan_trial(gate, folder: Path) -> dict:
    """SIGKILL a `bench run --executor local --workers 2` while two cells run; how long its
    workers outlive it, and whether anything is written afterwards."""
    results = folder / "results"
    parent = subprocess.Popen([*BENCH, "--classes", "0,1,2,3", "--executor", "local", "--workers", "2",
                               "--set", gate.setting, "--results", str(results)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keys = [f"x/c{c}-s0" for c in range(4)]
    starts = wait_until(lambda: [s for k in keys for s in gate.starts(k)] if sum(len(gate.starts(k)) for k in keys) >= 2
                        else None, "two cells to start", timeout=600)
    workers = {s.pid for s in starts}
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    killed = time.monotonic()
    wait_until(lambda: not any(alive(pid) for pid in workers), "the workers to end", timeout=120, every=0.05)
    gone_s = time.monotonic() - killed
    gate.release(*keys)
    time.sleep(2)
    return {"workers": len(workers), "workers_gone_after_s": round(gone_s, 3),
            "records_written": len(list(Store(results).records()))}


def killed_worker(gate, folder: Path) -> dict:
    """SIGKILL the pool worker of one of 6 cells: what the sweep records."""
    results = folder / "results"
    run = subprocess.Popen([*BENCH, "--classes", "0,1,2,3,4,5", "--executor", "local", "--workers", "2",
                            "--set", gate.setting, "--results", str(results)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    victim = "x/c0-s0"
    (start,) = wait_until(lambda: gate.starts(victim), "the first cell to start", timeout=600)
    os.kill(start.pid, signal.SIGKILL)
    gate.release(*[f"x/c{c}-s0" for c in range(6)])
    out, _ = run.communicate(timeout=600)
    records = list(Store(results).records())
    failed = [r for r in records if r["status"] == "failed"]
    return {"cells": 6, "exit_status": run.returncode, "ok": sum(r["status"] == "ok" for r in records),
            "failed": len(failed), "failed_message": failed[0]["error"]["message"] if failed else None,
            "summary": out.strip().splitlines()[-1]}


def overlapping_runs(gate, folder: Path, runs: int = 4) -> dict:
    """`runs` inline `bench run`s started at once over 30 cells (gates open): executions per cell."""
    names = [f"{c}-{s}" for c in range(10) for s in range(3)]
    for name in names:
        (gate.folder / name).touch()
    command = [*BENCH, "--seeds", "0,1,2", "--executor", "inline", "--set", gate.setting,
               "--results", str(folder / "results")]
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(runs)]
    statuses = [p.wait(timeout=900) for p in processes]
    counts = Counter({name: len((gate.folder / f"started-{name}").read_text().splitlines()) for name in names})
    return {"runs": runs, "cells": len(names), "executions": sum(counts.values()),
            "duplicated_cells": sum(n > 1 for n in counts.values()), "exit_statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="orphan trials (default 5)")
    args = parser.parse_args()
    figures = {"machine": f"{os.cpu_count()} CPUs", "orphans": [], "killed_worker": None, "overlap": None}
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["BENCH_CACHE"] = str(Path(scratch) / "cache")
        for trial in range(args.trials + 2):
            folder = Path(scratch) / f"run{trial}"
            with pytest.MonkeyPatch.context() as patch:
                gate = plugins.install(folder / "plugins", patch)
                if trial < args.trials:
                    figures["orphans"].append(orphan_trial(gate, folder))
                elif trial == args.trials:
                    figures["killed_worker"] = killed_worker(gate, folder)
                else:
                    figures["overlap"] = overlapping_runs(gate, folder)
            plugins.uninstall()
    record("fault_tolerance", figures)


if __name__ == "__main__":
    main()
