"""`bench run --executor slurm` against a real SLURM cluster (`.ci/slurm-up` starts a one-node
one): a sweep through sbatch, a killed task resubmitted, a task out of time requeued, and
mistakes that submit nothing. Skipped where no cluster answers."""

import csv
import io
import math
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.executors.slurm import scheduler
from bench.executors.slurm.state import Sweep
from bench.store import Store
from tests.conftest import run_cli


def cluster_problem() -> str | None:
    if shutil.which("sinfo") is None:
        return "needs a SLURM cluster: sinfo not found (.ci/slurm-up installs and starts a one-node one)"
    answer = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=60)
    if answer.returncode or not answer.stdout.strip():
        return f"needs a SLURM cluster: sinfo does not answer ({answer.stderr.strip()}); .ci/slurm-up starts one"
    return None


pytestmark = pytest.mark.skipif(cluster_problem() is not None, reason=str(cluster_problem()))

WAIT_S = 600  # generous: the CI machine's two cores may be busy


def wait_until(predicate, what: str, timeout: float = WAIT_S, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def queued(sweep: Sweep) -> dict:
    """The sweep's tasks the controller still runs or holds."""
    return {task: state for task, (state, _) in (scheduler.queue(sweep.job_name) or {}).items() if state in scheduler.ALIVE}


def all_jobs() -> set[str]:
    return set(subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i"], capture_output=True, text=True).stdout.split())


@pytest.fixture
def slurm_results(results):
    """A results root whose sweeps are cancelled when the test ends, passed or not."""
    yield results
    for sweep in Sweep.all(results) if results.exists() else []:
        if sweep.array_ids():
            subprocess.run(["scancel", *sweep.array_ids()], capture_output=True)


def submit(results: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("run", "--executor", "slurm", "--allow-dirty", "--quiet", "--results", str(results), *args)


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
        assert float(row["mean"]) == pytest.approx(sum(aurocs) / len(aurocs), abs=1e-9)

    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert status == 0 and "done 24   running 0   pending 0   failed 0   missing 0" in out


def test_a_killed_task_keeps_its_records_and_resubmitting_runs_exactly_the_missing_cells(slurm_results):
    cells = ("--methods", "deep-svdd", "--datasets", "digits", "--classes", "0,1,2,3,4,5,6,7", "--no-cache")
    status, out, err = submit(slurm_results, *cells, "--cells-per-job", "8")
    assert status == 0 and "bench status" in out, err
    (sweep,) = Sweep.all(slurm_results)
    (task,) = sweep.submissions[0].tasks
    store = Store(slurm_results)
    wait_until(lambda: len(list(store.records())) >= 2, "two records of the running task")
    subprocess.run(["scancel", "--signal=KILL", task.id], check=True)  # SIGKILL: no grace, no cleanup
    wait_until(lambda: not queued(sweep), "the killed task to leave the queue")

    first = {r["cell"]["key"]: r for r in store.records()}
    assert 2 <= len(first) < 8 and all(r["status"] == "ok" for r in first.values())
    missing = sorted(set(task.cells) - set(first))
    status, out, _ = run_cli("status", sweep.id, "--results", str(slurm_results))
    assert f"done {len(first)} " in out and f"missing {len(missing)}" in out
    assert all(key in out for key in missing) and "last lines of" in out and "bench run --executor slurm" in out

    status, out, err = submit(slurm_results, *cells, "--cells-per-job", "8", "--wait")
    assert status == 0, err
    assert f"{len(missing)} done, {len(first)} skipped, 0 failed" in out
    sweep = Sweep.load(slurm_results, sweep.id)
    assert len(sweep.submissions) == 2 and sorted(sweep.submissions[1].tasks[0].cells) == missing
    second_job = sweep.submissions[1].arrays[0]
    after = {r["cell"]["key"]: r for r in store.records()}
    assert all(after[key] == record for key, record in first.items())  # untouched
    assert all(after[key]["provenance"]["slurm_job_id"] == second_job and after[key]["status"] == "ok" for key in missing)


def test_a_task_out_of_time_is_requeued_and_runs_only_its_unfinished_cells(slurm_results):
    # 36 Deep SVDD cells of about 3.5 s in one task with a 2-minute limit: SIGUSR2 comes 40 s
    # before the limit (up to 30 s earlier), so the first run cannot finish them all.
    cells = ("--methods", "deep-svdd", "--datasets", "digits", "--classes", "0,1,2,3,4,5,6,7,8",
             "--seeds", "0,1,2,3", "--no-cache")
    status, out, err = submit(slurm_results, *cells, "--cells-per-job", "36", "--time", "2", "--requeues", "4", "--wait")
    assert status == 0, err
    assert "36 done, 0 skipped, 0 failed" in out
    (sweep,) = Sweep.all(slurm_results)
    (task,) = sweep.submissions[0].tasks
    records = {r["cell"]["key"]: r for r in Store(slurm_results).records()}
    restarts = Counter(r["provenance"]["slurm_restart_count"] for r in records.values())
    assert restarts[0] >= 1 and sum(n for count, n in restarts.items() if count >= 1) >= 1, restarts

    log = Path(task.log).read_text()
    assert "Requeued job" in log
    finished = Counter(re.findall(r"\] (\S+): ok in", log))
    assert set(finished) == set(task.cells) and set(finished.values()) == {1}  # no cell ran twice
    # each run started with exactly the cells earlier runs had finished
    starts = [int(n) for n in re.findall(r"task of 36 cells: (\d+) already done", log)]
    assert starts == [sum(n for count, n in restarts.items() if count < run) for run in range(len(starts))]
    assert len(starts) == max(restarts) + 1


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
