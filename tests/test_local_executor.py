"""Process hygiene of the `local` executor: a worker killed mid-cell fails only that cell, and
no worker outlives a killed `bench run`. The cells are `test-gated` ones, held in `fit` until
the test releases them, so what runs when never depends on the machine's speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bench.executors import make_executor
from bench.executors.drive import run_sweep
from bench.plan import make_plan
from bench.settings import RunSettings
from bench.store import Store
from tests.cluster import wait_until
from tests.plugins import METHOD


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped) is not running cells
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_worker_fails_only_its_cell_and_the_pool_is_replaced(gated_method, results):
    import threading

    gate = gated_method
    cells = make_plan(METHOD, "digits", classes="0,1,2,3", overrides=[gate.setting]).cells
    keys = [cell.key for cell in cells]
    victim = keys[0]
    executor = make_executor("local", workers=2)
    store = Store(results)
    outcome = {}
    sweep = threading.Thread(target=lambda: outcome.update(summary=run_sweep(
        executor.prepare(cells).cells, executor, store, RunSettings(device="cpu"), progress=False)))
    sweep.start()
    try:
        (start,) = wait_until(lambda: gate.starts(victim), f"{victim} to start", timeout=300)
        os.kill(start.pid, signal.SIGKILL)  # what the out-of-memory killer does
        gate.release(*keys[1:])
        sweep.join(timeout=300)
    finally:
        gate.release(*keys)
        sweep.join()
    summary = outcome["summary"]
    assert summary.done == 3 and [r["cell"]["key"] for r in summary.failed] == [victim]
    records = {r["cell"]["key"]: r for r in store.records()}
    assert sorted(records) == sorted(keys)
    assert all(records[key]["status"] == "ok" for key in keys[1:])
    error = records[victim]["error"]
    assert error["type"] == "WorkerDied"
    assert error["message"] == "the worker process running this cell was killed by SIGKILL — out of memory?"
    # the cells after the death ran in a fresh process, not in the dead one
    assert all(s.pid != start.pid for key in keys[1:] for s in gate.starts(key))


def test_a_failure_never_replaces_a_successful_record(results):
    cell = make_plan("dn2", "digits", classes="0").cells[0]
    store = Store(results)
    ok = {"cell": cell.to_dict(), "status": "ok", "metrics": {"auroc": 0.9, "aupr": 0.9}}
    store.write(ok)
    store.write({"cell": cell.to_dict(), "status": "failed", "error": {"type": "WorkerDied", "message": "x"}})
    assert store.read(cell.key) == ok


def test_no_worker_outlives_a_killed_bench_run(gated_method, tmp_path):
    gate = gated_method
    results = tmp_path / "results"
    command = [sys.executable, "-m", "bench", "run", "--methods", METHOD, "--classes", "0,1,2,3", "--executor",
               "local", "--workers", "2", "--quiet", "--set", gate.setting, "--results", str(results)]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        keys = [f"digits/{METHOD}/x/c{c}-s0" for c in range(4)]

        def two_started():
            assert parent.poll() is None, parent.stderr.read().decode()
            started = [s for key in keys for s in gate.starts(key)]
            return started if len(started) == 2 else None

        workers = {s.pid for s in wait_until(two_started, "two gated cells to start in the pool", timeout=300)}
        assert len(workers) == 2 and parent.pid not in workers
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_until(lambda: not any(alive(pid) for pid in workers), "the pool workers to end with their parent", 60)
    finally:
        gate.release(*keys)
        if parent.poll() is None:
            parent.kill()
    assert not any(s for key in keys for s in gate.starts(key) if s.pid not in workers)  # nothing else started
    assert not list(Store(results).records())  # no worker went on to write a record
