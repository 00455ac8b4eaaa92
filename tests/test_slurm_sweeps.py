"""A sweep's bookkeeping and its cells' statuses from records plus what squeue says, and the
array task's own loop; the cluster itself is exercised in test_slurm_cluster.py."""

import cloudpickle

from bench.atomic import write_json
from bench.cell import Cell
from bench.worker import CellWorker
from bench.plan import make_plan
from bench.settings import RunSettings
from bench.executors.slurm.state import Submission, Sweep, Task, cell_statuses, sweep_id
from bench.executors.slurm.task import SlurmTask
from bench.store import Store
from tests.conftest import run_cli


def cell(i: int) -> Cell:
    return Cell("dn2", "digits", i, 0, "smoke")


def record(c: Cell, status: str, finished_at: str, job: str | None = None, **extra) -> dict:
    """A record as the task of SLURM job array `job` writes it (None: written outside SLURM)."""
    metrics = {"metrics": {"auroc": 0.9, "aupr": 0.9, "fpr95": 0.1}} if status == "ok" else {}
    return {"cell": c.to_dict(), "status": status, "finished_at": finished_at, "provenance": {"slurm_job_id": job},
            **metrics, **extra}


def test_sweep_ids_depend_on_results_root_and_cells_not_their_order(tmp_path):
    keys = [cell(i).key for i in range(3)]
    assert sweep_id(tmp_path, keys) == sweep_id(tmp_path, keys[::-1])
    assert sweep_id(tmp_path, keys) != sweep_id(tmp_path / "other", keys) != sweep_id(tmp_path, keys[:2])


def test_cell_statuses_combine_records_and_the_queue(results):
    cells = [cell(i) for i in range(11)]
    early = Submission("2026-01-01T00:00:00+00:00", ["10"], [Task("10_0", [cells[8].key], "/logs/10_0_0_log.out")], {}, {})
    tasks = [
        Task("20_0", [c.key for c in cells[0:3]], "/logs/20_0_0_log.out"),  # running
        Task("20_1", [c.key for c in cells[3:5]], "/logs/20_1_0_log.out"),  # queued
        Task("20_2", [c.key for c in cells[5:7]], "/logs/20_2_0_log.out"),  # cancelled
        Task("20_3", [cells[7].key], "/logs/20_3_0_log.out"),  # not in the queue's answer
        Task("20_4", [cells[10].key, cells[9].key], "/logs/20_4_0_log.out"),  # running, its own order
    ]
    late = Submission("2026-01-02T00:00:00+00:00", ["20"], tasks, {}, {})
    sweep = Sweep("abc", str(results), "bench run …", late.submitted_at, [c.key for c in cells], [early, late])
    store = Store(results)
    store.write(record(cells[0], "ok", "2026-01-02T00:01:00+00:00", "20"))
    store.write(record(cells[1], "failed", "2026-01-02T00:02:00+00:00", "20", error={"type": "ValueError", "message": "bad"}))
    # a failure of an earlier run, even one stamped after the submission: not the task's
    store.write(record(cells[3], "failed", "2026-01-02T00:00:00+00:00", "7", error={"type": "E", "message": "old"}))
    store.write(record(cells[5], "ok", "2025-12-31T00:00:00+00:00"))  # done before: done, whoever runs it
    store.write(record(cells[8], "ok", "2026-01-01T00:05:00+00:00", "10"))
    queue = {"20_0": ("RUNNING", "None"), "20_1": ("PENDING", "Resources"), "20_2": ("CANCELLED", "None"),
             "20_4": ("RUNNING", "None")}

    got = {s.key: (s.status, s.task.id if s.task else None, s.detail) for s in cell_statuses(sweep, store, queue)}
    assert got[cells[0].key][0] == "done"
    assert got[cells[1].key] == ("failed", "20_0", "ValueError: bad")
    assert got[cells[2].key][:2] == ("running", "20_0")  # the first cell of a running task without a record
    assert got[cells[3].key] == ("pending", "20_1", "task 20_1 pending (Resources)")  # its failure predates the task
    assert got[cells[4].key][0] == "pending"
    assert got[cells[5].key][0] == "done"
    assert got[cells[6].key] == ("missing", "20_2", "task 20_2 ended (CANCELLED)")
    assert got[cells[7].key] == ("missing", "20_3", "task 20_3 ended (gone from the queue)")
    assert got[cells[8].key][0] == "done"
    assert (got[cells[9].key][0], got[cells[10].key][0]) == ("pending", "running")  # tasks run their own order
    unknown = {s.status for s in cell_statuses(sweep, store, None) if s.key in (cells[2].key, cells[6].key)}
    assert unknown == {"unknown"}  # no record and no answer from squeue: nothing is claimed


