"""The executor contract (`bench.execution`), held by every executor alike: inline, local and
slurm (against the real cluster `.ci/slurm-up` starts; skipped where none answers), each built
by `make_executor` and driven by the real `run_sweep`.

The failing method is the `test-gated` plug-in (installed through an entry point, so that it
reaches pool workers and SLURM tasks too), ungated here: its class-1 cell raises. The dying
worker (a `CellWorker` that raises before writing a record) lives in the same plug-in module, so
that pool workers and SLURM tasks can unpickle it."""

from __future__ import annotations

import functools

import pytest

from bench.execution import CellHandle, Executor, Preparation
from bench.executors import make_executor
from bench.executors.drive import run_sweep
from bench.executors.slurm import SlurmRequest
from bench.executors.slurm.options import SlurmOptions
from bench.executors.slurm.state import Sweep
from bench.plan import make_plan
from bench.settings import RunSettings
from bench.store import Store
from tests.cluster import all_jobs, cluster_problem
from tests.plugins import METHOD

EXECUTORS = [
    "inline",
    "local",
    pytest.param("slurm", marks=pytest.mark.skipif(cluster_problem() is not None, reason=str(cluster_problem()))),
]


def build(name: str, results, keys: list[str], options: SlurmOptions | None = None) -> Executor:
    if name == "slurm":
        request = SlurmRequest(options=options or SlurmOptions(), results_root=results, plan_keys=keys,
                               command="test_executors", allow_dirty=True, wait=True)
        return make_executor("slurm", slurm=request)
    return make_executor(name, workers=2 if name == "local" else None)


@pytest.mark.parametrize("name", EXECUTORS)
def test_every_executor_runs_each_cell_once_and_hands_back_its_record(name, gated_method, slurm_results):
    results = slurm_results  # a plain folder under tmp_path; SLURM jobs left behind are cancelled
    cells = make_plan(f"dn2,pyod-knn,{METHOD}", "digits", classes="0,1", overrides=[f"{METHOD}.fail_class=1"]).cells
    keys = [cell.key for cell in cells]
    assert len(set(keys)) == 6
    failing = next(cell.key for cell in cells if cell.method == METHOD and cell.normal_class == 1)
    store = Store(results)
    executor = build(name, results, keys)
    jobs_before = all_jobs() if name == "slurm" else set()

    # prepare: decides and checks, runs nothing
    preparation = executor.prepare(cells)
    assert isinstance(preparation, Preparation)
    assert [cell.key for cell in preparation.cells] == keys
    assert preparation.description.strip() and "\n" not in preparation.description
    assert "6 cell" in preparation.description, preparation.description
    assert not results.exists() or not list(store.records())
    if name == "slurm":
        assert all_jobs() <= jobs_before and Sweep.all(results) == []  # nothing queued, no sweep recorded

    # run_sweep drives the executor; watch what it hands back
    submitted, completed = [], []
    submit, as_completed = executor.submit, executor.as_completed
    executor.submit = lambda cells, worker: submitted.extend(submit(cells, worker)) or list(submitted)
    executor.as_completed = lambda handles: (completed.append(h) or h for h in as_completed(handles))
    summary = run_sweep(preparation.cells, executor, store, RunSettings(device="cpu"), progress=False)

    assert all(isinstance(handle, CellHandle) for handle in submitted)
    assert sorted(handle.cell.key for handle in submitted) == sorted(keys)  # one handle per cell (slurm packs by split)
    assert len(completed) == len(submitted) and {id(h) for h in completed} == {id(h) for h in submitted}  # each once
    assert summary.done == 5 and [r["cell"]["key"] for r in summary.failed] == [failing] and not summary.submitted

    records = {record["cell"]["key"]: record for record in store.records()}
    assert sorted(records) == sorted(keys)  # a record for every cell
    for handle in submitted:
        assert handle.done() and handle.exception() is None  # a failing method is a result, not a dead worker
        record = handle.result()
        assert record == records[handle.cell.key] == store.read(handle.cell.key)  # what the store holds
        assert record["cell"] == handle.cell.to_dict()
        if handle.cell.key == failing:
            assert record["status"] == "failed" and summary.failed == [record]
            assert record["error"]["type"] == "AskedToFail"
            assert record["error"]["message"] == "class 1 fails as the test asked"
            assert "AskedToFail" in record["error"]["traceback"]
        else:
            assert record["status"] == "ok" and 0.0 <= record["metrics"]["auroc"] <= 1.0
    if name == "slurm":  # the cells ran in the sweep's job array, from its code snapshot
        (sweep,) = Sweep.all(results)
        (submission,) = sweep.submissions
        assert {r["provenance"]["slurm_job_id"] for r in records.values()} <= set(submission.arrays)
        assert {r["provenance"]["code_dir"] for r in records.values()} == {submission.code["dir"]}


@pytest.mark.parametrize("name", EXECUTORS)
def test_a_worker_that_dies_leaves_a_failed_record_and_the_sweep_goes_on(name, gated_method, slurm_results, monkeypatch):
    import nearbench_test_gated  # the plug-in's module: importable in pool workers and SLURM tasks too

    results = slurm_results
    cells = make_plan("dn2", "digits", classes="0,1,2").cells
    keys = [cell.key for cell in cells]
    (dying,) = [cell.key for cell in cells if cell.normal_class == 1]
    store = Store(results)
    # on SLURM, a task of its own for each cell: a worker that dies takes its task down
    executor = build(name, results, keys, SlurmOptions(cells_per_job=1))
    monkeypatch.setattr("bench.executors.drive.CellWorker", functools.partial(nearbench_test_gated.DyingWorker, die_class=1))
    summary = run_sweep(executor.prepare(cells).cells, executor, store, RunSettings(device="cpu"), progress=False)

    assert summary.done == 2 and [r["cell"]["key"] for r in summary.failed] == [dying]
    records = {record["cell"]["key"]: record for record in store.records()}
    assert sorted(records) == sorted(keys)
    assert all(records[key]["status"] == "ok" for key in keys if key != dying)  # before and after it
    record = records[dying]
    assert record["status"] == "failed" and record["timings"] == {}  # written by run_sweep, not by a worker
    if name == "slurm":  # the exception stayed in the task: what reaches us is its end, with its log's tail
        assert record["error"]["type"] == "TaskEnded" and "without writing this cell's record" in record["error"]["message"]
        assert "OSError: worker died on class 1" in record["error"]["message"]
    else:
        assert (record["error"]["type"], record["error"]["message"]) == ("OSError", "worker died on class 1")
