"""Time the quickstart: the default sweep from scratch, then the same command again.

    python benchmarks/quickstart.py [--results DIR]

Prints the wall time of `bench run` on an empty results root (every smoke method on the
embedded digits benchmark), of the repeat that skips every cell, and their ratio, and writes them
to benchmarks/figures/quickstart.json.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import record


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=None, help="scratch results root (default: a temp dir)")
    args = parser.parse_args()
    results = args.results or Path(tempfile.mkdtemp(prefix="nearbench-quickstart-"))
    shutil.rmtree(results, ignore_errors=True)
    run = [sys.executable, "-m", "bench", "run", "--quiet", "--results", str(results)]
    first = timed(run)
    cells = sum(1 for _ in results.rglob("*.json"))
    repeat = timed(run)
    figures = {
        "cells": cells,
        "first_run_s": round(first, 2),
        "seconds_per_cell": round(first / cells, 3),
        "repeat_run_s": round(repeat, 2),
        "repeat_over_first": round(repeat / first, 4),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    record("quickstart", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