def test_sweep_state_round_trips_through_its_file(results):
    task = Task("7_1", [cell(1).key], "/logs/7_1_0_log.out")
    sweep = Sweep("abc", str(results), "bench run", "t0", [cell(1).key], [Submission("t1", ["7"], [task], {"sha256": "x"}, {"time": 5})])
    sweep.save()
    loaded = Sweep.load(results, "abc")
    assert loaded == sweep and loaded.latest_tasks()[cell(1).key][0] == task
    assert [s.id for s in Sweep.all(results)] == ["abc"]


def test_a_task_runs_its_cells_in_order_skipping_done_and_finished_ones(results, monkeypatch):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(variable, "2")  # the task sets them to its CPUs: restored afterwards
    cells = make_plan("dn2", "digits", classes="0,1,2").cells
    store = Store(results)
    worker = CellWorker(results, RunSettings(device="auto", loader_workers=None))
    task = SlurmTask(worker)
    assert task(cells[:2]) == {"ok": 2}
    first = store.read(cells[0].key)
    assert task.finished == {cells[0].key, cells[1].key}

    # requeued: submitit pickles the task with its progress and calls it again on the same cells
    requeued = cloudpickle.loads(cloudpickle.dumps(task.checkpoint(cells)))
    assert requeued.function.finished == task.finished and requeued.args == (cells,)
    assert requeued.result() == {"ok": 1}  # only the unfinished cell ran
    assert store.read(cells[0].key) == first and store.read(cells[2].key)["status"] == "ok"

    # a fresh task (a resubmission) skips cells with a successful record
    write_json(store.path(cells[1].key), {**store.read(cells[1].key), "status": "failed"})  # (store.write keeps an ok one)
    assert SlurmTask(worker)(cells) == {"ok": 1}
    assert store.read(cells[0].key) == first
    assert SlurmTask(worker, rerun=True)(cells[:1]) == {"ok": 1}  # --rerun: a successful record does not skip


def test_status_and_cancel_name_the_sweeps_they_know(results):
    status, out, err = run_cli("status", "--results", str(results))
    assert status == 2 and out == "" and "no SLURM sweeps under" in err and "bench run --executor slurm" in err
    Sweep("abc", str(results), "bench run", "t0", [cell(1).key]).save()
    for command in ("status", "cancel"):
        status, out, err = run_cli(command, "nope", "--results", str(results))
        assert status == 2 and len(err.strip().splitlines()) == 1 and "no sweep 'nope'" in err and "known: abc" in err


def test_a_damaged_sweep_file_affects_only_its_own_sweep(results):
    Sweep("good", str(results), "bench run", "t0", [cell(1).key]).save()
    damaged = results / "sweeps" / "bad" / "sweep.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"id": "bad", "cells": [')  # cut short
    status, out, err = run_cli("status", "--results", str(results))
    assert status == 0 and "sweep good:" in out
    assert f"notice: sweep bad: its state file {damaged} is damaged" in err and "delete" in err
    status, out, err = run_cli("status", "good", "--results", str(results))
    assert status == 0 and "sweep good:" in out and not err
    status, _, err = run_cli("status", "bad", "--results", str(results))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "is damaged" in err
