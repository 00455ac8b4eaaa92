"""`bench run --executor slurm` against a real SLURM cluster (`.ci/slurm-up` starts a one-node
one): a sweep through sbatch, a killed task resubmitted, a task out of time requeued, and
mistakes that submit nothing. Skipped where no cluster answers.

What runs when is decided by the tests, never by the machine's speed: the killed and the
requeued tasks run `test-gated` cells (a plug-in, `tests/plugins`), which wait in `fit` until
the test releases them."""

import csv
import io
import math
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.executors.slurm import scheduler
from bench.executors.slurm.state import Sweep
from bench.store import Store
from tests.cluster import all_jobs, cluster_problem, queued, wait_until
from tests.conftest import run_cli
from tests.plugins import METHOD

pytestmark = pytest.mark.skipif(cluster_problem() is not None, reason=str(cluster_problem()))


def submit(results: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("run", "--executor", "slurm", "--allow-dirty", "--quiet", "--results", str(results), *args)


def wait_for_start(gate, key: str, store: Store, times: int = 1, what: str = "", alive=lambda: True, timeout: float = 600):
    """Wait until the gated cell `key` has started `times` times. Fails at once, rather than at
    the timeout, when a cell has failed (the plug-in missing in the task, say) or `alive()`
    raises."""
    def started():
        failed = [record for record in store.records() if record["status"] != "ok"]
        assert not failed, f"{failed[0]['cell']['key']} failed: {failed[0]['error']}"
        alive()
        return len(gate.starts(key)) >= times

    wait_until(started, what or f"{key} to start", timeout)


def test_a_sweep_of_24_digit_cells_runs_through_sbatch(slurm_results, tmp_path):
    cells = ("--methods", "dn2,pyod-knn,pyod-pca", "--datasets", "digits", "--classes", "0,1,2,3,4,5,6,7")
    status, out, err = submit(slurm_results, *cells, "--cells-per-job", "2", "--wait")
    assert status == 0, err
    assert "24 done, 0 skipped, 0 failed" in out
    (sweep,) = Sweep.all(slurm_results)
    (submission,) = sweep.submissions
    assert len(submission.tasks) == 12
    assert len(submission.arrays) == math.ceil(12 / scheduler.max_array_size())  # 2 on .ci/slurm-up's cluster

    records = {r["cell"]["key"]: r for r in Store(slurm_results).records()}
    assert sorted(records) == sorted(sweep.cells) and len(records) == 24
    for task in submission.tasks:
        array, _, index = task.id.partition("_")
        assert Path(task.log).is_file()
        for key in task.cells:
            record = records[key]
            assert record["status"] == "ok" and 0.5 < record["metrics"]["auroc"] <= 1.0
            provenance = record["provenance"]
            assert (provenance["slurm_job_id"], provenance["slurm_array_task_id"]) == (array, index or None)
            assert provenance["code_dir"] == submission.code["dir"]  # the task ran the snapshot
            assert provenance["code_sha256"] == submission.code["sha256"] and provenance["git_commit"]
            assert Path(provenance["code_dir"]).is_relative_to(slurm_results / "sweeps" / "code")

    # the same cells in this process give the same numbers
    status, _, err = run_cli("run", *cells, "--executor", "inline", "--quiet", "--results", str(tmp_path / "inline"))
    assert status == 0, err
    inline = {r["cell"]["key"]: r["metrics"]["auroc"] for r in Store(tmp_path / "inline").records()}
    assert inline == pytest.approx({key: r["metrics"]["auroc"] for key, r in records.items()}, abs=1e-6)

    status, out, _ = run_cli("table", "--results", str(slurm_results), "--format", "csv")
    rows = {row["method"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"dn2", "pyod-knn", "pyod-pca"}
    for method, row in rows.items():
        aurocs = [r["metrics"]["auroc"] for r in records.values() if r["cell"]["method"] == method]
        assert float(row["mean"]) == pytest.approx(100 * sum(aurocs) / len(aurocs), abs=1e-4)  # CSV in percent

    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "done 24   running 0   pending 0   failed 0   missing 0" in out


def test_a_killed_task_keeps_its_records_and_resubmitting_runs_exactly_the_missing_cells(slurm_results, gated_method):
    gate = gated_method  # its cells wait in fit until the test releases them: no race with the machine's speed
    cells = ("--methods", METHOD, "--datasets", "digits", "--classes", "0,1,2,3,4,5,6,7", "--set", gate.setting)
    argv = ("run", "--executor", "slurm", "--allow-dirty", "--quiet", "--results", str(slurm_results), *cells,
            "--cells-per-job", "8")
    status, out, err = run_cli(*argv)
    assert status == 0 and "bench status" in out, err
    (sweep,) = Sweep.all(slurm_results)
    (submission,) = sweep.submissions
    (task,) = submission.tasks
    (first_job,) = submission.arrays
    assert len(task.cells) == 8
    done, held, rest = task.cells[:3], task.cells[3], task.cells[4:]
    gate.release(*done)
    store = Store(slurm_results)
    wait_for_start(gate, held, store, what="the 4th cell to start")  # so the first 3 have their records
    assert sorted(r["cell"]["key"] for r in store.records()) == sorted(done)
    subprocess.run(["scancel", "--signal=KILL", task.id], check=True)  # SIGKILL: no grace, no cleanup
    wait_until(lambda: not queued(sweep), "the killed task to leave the queue")

    first = {r["cell"]["key"]: r for r in store.records()}
    assert sorted(first) == sorted(done)
    for record in first.values():
        assert record["status"] == "ok" and record["cell"]["method"] == METHOD  # the plug-in ran in the task
        assert record["provenance"]["slurm_job_id"] == first_job
    assert [len(gate.starts(key)) for key in task.cells] == [1, 1, 1, 1, 0, 0, 0, 0]
    missing = sorted([held, *rest])
    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "done 3   running 0   pending 0   failed 0   missing 5" in out, out
    assert all(f"missing: {key} — task {task.id} ended" in out for key in missing), out
    log = Path(task.log).read_text()
    assert f"[3/8] {done[-1]}: ok in" in log and "[4/8]" not in log
    tail = "\n".join(f"  | {line}" for line in log.rstrip().splitlines()[-10:])
    assert f"last lines of {task.log}:\n{tail}\n" in out  # the log's tail (10 lines by default)
    assert f"to run the failed and missing cells again: bench {shlex.join(argv)}" in out

    gate.release(*task.cells)
    status, out, err = run_cli(*argv, "--wait")
    assert status == 0, err
    assert "5 done, 3 skipped, 0 failed" in out
    sweep = Sweep.load(slurm_results, sweep.id)
    assert len(sweep.submissions) == 2 and sorted(sweep.submissions[1].tasks[0].cells) == missing
    (second_job,) = sweep.submissions[1].arrays
    after = {r["cell"]["key"]: r for r in store.records()}
    assert sorted(after) == sorted(task.cells)
    assert all(after[key] == record for key, record in first.items())  # untouched
    assert all(after[key]["provenance"]["slurm_job_id"] == second_job and after[key]["status"] == "ok" for key in missing)
    # the first 3 cells ran once, in the first job; the killed one in both; the rest only in the second
    assert [[start.job for start in gate.starts(key)] for key in task.cells] == (
        [[first_job]] * 3 + [[first_job, second_job]] + [[second_job]] * 4
    )


def test_a_task_out_of_time_is_requeued_and_runs_only_its_unfinished_cells(slurm_results, gated_method):
    # 6 gated cells in one task with a 2-minute limit: the first 3 run at once, the 4th is held
    # until SLURM's warning (SIGUSR2, 40 s before the limit, up to 30 s earlier) has requeued
    # the task and the requeued task has started it again; then the rest are released.
    gate = gated_method
    cells = ("--methods", METHOD, "--datasets", "digits", "--classes", "0,1,2,3,4,5", "--set", gate.setting)
    command = [sys.executable, "-m", "bench", "run", "--executor", "slurm", "--allow-dirty", "--quiet",
               "--results", str(slurm_results), *cells, "--cells-per-job", "6", "--time", "2", "--requeues", "2", "--wait"]
    waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # follows with --wait
    store = Store(slurm_results)

    def alive() -> bool:
        assert waiting.poll() is None, f"bench run --wait ended early: {waiting.communicate()}"
        return True

    try:
        (sweep,) = wait_until(lambda: alive() and Sweep.all(slurm_results), "the sweep to be submitted")
        (task,) = sweep.submissions[0].tasks
        assert len(task.cells) == 6
        done, held, rest = task.cells[:3], task.cells[3], task.cells[4:]
        gate.release(*done)
        wait_for_start(gate, held, store, what="the 4th cell to start", alive=alive)
        (first_start,) = gate.starts(held)
        assert first_start.restart == 0 and sorted(r["cell"]["key"] for r in store.records()) == sorted(done)
        wait_for_start(gate, held, store, 2, "the requeued task to start the 4th cell again", alive, timeout=300)
        assert gate.starts(held)[1].restart == 1 and "Requeued job" in Path(task.log).read_text()
        gate.release(held, *rest)
        out, err = waiting.communicate(timeout=300)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 0, err
    assert "6 done, 0 skipped, 0 failed" in out

    records = {r["cell"]["key"]: r for r in store.records()}
    assert sorted(records) == sorted(task.cells)
    assert all(r["status"] == "ok" and r["cell"]["method"] == METHOD for r in records.values())
    restarts = [records[key]["provenance"]["slurm_restart_count"] for key in task.cells]
    assert restarts == [0, 0, 0, 1, 1, 1], restarts
    # every cell started once, in the run that finished it — but the held one, in both runs
    assert [[start.restart for start in gate.starts(key)] for key in task.cells] == [[0], [0], [0], [0, 1], [1], [1]]

    log = Path(task.log).read_text()
    finished = Counter(re.findall(r"\] (\S+): ok in", log))
    assert set(finished) == set(task.cells) and set(finished.values()) == {1}  # no cell ran twice
    # each run started with exactly the cells earlier runs had finished
    assert re.findall(r"task of 6 cells: (\d+) already done", log) == ["0", "3"]


def test_mistakes_found_before_submission_queue_nothing(slurm_results, tmp_path, monkeypatch):
    before = all_jobs()
    cells = ("--methods", "dn2", "--classes", "0")
    for argv, message in [
        (("--datasets", "cifar10", "--data-root", str(tmp_path / "empty")), "bench data fetch cifar10"),
        (("--datasets", "digits", "--partition", "nope"), "--partition nope: the cluster has no such partition"),
        (("--datasets", "digits", "--mem", "100000G"), "the cluster would refuse these jobs"),
        (("--datasets", "digits", "--sbatch", "no-such-option=1"), "the cluster would refuse these jobs"),
        (("--datasets", "digits", "--device", "cuda"), "--device cuda needs a GPU in each job"),
    ]:
        status, out, err = submit(slurm_results, *cells, *argv)
        assert status == 2 and out == "", argv
        assert len(err.strip().splitlines()) == 1 and message in err, err
        assert not slurm_results.exists()

    # sources that differ from their commit need --allow-dirty
    repo = tmp_path / "checkout"
    (repo / "bench").mkdir(parents=True)
    (repo / "bench" / "core.py").write_text("x = 1\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "bench" / "new.py").write_text("y = 1\n")
    monkeypatch.setattr("bench.code.SOURCE_DIR", repo)
    status, out, err = run_cli("run", "--executor", "slurm", "--datasets", "digits", *cells, "--results", str(slurm_results))
    assert status == 2 and "uncommitted changes in bench/core.py, bench/new.py" in err and "--allow-dirty" in err
    assert not slurm_results.exists()
    assert all_jobs() <= before  # squeue shows no new job


def test_resubmitting_a_queued_sweep_submits_nothing_and_cancel_stops_it(slurm_results):
    cells = ("--methods", "dn2", "--datasets", "digits", "--classes", "0,1,2", "--cells-per-job", "1",
             "--sbatch", "begin=now+1hour")  # held in the queue
    status, out, err = submit(slurm_results, *cells)
    assert status == 0, err
    (sweep,) = Sweep.all(slurm_results)
    assert len(queued(sweep)) == 3
    # another process, as from another shell: everything it needs is on disk and in the queue
    shown = subprocess.run([sys.executable, "-m", "bench", "status", "--results", str(slurm_results)],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and f"sweep {sweep.id}" in shown.stdout and "done 0   running 0   pending 3" in shown.stdout

    status, out, err = submit(slurm_results, *cells)
    assert status == 0 and "3 cell(s) of sweep" in err and "nothing to submit" in out
    assert len(Sweep.load(slurm_results, sweep.id).submissions) == 1

    status, out, _ = run_cli("cancel", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "cancelled 3 queued or running task(s)" in out
    wait_until(lambda: not queued(sweep), "the cancelled tasks to leave the queue")
    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert "pending 0   failed 0   missing 3" in out
    status, out, _ = run_cli("cancel", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "nothing to cancel" in out


SLURMCTLD_PID = Path("/var/lib/nearbench-slurm/slurmctld.pid")  # where .ci/slurm-up's controller writes it


def controller_answers() -> bool:
    return subprocess.run(["squeue", "-h"], capture_output=True, timeout=60).returncode == 0


def start_controller() -> None:
    """Start slurmctld again if it is down, and wait (bounded) until it answers."""
    if not controller_answers():
        subprocess.run(["slurmctld"], capture_output=True, timeout=60)
    wait_until(controller_answers, "slurmctld to answer again", timeout=120, every=1)


@pytest.mark.skipif(not SLURMCTLD_PID.is_file(), reason="needs the controller .ci/slurm-up starts (to restart it)")
def test_a_sweep_survives_slurmctld_restarting_in_its_middle(slurm_results, gated_method):
    gate = gated_method
    cells = ("--methods", METHOD, "--datasets", "digits", "--classes", "0,1", "--set", gate.setting)
    command = [sys.executable, "-m", "bench", "run", "--executor", "slurm", "--allow-dirty", "--quiet",
               "--results", str(slurm_results), *cells, "--cells-per-job", "2", "--wait"]
    waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store(slurm_results)

    def alive() -> bool:
        assert waiting.poll() is None, f"bench run --wait ended early: {waiting.communicate()}"
        return True

    try:
        (sweep,) = wait_until(lambda: alive() and Sweep.all(slurm_results), "the sweep to be submitted")
        (task,) = sweep.submissions[0].tasks
        wait_for_start(gate, task.cells[0], store, what="the first cell to start", alive=alive)
        subprocess.run(["scontrol", "shutdown", "slurmctld"], capture_output=True, timeout=60)
        wait_until(lambda: not controller_answers(), "slurmctld to stop", timeout=60, every=0.5)

        status, out, err = run_cli("status", sweep.id, "--results", str(slurm_results))
        assert status == 0 and "the SLURM queue is unreachable" in err and "unknown 2" in out, (out, err)
        gate.release(*task.cells)  # the task goes on on its node while the controller is down
        wait_until(lambda: len(list(store.records())) == 2, "both records, written with the controller down")
        alive()
    finally:
        start_controller()  # whatever happened, the cluster is left running
        gate.release(*task.cells) if "task" in locals() else None
    try:
        out, err = waiting.communicate(timeout=300)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 0 and "2 done, 0 skipped, 0 failed" in out, err
    assert all(r["status"] == "ok" for r in store.records())
    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "done 2   running 0   pending 0   failed 0   missing 0" in out, out
